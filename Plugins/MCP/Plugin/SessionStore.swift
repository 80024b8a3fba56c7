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
        sessions.withLock { sessions in
            if sessions.count >= capacity {
                for (key, session) in sessions where now.timeIntervalSince(session.lastSeen) >= ttl { sessions[key] = nil }
                if sessions.count >= capacity, let oldest = sessions.min(by: { $0.value.lastSeen < $1.value.lastSeen })?.key {
                    sessions[oldest] = nil
                }
            }
            sessions[id] = Session(protocolVersion: protocolVersion, lastSeen: now)
        }
        return id
    }

    /// Whether the session exists and has not expired; refreshes it.
    func touch(_ id: String) -> Bool {
        let now = Date()
        return sessions.withLock { sessions in
            guard let session = sessions[id] else { return false }
            guard now.timeIntervalSince(session.lastSeen) < ttl else {
                sessions[id] = nil
                return false
            }
            sessions[id]?.lastSeen = now
            return true
        }
    }

    @discardableResult
    func remove(_ id: String) -> Bool { sessions.withLock { $0.removeValue(forKey: id) != nil } }

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
        return sessions.withLock { sessions in
            let expired = sessions.filter { now.timeIntervalSince($0.value.lastSeen) >= ttl }.map(\.key)
            expired.forEach { sessions[$0] = nil }
            return expired.count
        }
    }

    var count: Int { sessions.withLock { $0.count } }
}
