@testable import MCPCore
import XCTest

final class LegacySSETransportTests: XCTestCase {
    func testTheEndpointIsResolvedAgainstTheStreamsURLAndMessagesFollow() {
        let transport = LegacySSETransport(url: "http://h:8/sse", headers: [:])
        let stream = HTTPCallUse.sseStream(1, on: transport)
        XCTAssertNil(transport.post([]), "no endpoint yet")
        XCTAssertTrue(transport.response(stream, status: 200).isEmpty)
        let outputs = transport.body(stream, Array("event: endpoint\ndata: /messages/?session_id=ab\n\nevent: message\ndata: {\"x\":1}\n\n".utf8), end: false)
        guard case .connected? = outputs.first, case .message(let bytes, nil)? = outputs.last else { return XCTFail("\(outputs)") }
        XCTAssertEqual(String(decoding: bytes, as: UTF8.self), #"{"x":1}"#)
        XCTAssertEqual(transport.endpoint, "http://h:8/messages/?session_id=ab")
        XCTAssertEqual(transport.post(Array("{}".utf8))?.url, "http://h:8/messages/?session_id=ab")
    }

    func testEndpointForms() {
        XCTAssertEqual(LegacySSETransport.resolve("https://other/x", against: "http://h/sse"), "https://other/x")
        XCTAssertEqual(LegacySSETransport.resolve("messages?s=1", against: "http://h/a/sse"), "http://h/a/messages?s=1")
        XCTAssertEqual(LegacySSETransport.resolve("/m", against: "http://h:1/a/b?q"), "http://h:1/m")
    }

    func testAClosedStreamOrAFailedPostSayWhat() {
        let transport = LegacySSETransport(url: "http://h/sse", headers: [:])
        let stream = HTTPCallUse.sseStream(1, on: transport)
        _ = transport.body(stream, Array("event: endpoint\ndata: /m\n\n".utf8), end: false)
        let post = HTTPCallUse.message(2, requestID: 9, on: .sse(transport))
        guard case .requestFailed(9, "POST answered HTTP 500")? = transport.response(post, status: 500).first else { return XCTFail() }
        guard case .failed("the SSE stream closed")? = transport.body(stream, [], end: true).last else { return XCTFail() }
    }
}
