import JSON

/// A client's request routed to one target, as the handler hands it over.
public struct RoutedCall: Sendable {
    public var exchange: ExchangeID
    public var owner: Owner
    public var style: ServerRequestStyle
    /// The client's id, as raw JSON.
    public var clientID: String
    public var method: String
    /// The target's configured name.
    public var target: String
    public var params: JSONValue?
    public var rewrite: ParamsRewrite
    /// Closing the client's stream cancels it (2026-07-28, and clients without a session).
    public var cancelsWhenAbandoned: Bool
    /// The client's headers the target is configured to receive (`forward_headers`).
    public var forwardedHeaders: [(String, String)]

    public init(exchange: ExchangeID, owner: Owner, style: ServerRequestStyle, clientID: String, method: String, target: String,
                params: JSONValue?, rewrite: ParamsRewrite, cancelsWhenAbandoned: Bool, forwardedHeaders: [(String, String)] = []) {
        self.exchange = exchange
        self.owner = owner
        self.style = style
        self.clientID = clientID
        self.method = method
        self.target = target
        self.params = params
        self.rewrite = rewrite
        self.cancelsWhenAbandoned = cancelsWhenAbandoned
        self.forwardedHeaders = forwardedHeaders
    }
}


/// How a server→client request (elicitation, sampling, roots) reaches a client: relayed on its
/// response stream (handshake era), or as an `InputRequiredResult` its retry answers (2026-07-28,
/// SEP-2322).
public enum ServerRequestStyle: Sendable, Equatable {
    case relay
    case inputRequired
}
