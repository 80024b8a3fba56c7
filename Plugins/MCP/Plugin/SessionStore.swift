import Foundation
import MCPCore

/// Sessions the gateway issues to handshake-era clients (`Mcp-Session-Id`). Shared by the streams
/// of every event loop, so it locks. Expired sessions are dropped when looked up and swept
/// periodically; whoever set ``onRemoved`` hears of every session that ends, with its GET streams.
final class SessionStore: @unchecked Sendable {
    struct Session {
        var protocolVersion: String
        var lastSeen: Date
        /// The authenticated caller that initialized it: only that caller may use it.
        var caller: String?
        /// The client's open GET streams, oldest first; list changes and notifications that belong
        /// to no request go to the newest (MCP: each message on one stream only).
        var listeners: [Mailbox] = []
    }

    /// GET streams one session may hold open; a further one closes the oldest.
    static let maxListeners = 4

    private let sessions = Locked<[String: Session]>([:])
    /// Told (outside the lock) about every session that ends — deleted, expired or evicted — with
    /// the GET streams it still had open.
    var onRemoved: (@Sendable (String, [Mailbox]) -> Void)?
    let ttl: TimeInterval
    let capacity: Int

    init(ttlSeconds: Int, capacity: Int) {
        ttl = TimeInterval(ttlSeconds)
        self.capacity = capacity
    }

    /// A new session with an unguessable id (128 random bits), bound to `caller`. At capacity,
    /// expired sessions go first, then the least recently used one.
    func create(protocolVersion: String, caller: String?) -> String {
        var generator = SystemRandomNumberGenerator()
        let id = (0..<2).map { _ in String(format: "%016llx", generator.next() as UInt64) }.joined()
        let now = Date()
        let dropped = sessions.withLock { sessions -> [(String, Session)] in
            var dropped: [(String, Session)] = []
            if sessions.count >= capacity {
                dropped = sessions.filter { now.timeIntervalSince($0.value.lastSeen) >= ttl }.map { ($0.key, $0.value) }
                dropped.forEach { sessions[$0.0] = nil }
                if sessions.count >= capacity, let oldest = sessions.min(by: { $0.value.lastSeen < $1.value.lastSeen }) {
                    sessions[oldest.key] = nil
                    dropped.append((oldest.key, oldest.value))
                }
            }
            sessions[id] = Session(protocolVersion: protocolVersion, lastSeen: now, caller: caller)
            return dropped
        }
        dropped.forEach { onRemoved?($0.0, $0.1.listeners) }
        return id
    }

    /// Whether the session exists, has not expired and belongs to `caller`; refreshes it. A
    /// session of another caller is not found (and not disturbed).
    func touch(_ id: String, caller: String?) -> Bool {
        let now = Date()
        let (alive, expired) = sessions.withLock { sessions -> (Bool, Session?) in
            guard let session = sessions[id], session.caller == caller else { return (false, nil) }
            guard now.timeIntervalSince(session.lastSeen) < ttl else {
                sessions[id] = nil
                return (false, session)
            }
            sessions[id]?.lastSeen = now
            return (true, nil)
        }
        if let expired { onRemoved?(id, expired.listeners) }
        return alive
    }

    func exists(_ id: String) -> Bool { sessions.withLock { $0[id] != nil } }

    /// The caller a session is bound to (nil: anonymous, or no such session).
    func caller(of id: String) -> String? { sessions.withLock { $0[id]?.caller } }

    /// Ends the session if it exists and belongs to `caller`.
    @discardableResult
    func remove(_ id: String, caller: String?) -> Bool {
        let removed = sessions.withLock { sessions -> Session? in
            guard sessions[id]?.caller == caller else { return nil }
            return sessions.removeValue(forKey: id)
        }
        if let removed { onRemoved?(id, removed.listeners) }
        return removed != nil
    }

    /// Adds a GET stream to the session; returns the one it displaced (to be closed), if any.
    /// False in `added` when the session is gone meanwhile.
    func addListener(_ mailbox: Mailbox, for id: String) -> (added: Bool, displaced: Mailbox?) {
        sessions.withLock { sessions in
            guard sessions[id] != nil else { return (false, nil) }
            sessions[id]?.listeners.append(mailbox)
            guard let count = sessions[id]?.listeners.count, count > Self.maxListeners else { return (true, nil) }
            return (true, sessions[id]?.listeners.removeFirst())
        }
    }

    /// Forgets a GET stream that ended.
    func removeListener(_ mailbox: Mailbox, for id: String) {
        sessions.withLock { sessions in sessions[id]?.listeners.removeAll { $0 === mailbox } }
    }

    /// The session's newest GET stream, where a message that belongs to no request goes.
    func listener(of id: String) -> Mailbox? { sessions.withLock { $0[id]?.listeners.last } }

    /// The newest GET stream of every session, for fanning notifications in.
    func listeners() -> [Mailbox] { sessions.withLock { $0.values.compactMap(\.listeners.last) } }

    /// Every open GET stream (for heartbeats).
    func allListeners() -> [Mailbox] { sessions.withLock { $0.values.flatMap(\.listeners) } }

    /// Drops expired sessions; returns how many.
    @discardableResult
    func sweep() -> Int {
        let now = Date()
        let expired = sessions.withLock { sessions in
            let expired = sessions.filter { now.timeIntervalSince($0.value.lastSeen) >= ttl }
            expired.keys.forEach { sessions[$0] = nil }
            return expired
        }
        expired.forEach { onRemoved?($0.key, $0.value.listeners) }
        return expired.count
    }

    var count: Int { sessions.withLock { $0.count } }
}
