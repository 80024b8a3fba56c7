import JSON

/// A client call routed to a target, while it is in flight (its retries included).
final class ClientCall: @unchecked Sendable {
    /// Replaced when a 2026-07-28 client retries after an `InputRequiredResult`.
    var exchange: ExchangeID
    let owner: Owner
    let style: ServerRequestStyle
    /// The client's id, as raw JSON.
    var clientID: String
    let method: String
    let targetIndex: Int
    let params: JSONValue?
    var rewrite: ParamsRewrite
    let cancelsWhenAbandoned: Bool
    let forwardedHeaders: [(String, String)]
    /// Sent from the client's stream: its HTTP call ends with the stream.
    var viaStream = false
    /// The connection it was sent on, and its id there.
    var connection: TargetConnection?
    var upstreamID: Int?
    /// Server→client requests waiting for the client's next retry (2026-07-28 clients).
    var queuedInputRequests: [(key: String, request: [UInt8])] = []
    /// Whether an `InputRequiredResult` was sent and the retry has not come yet.
    var awaitingRetry = false
    /// Answered, cancelled or abandoned: nothing more is sent for it.
    var isFinished = false

    init(_ routed: consuming RoutedCall, targetIndex: Int) {
        exchange = routed.exchange
        owner = routed.owner
        style = routed.style
        clientID = routed.clientID
        method = routed.method
        self.targetIndex = targetIndex
        params = routed.params
        rewrite = routed.rewrite
        cancelsWhenAbandoned = routed.cancelsWhenAbandoned
        forwardedHeaders = routed.forwardedHeaders
    }

    var clientProgressToken: String? { params.flatMap(ParamsRewrite.progressToken(in:)) }

    /// How its client names it, for `notifications/cancelled`; nil when it cannot be told apart.
    var key: ClientRequestKey? { owner.isIdentifiable ? ClientRequestKey(owner: owner, requestID: clientID) : nil }
}


/// How a client names one of its requests in flight.
struct ClientRequestKey: Hashable, Sendable {
    let owner: Owner
    let requestID: String
}
