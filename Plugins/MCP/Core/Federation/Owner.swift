/// The client a piece of gateway state belongs to: a relayed server→client request, a
/// `requestState` the gateway issued, an upstream session or a per-client process.
///
/// Two exchanges have the same owner when they carry the same gateway session (handshake era)
/// and the same authenticated caller. Stateless clients have no session; what the gateway names
/// for them is bound to the caller (when a filter authenticated one) and made unguessable by
/// ``OwnedTokens``.
public struct Owner: Hashable, Sendable, CustomStringConvertible {
    /// The gateway's `Mcp-Session-Id`, for handshake-era clients with sessions.
    public var sessionID: String?
    /// The authenticated caller (`IdentityKeys.caller(method:subject:)`: `<method>:<subject>`),
    /// or nil for an anonymous client.
    public var caller: String?

    public init(sessionID: String?, caller: String?) {
        self.sessionID = sessionID
        self.caller = caller
    }

    /// Whether two exchanges of this owner can be told apart from other clients': true with a
    /// session or an authenticated caller. Anonymous stateless clients are all alike, so nothing
    /// may be addressed to them by a name another client could send (a request id, say).
    public var isIdentifiable: Bool { sessionID != nil || caller != nil }

    public var description: String {
        switch (sessionID, caller) {
        case let (session?, caller?): return "session \(session.prefix(8))… of \(caller)"
        case let (session?, nil): return "session \(session.prefix(8))…"
        case let (nil, caller?): return caller
        case (nil, nil): return "an anonymous stateless client"
        }
    }
}
