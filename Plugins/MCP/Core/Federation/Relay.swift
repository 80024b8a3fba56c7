/// A server→client request the gateway passed on to one client, under a token of its own.
struct Relay: Sendable {
    let connection: ConnectionID
    /// The server's id for it (raw JSON).
    let upstreamID: String
    /// Where the client received it (a call's exchange, or a session's GET stream).
    let exchange: ExchangeID
}


/// A handshake-era client answering the input requests of a 2026-07-28 target; when all are
/// answered the gateway retries the call upstream with `inputResponses` and `requestState`.
struct InputBridge: Sendable {
    let call: ClientCall
    let requestState: [UInt8]?
    var responses: [(String, [UInt8])] = []
    var waiting = Set<String>()
}
