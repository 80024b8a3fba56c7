/// The sessions the gateway issues to handshake-era clients (`Mcp-Session-Id`): who owns each,
/// when it was last used, and its open GET streams. A value; the federation keeps it.
struct Sessions: Sendable {
    struct Session: Sendable {
        var protocolVersion: String
        var lastSeen: Double
        /// The authenticated caller that initialized it: only that caller may use it.
        var caller: String?
        /// Open GET streams, oldest first; messages that belong to no request go to the newest
        /// (MCP: each message on one stream only).
        var listeners: [ExchangeID] = []
    }

    /// GET streams one session may hold open; a further one closes the oldest.
    static let maxListeners = 4

    let ttl: Double
    let capacity: Int
    private var table: [String: Session] = [:]

    init(ttl: Double, capacity: Int) {
        self.ttl = ttl
        self.capacity = capacity
    }

    /// A new session with an unguessable id (128 random bits), bound to `caller`. At capacity,
    /// expired sessions go first, then the least recently used one; returns those that went.
    mutating func create(protocolVersion: String, caller: String?, now: Double,
                         using random: inout some RandomNumberGenerator) -> (id: String, ended: [(String, Session)]) {
        var id: String
        repeat {
            id = Self.hex(random.next()) + Self.hex(random.next())
        } while table[id] != nil
        var ended: [(String, Session)] = []
        if table.count >= capacity {
            ended = table.filter { now - $0.value.lastSeen >= ttl }.map { ($0.key, $0.value) }
            ended.forEach { table[$0.0] = nil }
            if table.count >= capacity, let oldest = table.min(by: { $0.value.lastSeen < $1.value.lastSeen }) {
                table[oldest.key] = nil
                ended.append((oldest.key, oldest.value))
            }
        }
        table[id] = Session(protocolVersion: protocolVersion, lastSeen: now, caller: caller)
        return (id, ended)
    }

    enum Touch: Sendable {
        case alive
        /// Unknown, or another caller's (not disturbed).
        case unknown
        /// It had expired: it is gone now.
        case expired(Session)
    }

    /// Refreshes the session if it exists, has not expired and belongs to `caller`.
    mutating func touch(_ id: String, caller: String?, now: Double) -> Touch {
        guard let session = table[id], session.caller == caller else { return .unknown }
        guard now - session.lastSeen < ttl else {
            table[id] = nil
            return .expired(session)
        }
        table[id]?.lastSeen = now
        return .alive
    }

    func exists(_ id: String) -> Bool { table[id] != nil }

    /// The caller a session is bound to.
    func caller(of id: String) -> String? { table[id]?.caller }

    /// Ends the session if it exists and belongs to `caller`.
    mutating func remove(_ id: String, caller: String?) -> Session? {
        guard table[id]?.caller == caller else { return nil }
        return table.removeValue(forKey: id)
    }

    /// Adds a GET stream. Returns false when the session is gone; `displaced` is the stream it
    /// pushed out (to be closed), if any.
    mutating func addListener(_ exchange: ExchangeID, to id: String, displaced: inout ExchangeID?) -> Bool {
        guard table[id] != nil else { return false }
        table[id]?.listeners.append(exchange)
        if let count = table[id]?.listeners.count, count > Self.maxListeners { displaced = table[id]?.listeners.removeFirst() }
        return true
    }

    mutating func removeListener(_ exchange: ExchangeID, from id: String) {
        table[id]?.listeners.removeAll { $0 == exchange }
    }

    /// The session's newest GET stream.
    func listener(of id: String) -> ExchangeID? { table[id]?.listeners.last }

    /// The newest GET stream of every session.
    func listeners() -> [ExchangeID] { table.values.compactMap(\.listeners.last) }

    /// Every open GET stream.
    func allListeners() -> [ExchangeID] { table.values.flatMap(\.listeners) }

    /// Drops expired sessions; returns them.
    mutating func sweep(now: Double) -> [(String, Session)] {
        let expired = table.filter { now - $0.value.lastSeen >= ttl }
        expired.keys.forEach { table[$0] = nil }
        return expired.map { ($0.key, $0.value) }
    }

    var count: Int { table.count }

    private static func hex(_ value: UInt64) -> String {
        let digits = String(value, radix: 16)
        return String(repeating: "0", count: 16 - digits.count) + digits
    }
}
