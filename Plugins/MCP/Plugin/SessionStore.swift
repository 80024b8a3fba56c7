import Foundation

/// Sessions the gateway issues to handshake-era clients (`Mcp-Session-Id`). Shared by the streams
/// of every event loop, so it locks. Expired sessions are dropped when looked up and swept
/// periodically.
final class SessionStore: @unchecked Sendable {
    struct Session {
        var protocolVersion: String
        var lastSeen: Date
        /// The client's open GET stream, where list changes and unrelated notifications go.
        var listener: Mailbox?
    }

    private let sessions = Locked<[String: Session]>([:])
    /// Told (outside the lock) about every session that ends: deleted, expired or evicted.
    var onRemoved: (@Sendable (String) -> Void)?
    let ttl: TimeInterval
    let capacity: Int

    init(ttlSeconds: Int, capacity: Int) {
        ttl = TimeInterval(ttlSeconds)
        self.capacity = capacity
    }

    /// A new session with an unguessable id (128 random bits). At capacity, expired sessions go
    /// first, then the least recently used one.
    func create(protocolVersion: String) -> String {
        var generator = SystemRandomNumberGenerator()
        let id = (0..<2).map { _ in String(format: "%016llx", generator.next() as UInt64) }.joined()
        let now = Date()
        let dropped = sessions.withLock { sessions -> [String] in
            var dropped: [String] = []
            if sessions.count >= capacity {
                dropped = sessions.filter { now.timeIntervalSince($0.value.lastSeen) >= ttl }.map(\.key)
                dropped.forEach { sessions[$0] = nil }
                if sessions.count >= capacity, let oldest = sessions.min(by: { $0.value.lastSeen < $1.value.lastSeen })?.key {
                    sessions[oldest] = nil
                    dropped.append(oldest)
                }
            }
            sessions[id] = Session(protocolVersion: protocolVersion, lastSeen: now)
            return dropped
        }
        dropped.forEach { onRemoved?($0) }
        return id
    }

    /// Whether the session exists and has not expired; refreshes it.
    func touch(_ id: String) -> Bool {
        let now = Date()
        let (alive, expired) = sessions.withLock { sessions -> (Bool, Bool) in
            guard let session = sessions[id] else { return (false, false) }
            guard now.timeIntervalSince(session.lastSeen) < ttl else {
                sessions[id] = nil
                return (false, true)
            }
            sessions[id]?.lastSeen = now
            return (true, false)
        }
        if expired { onRemoved?(id) }
        return alive
    }

    func exists(_ id: String) -> Bool { sessions.withLock { $0[id] != nil } }

    @discardableResult
    func remove(_ id: String) -> Bool {
        let removed = sessions.withLock { $0.removeValue(forKey: id) != nil }
        if removed { onRemoved?(id) }
        return removed
    }

    func setListener(_ mailbox: Mailbox, for id: String) { sessions.withLock { $0[id]?.listener = mailbox } }

    /// Forgets the GET stream if it is still this one.
    func removeListener(_ mailbox: Mailbox, for id: String) {
        sessions.withLock { sessions in
            if sessions[id]?.listener === mailbox { sessions[id]?.listener = nil }
        }
    }

    /// The open GET streams, for fanning notifications in.
    func listeners() -> [Mailbox] { sessions.withLock { $0.values.compactMap(\.listener) } }

    /// Drops expired sessions; returns how many.
    @discardableResult
    func sweep() -> Int {
        let now = Date()
        let expired = sessions.withLock { sessions in
            let expired = sessions.filter { now.timeIntervalSince($0.value.lastSeen) >= ttl }.map(\.key)
            expired.forEach { sessions[$0] = nil }
            return expired
        }
        expired.forEach { onRemoved?($0) }
        return expired.count
    }

    var count: Int { sessions.withLock { $0.count } }
}
