import PolicyKit

/// Which caller created each task and context the gateway saw, so that one caller cannot read,
/// cancel, subscribe to, continue or reconfigure another's task through a shared agent (spec
/// §13.1 asks agents for this; the gateway enforces it in front of any agent).
///
/// A task is recorded when an answer names it (a `Task`, a status or artifact event), with the
/// caller of that request as its owner — the authenticated subject, or nil for anonymous
/// callers, who all share one owner. A request that names a task is allowed only for its owner;
/// a task the gateway never saw, or forgot, is refused as well (fail closed). A context is
/// bound to the first caller that used or received it. Bounded: at most `capacity` entries,
/// least recently used first out, and an entry not touched for `ttl` seconds is forgotten.
/// Keys include the agent, so two agents' task ids never collide.
public struct TaskRegistry: Sendable {
    public enum Access: Sendable, Equatable {
        case allowed
        /// Never seen, expired or evicted.
        case unknown
        /// Another caller's.
        case foreign
    }

    private struct Entry: Sendable {
        var owner: String?
        var lastSeen: Double
    }

    private var entries: LRUCache<String, Entry>
    public let ttl: Double

    public init(capacity: Int, ttl: Double) {
        entries = LRUCache(capacity: capacity)
        self.ttl = ttl
    }

    public var count: Int { entries.count }

    /// An answer of `agent` to `owner` named this task (and maybe its context).
    public mutating func record(task: String, context: String?, agent: String, owner: String?, now: Double) {
        bind("t", task, agent: agent, owner: owner, now: now)
        if let context { bind("c", context, agent: agent, owner: owner, now: now) }
    }

    /// An answer named a context only (a direct `Message`).
    public mutating func record(context: String, agent: String, owner: String?, now: Double) {
        bind("c", context, agent: agent, owner: owner, now: now)
    }

    /// Whether `caller` may name this task.
    public mutating func access(task: String, agent: String, caller: String?, now: Double) -> Access {
        lookup("t", task, agent: agent, caller: caller, now: now)
    }

    /// Whether `caller` may name this context; a context the gateway has not seen yet is bound
    /// to `caller` now (clients may choose their own context ids).
    public mutating func claim(context: String, agent: String, caller: String?, now: Double) -> Access {
        switch lookup("c", context, agent: agent, caller: caller, now: now) {
        case .unknown:
            bind("c", context, agent: agent, owner: caller, now: now)
            return .allowed
        case let access:
            return access
        }
    }

    private mutating func bind(_ kind: String, _ id: String, agent: String, owner: String?, now: Double) {
        let key = Self.key(kind, id, agent: agent)
        if var existing = entries.value(forKey: key), now - existing.lastSeen <= ttl {
            existing.lastSeen = now // the first owner stays
            _ = entries.set(existing, forKey: key)
            return
        }
        _ = entries.set(Entry(owner: owner, lastSeen: now), forKey: key)
    }

    private mutating func lookup(_ kind: String, _ id: String, agent: String, caller: String?, now: Double) -> Access {
        let key = Self.key(kind, id, agent: agent)
        guard var entry = entries.value(forKey: key) else { return .unknown }
        guard now - entry.lastSeen <= ttl else {
            entries.removeValue(forKey: key)
            return .unknown
        }
        guard entry.owner == caller else { return .foreign }
        entry.lastSeen = now
        _ = entries.set(entry, forKey: key)
        return .allowed
    }

    private static func key(_ kind: String, _ id: String, agent: String) -> String { kind + "\u{0}" + agent + "\u{0}" + id }
}
