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
        /// A call an A2A target makes to its agent.
        case agent(A2AAgentTransport.Purpose)
        /// A call an OpenAPI target makes to its API (or for its document).
        case openapi(OpenAPITransport.Purpose)
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
