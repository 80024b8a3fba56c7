import JSON
@testable import MCPCore
import XCTest

/// Reading a Streamable HTTP server's answers: JSON, SSE, JSON-RPC errors with any HTTP status,
/// an expired session; and the requests it builds.
final class StreamableHTTPTransportTests: XCTestCase {
    private func transport() -> StreamableHTTPTransport {
        let transport = StreamableHTTPTransport(url: "http://u/mcp", headers: ["authorization": "Bearer t"], timeoutMilliseconds: 5000)
        transport.protocolVersion = "2025-11-25"
        return transport
    }

    private func messages(_ outputs: [TransportOutput]) -> [String] {
        outputs.compactMap { if case .message(let bytes, _) = $0 { return String(decoding: bytes, as: UTF8.self) } else { return nil } }
    }

    func testAPostCarriesTheSessionTheVersionAndTheTargetsHeaders() {
        let transport = transport()
        let call = HTTPCallUse.message(1, requestID: 1, on: .http(transport))
        _ = transport.response(call, status: 200, contentType: "application/json", sessionID: "s-1")
        let post = transport.post(Array("{}".utf8), headers: [("mcp-method", "tools/call")])
        XCTAssertEqual(post.method, "POST")
        XCTAssertEqual(post.headers.map(\.name), ["content-type", "accept", "mcp-method", "mcp-session-id", "mcp-protocol-version", "authorization"])
        XCTAssertEqual(post.timeoutMilliseconds, 6000, "the federation's own deadline fires first")
    }

    func testAJSONAnswerInChunksIsOneMessageThenTheResponseEnds() {
        let transport = transport()
        let call = HTTPCallUse.message(1, requestID: 4, on: .http(transport))
        XCTAssertTrue(transport.response(call, status: 200, contentType: "application/json", sessionID: nil).isEmpty)
        XCTAssertTrue(transport.body(call, Array(#"{"jsonrpc":"2.0","#.utf8), end: false).isEmpty)
        let outputs = transport.body(call, Array(#""id":4,"result":{}}"#.utf8), end: true)
        XCTAssertEqual(messages(outputs), [#"{"jsonrpc":"2.0","id":4,"result":{}}"#])
        guard case .responseEnded(4) = outputs.last else { return XCTFail("\(outputs)") }
    }

    func testAnSSEAnswerYieldsEachMessageWithTheRequestThatCarriedIt() {
        let transport = transport()
        let call = HTTPCallUse.message(1, requestID: 7, on: .http(transport))
        _ = transport.response(call, status: 200, contentType: "text/event-stream; charset=utf-8", sessionID: nil)
        let outputs = transport.body(call, Array("event: message\ndata: {\"a\":1}\n\nid: x\ndata: {\"b\":2}\n\n".utf8), end: false)
        XCTAssertEqual(messages(outputs), [#"{"a":1}"#, #"{"b":2}"#])
        guard case .message(_, relatedTo: 7)? = outputs.first else { return XCTFail("\(outputs)") }
    }

    func testAJSONRPCErrorWithA4xxStatusPassesThroughAsTheRequestsError() {
        let transport = transport()
        let call = HTTPCallUse.message(1, requestID: 2, on: .http(transport))
        _ = transport.response(call, status: 400, contentType: "application/json", sessionID: nil)
        let outputs = transport.body(call, Array(#"{"jsonrpc":"2.0","id":null,"error":{"code":-32600,"message":"Bad"}}"#.utf8), end: true)
        guard case .rejected(2, let error)? = outputs.first else { return XCTFail("\(outputs)") }
        XCTAssertEqual(error.text, #"{"code":-32600,"message":"Bad"}"#)
    }

    func testAnHTTPErrorWithoutAJSONRPCBodyFailsTheRequestWithTheStatus() {
        let transport = transport()
        let call = HTTPCallUse.message(1, requestID: 2, on: .http(transport))
        _ = transport.response(call, status: 502, contentType: "text/plain", sessionID: nil)
        let outputs = transport.body(call, Array("bad gateway\nmore".utf8), end: true)
        guard case .requestFailed(2, let reason)? = outputs.first else { return XCTFail("\(outputs)") }
        XCTAssertEqual(reason, "HTTP 502: bad gateway")
    }

    func testA404ForAKnownSessionMeansTheSessionExpired() {
        let transport = transport()
        let first = HTTPCallUse.message(0, requestID: 1, on: .http(transport))
        _ = transport.response(first, status: 200, contentType: nil, sessionID: "s-1")
        let call = HTTPCallUse.message(1, requestID: 3, on: .http(transport))
        let outputs = transport.response(call, status: 404, contentType: "application/json", sessionID: nil)
        guard case .requestFailed(3, _)? = outputs.first, case .failed(let reason)? = outputs.last else { return XCTFail("\(outputs)") }
        XCTAssertEqual(reason, "the upstream session expired (HTTP 404)")
    }

    func testStoppingCancelsTheGETStreamAndDeletesTheSession() {
        let transport = transport()
        let first = HTTPCallUse.message(0, requestID: 1, on: .http(transport))
        _ = transport.response(first, status: 200, contentType: nil, sessionID: "s-9")
        _ = transport.listen(HTTPCallID(5))
        let (cancel, delete) = transport.stop()
        XCTAssertEqual(cancel, HTTPCallID(5))
        XCTAssertEqual(delete?.method, "DELETE")
        XCTAssertEqual(delete?.headers.first?.value, "s-9")
        XCTAssertNil(transport.sessionID)
    }
}
