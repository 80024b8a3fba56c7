import JSON

/// One connection to a target: its transport, its era and capabilities once known, and what is
/// in flight on it. The shared one of a target is restarted when it fails; a client's own is not
/// (its next request opens a new one).
///
/// A reference, like the other parts of the federation's state that change on every request
/// (calls, HTTP calls): they are mutated in place, never copied out of a table and back.
final class TargetConnection: @unchecked Sendable {
    enum State: Sendable, Equatable {
        case starting
        case ready
        case down(String)
    }

    /// How the connection reaches its server.
    enum Transport: Sendable {
        /// A child process (``TargetConnection/processID`` while it runs).
        case stdio
        case http(StreamableHTTPTransport)
        case sse(LegacySSETransport)
    }

    /// What a request in flight on the connection is for.
    enum Purpose: Sendable {
        /// `server/discover`, to learn whether an HTTP target speaks 2026-07-28.
        case probe
        case handshake
        case call(ClientCall)
        case listPage(job: Int, targetIndex: Int)
        /// An answer nobody waits for (`logging/setLevel`).
        case ignore
    }

    struct Pending: Sendable {
        var purpose: Purpose
        var deadline: Double
    }

    /// What waits for the connection to be ready.
    enum Waiter: Sendable {
        case call(ClientCall)
        case listPage(job: Int, targetIndex: Int, cursor: String?)
    }

    let id: ConnectionID
    let targetIndex: Int
    /// The target's configured name.
    let name: String
    /// The client this connection belongs to; nil for the shared one.
    let owner: Owner?
    let transport: Transport
    var state = State.starting
    /// False until the first start succeeded or failed (`initialize` waits for that).
    var settled = false
    var capabilities: JSONValue?
    var instructions: String?
    var nextID = 1
    var pending: [Int: Pending] = [:]
    var waiting: [Waiter] = []
    var restartAttempts = 0
    /// Spoken to in the 2026-07-28 era (found by the `server/discover` probe).
    var modern = false
    /// The protocol version the handshake settled on (or the 2026-07-28 one).
    var protocolVersion: String?
    /// The child process of a stdio connection, while it runs.
    var processID: UInt64?
    /// Seconds one request may take.
    let timeout: Double
    /// When a request last went through it (a stateless client's own connection idles out).
    var lastUsed: Double

    init(id: ConnectionID, targetIndex: Int, name: String, owner: Owner?, transport: Transport, timeout: Double, lastUsed: Double) {
        self.id = id
        self.targetIndex = targetIndex
        self.name = name
        self.owner = owner
        self.transport = transport
        self.timeout = timeout
        self.lastUsed = lastUsed
    }

    var isReady: Bool { state == .ready }
    var downReason: String? { if case .down(let reason) = state { return reason } else { return nil } }

    /// Whether a client's request may go out from the client's own stream (each request is its
    /// own HTTP call), rather than from the home loop.
    var sendsFromAnyLoop: Bool { if case .http = transport { return true } else { return false } }

    /// Client calls waiting on it, oldest first, for the ownership rule.
    var callsInFlight: [ServerRequestOwnership.CallInFlight<Int>] {
        pending.sorted { $0.key < $1.key }.compactMap { entry in
            guard case .call(let call) = entry.value.purpose else { return nil }
            return ServerRequestOwnership.CallInFlight(id: entry.key, owner: call.owner)
        }
    }

    /// The client call a pending request serves.
    func call(at upstreamID: Int) -> ClientCall? {
        if case .call(let call)? = pending[upstreamID]?.purpose { return call }
        return nil
    }
}

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

    init(_ routed: RoutedCall, targetIndex: Int) {
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

/// One merged list being collected from every target.
struct ListJob: Sendable {
    let kind: ListKind
    /// Who gets it; nil: the gateway's own refresh of the name index.
    let exchange: ExchangeID?
    let owner: Owner
    var items: [[MergedList.Item]?]
    var partial: [Int: [MergedList.Item]] = [:]
    var failures: [(target: String, reason: String)] = []
    var pages = 0
    var isComplete: Bool { items.allSatisfy { $0 != nil } }
}

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

/// One of the federation's HTTP calls: what it is for, the connection it belongs to, and (for a
/// message) what the transport has read of its answer so far.
final class HTTPCallUse: @unchecked Sendable {
    enum Kind: Sendable, Equatable {
        /// A message (POST); `requestID`: the request it carries.
        case message(requestID: Int?)
        /// A Streamable HTTP target's GET stream.
        case listen
        /// A legacy SSE target's stream.
        case sseStream
        /// Ends an upstream session.
        case delete
    }
    let id: HTTPCallID
    let connection: TargetConnection
    let kind: Kind
    /// The client call it carries, if any.
    let call: ClientCall?
    var key: HostCallKey?
    /// A Streamable HTTP message's answer, read so far.
    var answer = StreamableHTTPTransport.Answer()

    init(id: HTTPCallID, connection: TargetConnection, kind: Kind, call: ClientCall?) {
        self.id = id
        self.connection = connection
        self.kind = kind
        self.call = call
    }

    var requestID: Int? { if case .message(let requestID) = kind { return requestID } else { return nil } }
}
