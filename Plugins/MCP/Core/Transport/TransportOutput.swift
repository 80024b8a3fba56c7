import JSON

/// What a transport makes of the host's events for the federation.
enum TransportOutput: Sendable {
    /// One JSON-RPC message from the server; `relatedTo`: the request whose HTTP response carried it.
    case message([UInt8], relatedTo: Int?)
    /// A request could not be delivered or its answer could not be read.
    case requestFailed(Int, reason: String)
    /// The server answered a request with a JSON-RPC error outside a response the federation
    /// could match (an HTTP 4xx whose body is an error response, whatever its id).
    case rejected(Int, error: JSONValue)
    /// The HTTP response of a request ended: if it brought no answer, there will be none.
    case responseEnded(Int)
    /// The connection can carry messages now (the SSE transport's endpoint arrived).
    case connected
    /// The connection is gone.
    case failed(String)
    case log(String)
}
