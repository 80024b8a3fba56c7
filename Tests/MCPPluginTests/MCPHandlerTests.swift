import Foundation
import JSON
@testable import MCPPlugin
import PluginKit
import PluginKitTesting
import XCTest

/// The `mcp` handler's glue in the fake host: HTTP in, the federation, a scripted stdio MCP
/// server as the target, HTTP out — every host crossing real, no socket, no process.
final class MCPHandlerTests: XCTestCase {
    static let accept = [("accept", "application/json, text/event-stream"), ("content-type", "application/json")]

    /// A stdio MCP server in a few lines: it answers the handshake, lists one tool and echoes calls;
    /// `ask` elicits first (and answers with what it was told).
    static func script(_ process: FakeProcess, _ bytes: [UInt8]) {
        for line in String(decoding: bytes, as: UTF8.self).split(separator: "\n") {
            let message = JSONValue(Array(line.utf8))
            let id = message["id"]?.text ?? "null"
            switch message["method"]?.string {
            case "initialize":
                process.stdout(#"{"jsonrpc":"2.0","id":\#(id),"result":{"protocolVersion":"2025-11-25","capabilities":{"tools":{}},"serverInfo":{"name":"fake"}}}"#)
            case "tools/list":
                process.stdout(#"{"jsonrpc":"2.0","id":\#(id),"result":{"tools":[{"name":"echo","inputSchema":{"type":"object"}}]}}"#)
            case "tools/call" where message["params"]?["name"]?.string == "ask":
                process.stdout(#"{"jsonrpc":"2.0","id":"q-\#(id)","method":"elicitation/create","params":{"message":"Name?"}}"#)
            case "tools/call":
                let text = message["params"]?["arguments"]?["text"]?.string ?? ""
                process.stdout(#"{"jsonrpc":"2.0","id":\#(id),"result":{"content":[{"type":"text","text":"\#(text)"}]}}"#)
            case nil where message["result"] != nil:
                // The answer to the elicitation: the call it belonged to ends with it.
                let call = (message["id"]?.string ?? "").replacingOccurrences(of: "q-", with: "")
                let name = message["result"]?["content"]?["name"]?.string ?? "?"
                process.stdout(#"{"jsonrpc":"2.0","id":\#(call),"result":{"content":[{"type":"text","text":"hi \#(name)"}]}}"#)
            default:
                break
            }
        }
    }

    private func handler(_ host: FakeHost, options: String = "") throws -> FakeFilter {
        host.onSpawn = { $0.onInput = Self.script }
        let filter = try host.configure(MCPHandler.self, config: #"{\#(options)"targets":[{"name":"t","type":"stdio","command":"fake-server"}]}"#)
        host.run() // the start event: the target's process and its handshake
        return filter
    }

    /// A POST through the handler; runs the host until the answer is in.
    private func post(_ host: FakeHost, _ filter: FakeFilter, _ body: String, headers: [(String, String)] = accept) -> FakeStream {
        let stream = host.stream(filter, method: "POST", path: "/mcp", headers: headers, body: Array(body.utf8))
        if stream.runRequestHeaders() == .continue { stream.runRequestBody() }
        host.run()
        return stream
    }

    private func initialize(_ host: FakeHost, _ filter: FakeFilter) throws -> String {
        let stream = post(host, filter, #"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}"#)
        return try XCTUnwrap(stream.response?.headers.first { $0.name == "mcp-session-id" }?.value)
    }

    func testInitializeIsAnsweredByTheGatewayWithASession() throws {
        let host = FakeHost()
        let filter = try handler(host)
        XCTAssertEqual(host.processes.first?.arguments, ["fake-server"])
        let stream = post(host, filter, #"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}"#)
        let result = JSONValue(stream.responseBody)["result"]
        XCTAssertEqual(result?["protocolVersion"]?.string, "2025-06-18")
        XCTAssertEqual(result?["serverInfo"]?["name"]?.string, "agentgateway")
        XCTAssertNotNil(result?["capabilities"]?["tools"])
        XCTAssertEqual(stream.response?.headers.first { $0.name == "mcp-session-id" }?.value.count, 32)
    }

    func testAToolCallReachesTheSessionsOwnProcessAndItsAnswerTheClient() throws {
        let host = FakeHost()
        let filter = try handler(host)
        let session = try initialize(host, filter)
        let stream = post(host, filter, #"{"jsonrpc":"2.0","id":"c1","method":"tools/call","params":{"name":"echo","arguments":{"text":"hello"}}}"#,
                          headers: Self.accept + [("mcp-session-id", session)])
        XCTAssertEqual(host.processes.count, 2, "the shared process and the session's own")
        XCTAssertEqual(stream.response?.status, 200)
        XCTAssertEqual(stream.responseText, #"{"jsonrpc":"2.0","id":"c1","result":{"content":[{"type":"text","text":"hello"}]}}"#)
        XCTAssertTrue(stream.responseEnded)
        stream.complete()
        XCTAssertEqual(stream.annotations["mcp.method.name"], "tools/call")
        XCTAssertEqual(stream.annotations["gen_ai.tool.name"], "echo")
        XCTAssertEqual(stream.annotations["mcp.session.id"], session)
        XCTAssertEqual(stream.annotations["jsonrpc.request.id"], "c1", "a string id's text, unquoted")
        XCTAssertEqual(stream.annotations["agw.mcp.outcome"], "ok")
        XCTAssertEqual(stream.annotationCalls, 1, "the annotations cross in one call")
    }

    func testAnElicitationIsRelayedOnTheCallsStreamAndItsAnswerGoesBack() throws {
        let host = FakeHost()
        let filter = try handler(host)
        let session = try initialize(host, filter)
        let call = post(host, filter, #"{"jsonrpc":"2.0","id":5,"method":"tools/call","params":{"name":"ask","arguments":{}}}"#,
                        headers: Self.accept + [("mcp-session-id", session)])
        XCTAssertEqual(call.response?.headers.first { $0.name == "content-type" }?.value, "text/event-stream")
        let event = call.responseText
        XCTAssertTrue(event.hasPrefix("event: message\ndata: "), event)
        let question = JSONValue(Array(event.dropFirst(21).utf8).filter { $0 != 0x0A })
        let id = try XCTUnwrap(question["id"]?.string)
        XCTAssertTrue(id.hasPrefix("agw-"))
        // Another session's answer to that id is refused; the owner's goes through.
        let other = try initialize(host, filter)
        let forged = post(host, filter, #"{"jsonrpc":"2.0","id":"\#(id)","result":{"action":"accept","content":{"name":"Mallory"}}}"#,
                          headers: Self.accept + [("mcp-session-id", other)])
        XCTAssertEqual(forged.localReply?.status, 400)
        let answer = post(host, filter, #"{"jsonrpc":"2.0","id":"\#(id)","result":{"action":"accept","content":{"name":"Ada"}}}"#,
                          headers: Self.accept + [("mcp-session-id", session)])
        XCTAssertEqual(answer.localReply?.status, 202)
        XCTAssertTrue(call.responseText.hasSuffix(#""result":{"content":[{"type":"text","text":"hi Ada"}]}}"# + "\n\n"), call.responseText)
        XCTAssertTrue(call.responseEnded)
    }

    func testTheTransportsRulesAreCheckedBeforeTheBody() throws {
        let host = FakeHost()
        let filter = try handler(host)
        let noAccept = host.stream(filter, method: "POST", path: "/mcp", headers: [("content-type", "application/json")], body: Array("{}".utf8))
        XCTAssertEqual(noAccept.runRequestHeaders(), .replied)
        XCTAssertEqual(noAccept.localReply?.status, 406)
        let put = host.stream(filter, method: "PUT", path: "/mcp")
        XCTAssertEqual(put.runRequestHeaders(), .replied)
        XCTAssertEqual(put.localReply?.status, 405)
    }

    func testBadRequestsGetTheirStatusAndJSONRPCError() throws {
        let host = FakeHost()
        let filter = try handler(host)
        let cases: [(String, [(String, String)], Int, Int)] = [
            (#"{"jsonrpc":"2.0","id":1,"method":"#, Self.accept, 400, -32700),
            (#"[{"jsonrpc":"2.0","id":1,"method":"ping"}]"#, Self.accept, 400, -32600),
            (#"{"jsonrpc":"2.0","id":1,"method":"ping"}"#, Self.accept, 400, -32600), // no session
            (#"{"jsonrpc":"2.0","id":1,"method":"ping"}"#, Self.accept + [("mcp-session-id", String(repeating: "0", count: 32))], 404, -32600),
        ]
        for (body, headers, status, code) in cases {
            let stream = post(host, filter, body, headers: headers)
            XCTAssertEqual(stream.localReply?.status, status, body)
            XCTAssertEqual(JSONValue(Array((stream.localReply?.body ?? "").utf8))["error"]?["code"]?.int, code, body)
        }
    }

    func testAListIsMergedAndPaged() throws {
        let host = FakeHost()
        let filter = try handler(host)
        let session = try initialize(host, filter)
        let stream = post(host, filter, #"{"jsonrpc":"2.0","id":2,"method":"tools/list"}"#, headers: Self.accept + [("mcp-session-id", session)])
        XCTAssertEqual(JSONValue(stream.responseBody)["result"]?["tools"]?.elements?.first?["name"]?.string, "echo")
    }

    /// Tool calls are counted under the tool's name once a list showed it, under `(unlisted)`
    /// before (a client inventing names makes no series), and the switch happens when the list
    /// arrives, even for a name already counted as unlisted.
    func testToolCallsAreCountedUnlistedUntilAListShowsTheTool() throws {
        let host = FakeHost()
        let filter = try handler(host)
        let session = try initialize(host, filter)
        let headers = Self.accept + [("mcp-session-id", session)]
        func call(_ name: String) {
            let stream = post(host, filter, #"{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"\#(name)","arguments":{"text":"x"}}}"#,
                              headers: headers)
            XCTAssertEqual(stream.response?.status, 200)
            stream.complete()
        }
        func count(_ tool: String) -> Double {
            host.metric("agw_mcp_tool_calls_total", ["route": "test", "target": "t", "tool": tool, "outcome": "ok"]) ?? 0
        }
        for name in ["echo", "echo", "made-up"] { call(name) }
        XCTAssertEqual(count("(unlisted)"), 3)
        XCTAssertEqual(count("echo"), 0)
        XCTAssertNil(host.metric("agw_mcp_tool_calls_total", ["route": "test", "target": "t", "tool": "made-up", "outcome": "ok"]))
        _ = post(host, filter, #"{"jsonrpc":"2.0","id":2,"method":"tools/list"}"#, headers: headers)
        call("echo")
        call("made-up")
        XCTAssertEqual(count("echo"), 1, "listed now: its own series")
        XCTAssertEqual(count("(unlisted)"), 4)
    }
}
