import Synchronization

/// The filter and handler instances of every live generation, shared between generations that
/// configure them the same way.
///
/// A reload asks for each of its route's instances by `Key`; one that an older generation has
/// already (same route and position, same plugin image and filter type, same config table, same
/// config directory) is handed over instead of being created again, so an unchanged MCP route
/// keeps its sessions and stdio children and an unchanged rate limit keeps its buckets. Each
/// generation releases its instances once its last request is over; the last release of an
/// instance is the caller's cue to destroy it (`config_destroy`).
final class InstancePool: Sendable {
    /// What makes two configured instances the same one.
    struct Key: Hashable, Sendable {
        /// `route/plugin#index` (or `route/plugin` for a handler).
        var instanceName: String
        /// The filter type's descriptor address: a plugin image loaded anew is a new type.
        var typeAddress: UInt
        var configJSON: String
        var configDirectory: String
    }

    private struct Entry {
        let instance: FilterInstance
        var users: Int
    }

    private let entries = Mutex<[Key: Entry]>([:])
    private let keys = Mutex<[ObjectIdentifier: Key]>([:])

    init() {}

    /// The pooled instance for `key` with one more user, or a new one from `create` (which runs
    /// outside the lock: it calls the plugin's `config_new`). Callers are serialized (one reload
    /// at a time), so two never create the same key.
    func acquire(_ key: Key, create: () throws -> FilterInstance) rethrows -> (instance: FilterInstance, reused: Bool) {
        let found: FilterInstance? = entries.withLock { entries in
            guard var entry = entries[key] else { return nil }
            entry.users += 1
            entries[key] = entry
            return entry.instance
        }
        if let found { return (found, true) }
        let instance = try create()
        entries.withLock { $0[key] = Entry(instance: instance, users: 1) }
        keys.withLock { $0[ObjectIdentifier(instance)] = key }
        return (instance, false)
    }

    /// One user fewer; true when that was the last, and the caller must destroy the instance.
    /// An instance the pool does not know (built outside it) is the caller's alone: true.
    func release(_ instance: FilterInstance) -> Bool {
        guard let key = keys.withLock({ $0[ObjectIdentifier(instance)] }) else { return true }
        let last: Bool = entries.withLock { entries in
            guard var entry = entries[key] else { return true }
            entry.users -= 1
            if entry.users > 0 {
                entries[key] = entry
                return false
            }
            entries.removeValue(forKey: key)
            return true
        }
        if last { keys.withLock { _ = $0.removeValue(forKey: ObjectIdentifier(instance)) } }
        return last
    }

    /// Instances alive in the pool (for tests and the admin endpoint).
    var count: Int { entries.withLock { $0.count } }
}
