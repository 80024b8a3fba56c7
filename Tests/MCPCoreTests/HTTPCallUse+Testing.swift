@testable import MCPCore

extension HTTPCallUse {
    /// A message POST of a connection with this transport.
    static func message(_ id: Int, requestID: Int, on transport: TargetConnection.Transport) -> HTTPCallUse {
        let connection = TargetConnection(id: ConnectionID(0), targetIndex: 0, name: "t", owner: nil, transport: transport, timeout: 5, lastUsed: 0)
        return HTTPCallUse(id: HTTPCallID(id), connection: connection, kind: .message(requestID: requestID), call: nil)
    }

    /// A legacy SSE target's stream, opened.
    static func sseStream(_ id: Int, on transport: LegacySSETransport) -> HTTPCallUse {
        let connection = TargetConnection(id: ConnectionID(0), targetIndex: 0, name: "t", owner: nil, transport: .sse(transport), timeout: 5, lastUsed: 0)
        _ = transport.open(HTTPCallID(id))
        return HTTPCallUse(id: HTTPCallID(id), connection: connection, kind: .sseStream, call: nil)
    }
}
