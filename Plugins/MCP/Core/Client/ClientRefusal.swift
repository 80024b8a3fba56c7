/// A client request the MCP route refuses, with the HTTP status and JSON-RPC error to answer.
public struct ClientRefusal: Error, Sendable, Equatable {
    public var status: Int
    /// The request's id (raw JSON), nil when it could not be read.
    public var id: String?
    public var code: Int
    public var message: String
    /// Raw JSON of the error's `data`.
    public var data: String?
    public var headers: [HTTPHeaderPair] = []

    public init(status: Int, id: String?, code: Int, message: String, data: String? = nil, headers: [HTTPHeaderPair] = []) {
        self.status = status
        self.id = id
        self.code = code
        self.message = message
        self.data = data
        self.headers = headers
    }
}
