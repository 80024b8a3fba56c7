import JSON
import JSONRPC

/// The gateway's sessions for handshake-era clients: creation, use, GET streams, and the end of a
/// session, which lets go of everything it held.
extension Federation {
    /// `initialize` from a client with sessions: a new session bound to `caller`. At capacity the
    /// least recently used one ends.
    public mutating func createSession(protocolVersion: String, caller: String?, now: Double) -> (id: String, actions: [FederationAction]) {
        self.now = now
        let (id, ended) = sessions.create(protocolVersion: protocolVersion, caller: caller, now: now, using: &random)
        for (endedID, session) in ended { endSession(endedID, listeners: session.listeners) }
        emit(.sessionCount(sessions.count))
        return (id, take())
    }

    /// A request names a session: true when it exists, has not expired and is `caller`'s
    /// (refreshing it). An expired one ends now.
    public mutating func touchSession(_ id: String, caller: String?, now: Double) -> (alive: Bool, actions: [FederationAction]) {
        self.now = now
        switch sessions.touch(id, caller: caller, now: now) {
        case .alive: return (true, [])
        case .unknown: return (false, [])
        case .expired(let session):
            endSession(id, listeners: session.listeners)
            return (false, take())
        }
    }

    /// DELETE: ends `caller`'s session. False when there is no such session of that caller.
    public mutating func deleteSession(_ id: String, caller: String?, now: Double) -> (deleted: Bool, actions: [FederationAction]) {
        self.now = now
        guard let session = sessions.remove(id, caller: caller) else { return (false, []) }
        endSession(id, listeners: session.listeners)
        return (true, take())
    }

    /// GET: the session's stream for messages that belong to no request. False when the session
    /// is gone; a fifth stream of one session closes its oldest.
    public mutating func openListener(_ exchange: ExchangeID, session id: String) -> (opened: Bool, actions: [FederationAction]) {
        var displaced: ExchangeID?
        guard sessions.addListener(exchange, to: id, displaced: &displaced) else { return (false, []) }
        if let displaced { emit(.deliver(displaced, .endStream)) }
        return (true, take())
    }

    /// A session's GET stream ended (the client left, or the gateway ended it).
    public mutating func listenerClosed(_ exchange: ExchangeID, session id: String) {
        sessions.removeListener(exchange, from: id)
    }

    /// How many sessions exist now.
    public var sessionCount: Int { sessions.count }

    /// A session ended (DELETE, expiry, eviction): its GET streams end (and their connections
    /// close), its upstream sessions and processes stop, and what was relayed to it is answered
    /// upstream with an error.
    mutating func endSession(_ id: String, listeners: [ExchangeID]) {
        for listener in listeners { emit(.deliver(listener, .endStream)) }
        for (_, relay) in relayed.removeAll(where: { owner, _ in owner.sessionID == id }) {
            guard let connection = connections[relay.connection] else { continue }
            transmit(JSONText.errorResponse(id: relay.upstreamID, code: -32603, message: "The client session ended"), requestID: nil, on: connection)
        }
        _ = bridged.removeAll { owner, _ in owner.sessionID == id }
        for key in inFlight.keys where key.owner.sessionID == id { inFlight[key] = nil }
        for owner in own.keys where owner.sessionID == id { stopOwnConnections(of: owner, reason: "the client session ended") }
        emit(.sessionCount(sessions.count))
    }
}
