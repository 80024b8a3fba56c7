import JSON
@testable import MCPCore
import XCTest

/// What the route demands of a client's request in each era, and how it names its target.
final class ClientRequestRulesTests: XCTestCase {
    func testAPostMustAcceptJSONAndSSEAndCarryJSON() {
        XCTAssertEqual(checkPOST(accept: ["application/json"], contentType: "application/json", endOfStream: false)?.status, 406)
        XCTAssertEqual(checkPOST(accept: ["text/event-stream, APPLICATION/JSON"], contentType: "text/plain", endOfStream: false)?.status, 415)
        XCTAssertEqual(checkPOST(accept: ["text/event-stream", "application/json"], contentType: nil, endOfStream: false)?.status, 415,
                       "Accept may repeat; a POST without Content-Type is refused")
        XCTAssertEqual(checkPOST(accept: [], contentType: "application/json", endOfStream: false)?.status, 406)
        XCTAssertEqual(checkPOST(accept: ["*/*"], contentType: "application/json; charset=utf-8", endOfStream: true)?.code, -32700)
        XCTAssertNil(checkPOST(accept: ["*/*"], contentType: "Application/JSON", endOfStream: false))
        XCTAssertNil(checkPOST(accept: ["text/event-stream", "application/json"], contentType: "application/json", endOfStream: false))
        XCTAssertNil(checkPOST(accept: ["Application/JSON;q=0.9 ,\ttext/event-stream ; q=1"], contentType: "application/json", endOfStream: false),
                     "media ranges with parameters and whitespace")
        XCTAssertEqual(checkPOST(accept: ["application/json-seq, text/event-stream"], contentType: "application/json", endOfStream: false)?.status, 406,
                       "a range that only starts like JSON is not JSON")
    }

    private func checkPOST(accept values: [String], contentType: String?, endOfStream: Bool) -> ClientRefusal? {
        var accept = AcceptHeader()
        for value in values { Array(value.utf8).withUnsafeBytes { accept.add($0) } }
        guard let contentType else { return ClientRequestRules.checkPOST(accept: accept, contentType: nil, endOfStream: endOfStream) }
        return Array(contentType.utf8).withUnsafeBytes { ClientRequestRules.checkPOST(accept: accept, contentType: $0, endOfStream: endOfStream) }
    }

    func testTheEraComesFromMetaOrTheVersionHeader() {
        let modern = JSONValue(Array(#"{"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28"}}"#.utf8))
        XCTAssertEqual(ClientRequestRules.era(headerVersion: nil, params: modern), .modern)
        XCTAssertEqual(ClientRequestRules.era(headerVersion: "2025-06-18", params: nil), .handshake)
        XCTAssertEqual(ClientRequestRules.era(headerVersion: "2099-01-01", params: nil), .modern, "unknown versions are modern, and refused there")
        XCTAssertEqual(ClientRequestRules.era(headerVersion: nil, params: nil), .handshake)
    }

    func testModernHeadersMustRepeatTheBody() {
        let params = JSONValue(Array(#"{"name":"caf\#u{e9}","_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28"}}"#.utf8))
        var headers = ["mcp-protocol-version": "2026-07-28", "mcp-method": "tools/call", "mcp-name": "=?base64?Y2Fmw6k=?="]
        func check() -> ClientRefusal? {
            ClientRequestRules.checkModern(header: { headers[$0] }, clientID: "1", method: "tools/call", params: params, isRequestOrNotification: true)
        }
        XCTAssertNil(check(), "a non-ASCII name arrives base64-encoded")
        headers["mcp-name"] = "tea"
        XCTAssertEqual(check()?.code, -32020)
        headers["mcp-protocol-version"] = "1900-01-01"
        XCTAssertEqual(check()?.code, -32022)
        XCTAssertTrue(check()?.data?.contains(#""supported":["2026-07-28","2025-11-25""#) ?? false)
    }

    func testRoutedMethodsNameTheirTargets() {
        let completion = RoutedMethod(method: "completion/complete", params: JSONValue(Array(#"{"ref":{"type":"ref/prompt","name":"a_greet"}}"#.utf8)))
        XCTAssertEqual(completion?.clientName, "a_greet")
        XCTAssertEqual(completion?.targetKind, "prompt")
        XCTAssertEqual(RoutedMethod(method: "resources/read", params: JSONValue(Array(#"{"uri":"a+file:///x"}"#.utf8)))?.isURI, true)
        XCTAssertEqual(RoutedMethod(method: "tools/call", params: nil)?.unknownMessage, "Unknown tool: ")
        XCTAssertNil(RoutedMethod(method: "tools/list", params: nil))
    }

    /// A tool result's top-level `isError: true`, and nothing else, makes it a tool error.
    func testToolErrorsAreTheTopLevelIsErrorTrue() {
        func isError(_ text: String) -> Bool { ClientAnswer.isToolError(Array(text.utf8)[...]) }
        XCTAssertTrue(isError(#"{"content":[],"isError":true}"#))
        XCTAssertTrue(isError("{\"isError\" :\n true, \"content\":[]}"))
        XCTAssertTrue(isError(#"{"content":[{"type":"text","text":"\"isError\": false"}], "isError": true}"#))
        XCTAssertFalse(isError(#"{"content":[],"isError":false}"#))
        XCTAssertFalse(isError(#"{"content":[]}"#))
        XCTAssertFalse(isError(#"{"content":[{"type":"text","text":"isError: true"}]}"#), "the words in a text")
        XCTAssertFalse(isError(#"{"content":[{"type":"text","isError":true}],"isError":false}"#), "a nested member")
        XCTAssertFalse(isError(#"{"structuredContent":{"isError":true}}"#), "a nested member alone")
        XCTAssertFalse(isError(#"{"isError":"true"}"#), "a string, not the literal")
        XCTAssertFalse(isError(#"{"isError"#), "cut short")
        XCTAssertFalse(isError(""))
    }

    func testAnswersCarryWhatEachEraRequires() {
        let result = Array(#"{"contents":[]}"#.utf8)[...]
        XCTAssertEqual(String(decoding: ClientAnswer.result(result, era: .modern, method: "resources/read"), as: UTF8.self),
                       #"{"resultType":"complete","ttlMs":0,"cacheScope":"private","contents":[]}"#)
        XCTAssertEqual(ClientAnswer.result(result, era: .handshake, method: "resources/read"), result)
        let items = (1...5).map { MergedList.Item(target: "a", name: "t\($0)", json: Array("{\"name\":\"a_t\($0)\"}".utf8)) }
        let page = JSONValue(ClientAnswer.listPage(items, kind: .tools, offset: 2, pageSize: 2, era: .handshake))
        XCTAssertEqual(page["tools"]?.elements?.count, 2)
        XCTAssertEqual(page["nextCursor"]?.string.flatMap(ListCursor.decode), 4)
        XCTAssertEqual(ClientAnswer.handshakeVersion(requested: "2025-06-18"), "2025-06-18")
        XCTAssertEqual(ClientAnswer.handshakeVersion(requested: "2099-01-01"), "2025-11-25")
        XCTAssertEqual(String(decoding: ClientAnswer.sseEvent(Array("{}".utf8)), as: UTF8.self), "event: message\ndata: {}\n\n")
    }
}
