import JSON
@testable import MCPCore
import XCTest

/// An A2A agent as an MCP target: its card becomes tools; a call becomes a message to the agent,
/// its stream becomes progress, its task's artifacts the result.
final class A2AAgentTransportTests: XCTestCase {
    private func card(streaming: Bool, v03: Bool = false) -> [UInt8] {
        let interfaces = v03
            ? #""url":"http://agent/","preferredTransport":"JSONRPC","protocolVersion":"0.3.0""#
            : #""supportedInterfaces":[{"url":"http://agent/","protocolBinding":"JSONRPC","protocolVersion":"1.0"}]"#
        return Array("""
            {"name":"travel","description":"Books trips.",\(interfaces),"capabilities":{"streaming":\(streaming)},
             "skills":[{"id":"book flight","name":"Book","description":"Books a flight.","examples":["to Oslo"]},{"id":"count","name":"Count","description":"Counts."}]}
            """.utf8)
    }

    private func messages(_ steps: [A2AAgentTransport.Step]) -> [JSONValue] {
        steps.compactMap { if case .output(.message(let bytes, _)) = $0 { return JSONValue(bytes) } else { return nil } }
    }

    private func messages(_ outputs: [TransportOutput]) -> [JSONValue] {
        outputs.compactMap { if case .message(let bytes, _) = $0 { return JSONValue(bytes) } else { return nil } }
    }

    private func requests(_ steps: [A2AAgentTransport.Step]) -> [(HTTPCallRequest, A2AAgentTransport.Purpose)] {
        steps.compactMap { if case .http(let request, let purpose) = $0 { return (request, purpose) } else { return nil } }
    }

    private func connected(streaming: Bool, v03: Bool = false) throws -> A2AAgentTransport {
        let transport = A2AAgentTransport(url: "http://agent", cardURL: nil, headers: ["authorization": "Bearer s"], timeoutMilliseconds: 5000)
        let steps = transport.send(Array(#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{}}"#.utf8), requestID: 1, now: 0)
        let (cardRequest, purpose) = try XCTUnwrap(requests(steps).first)
        XCTAssertEqual(cardRequest.url, "http://agent/.well-known/agent-card.json")
        XCTAssertEqual(purpose, .card)
        let initialized = messages(transport.answered(.card, status: 200, body: card(streaming: streaming, v03: v03), now: 0))
        XCTAssertEqual(initialized.first?["result"]?["serverInfo"]?["name"]?.string, "travel")
        XCTAssertEqual(initialized.first?["result"]?["instructions"]?.string, "Books trips.")
        return transport
    }

    private func call(_ transport: A2AAgentTransport, _ tool: String, progress: Bool = false, id: Int = 2) -> [A2AAgentTransport.Step] {
        let meta = progress ? #","_meta":{"progressToken":"77"}"# : ""
        return transport.send(Array(#"{"jsonrpc":"2.0","id":\#(id),"method":"tools/call","params":{"name":"\#(tool)","arguments":{"message":"count 2"}\#(meta)}}"#.utf8),
                              requestID: id, now: 0)
    }

    func testSkillsBecomeToolsWithValidNamesAndTheirExamples() throws {
        let transport = try connected(streaming: true)
        let listed = messages(transport.send(Array(#"{"jsonrpc":"2.0","id":2,"method":"tools/list"}"#.utf8), requestID: 2, now: 0))
        let tools = try XCTUnwrap(listed.first?["result"]?["tools"]?.elements)
        XCTAssertEqual(tools.compactMap { $0["name"]?.string }, ["book_flight", "count"])
        XCTAssertEqual(tools.first?["description"]?.string, "Books a flight.\nExamples: \"to Oslo\"")
        XCTAssertEqual(tools.first?["inputSchema"]?["required"]?.text, #"["message"]"#)
    }

    func testAStreamedCallReportsProgressAndAnswersWithTheArtifacts() throws {
        let transport = try connected(streaming: true)
        let (request, purpose) = try XCTUnwrap(requests(call(transport, "count", progress: true)).first)
        let body = JSONValue(request.body)
        XCTAssertEqual(body["method"]?.string, "SendStreamingMessage")
        XCTAssertEqual(body["params"]?["message"]?["metadata"]?["skill"]?.string, "count")
        XCTAssertEqual(body["params"]?["message"]?["parts"]?.elements?.first?["text"]?.string, "count 2")
        XCTAssertEqual(request.headers.first { $0.name == "a2a-version" }?.value, "1.0")
        XCTAssertEqual(request.headers.first { $0.name == "authorization" }?.value, "Bearer s")
        let working = messages(transport.streamed(purpose, event: Array(#"{"result":{"statusUpdate":{"taskId":"t","contextId":"c","status":{"state":"TASK_STATE_WORKING","message":{"parts":[{"text":"1"}]}}}}}"#.utf8), now: 0))
        XCTAssertEqual(working.first?["method"]?.string, "notifications/progress")
        XCTAssertEqual(working.first?["params"]?["progressToken"]?.string, "77")
        XCTAssertEqual(working.first?["params"]?["message"]?.string, "1")
        _ = transport.streamed(purpose, event: Array(#"{"result":{"artifactUpdate":{"taskId":"t","artifact":{"parts":[{"text":"counted to 2"}]}}}}"#.utf8), now: 0)
        let done = messages(transport.streamed(purpose, event: Array(#"{"result":{"statusUpdate":{"taskId":"t","status":{"state":"TASK_STATE_COMPLETED"}}}}"#.utf8), now: 0))
        let result = try XCTUnwrap(done.last?["result"])
        XCTAssertEqual(result["content"]?.elements?.first?["text"]?.string, "counted to 2")
        XCTAssertEqual(result["structuredContent"]?["taskId"]?.string, "t")
        XCTAssertEqual(result["isError"]?.text, "false")
        XCTAssertTrue(transport.ended(purpose, failure: nil).isEmpty, "the call is over")
    }

    func testAnAgentThatDoesNotStreamIsPolledUntilTheTaskEnds() throws {
        let transport = try connected(streaming: false)
        let (request, purpose) = try XCTUnwrap(requests(call(transport, "count")).first)
        XCTAssertEqual(JSONValue(request.body)["method"]?.string, "SendMessage")
        XCTAssertTrue(transport.answered(purpose, status: 200, body: Array(#"{"jsonrpc":"2.0","id":1,"result":{"task":{"id":"t","contextId":"c","status":{"state":"TASK_STATE_WORKING"}}}}"#.utf8), now: 0).isEmpty)
        XCTAssertTrue(transport.tick(now: 0.1).isEmpty, "not due yet")
        let (poll, pollPurpose) = try XCTUnwrap(requests(transport.tick(now: 0.6)).first)
        XCTAssertEqual(JSONValue(poll.body)["method"]?.string, "GetTask")
        XCTAssertEqual(JSONValue(poll.body)["params"]?["id"]?.string, "t")
        let done = messages(transport.answered(pollPurpose, status: 200, body: Array(#"{"jsonrpc":"2.0","id":2,"result":{"id":"t","status":{"state":"TASK_STATE_FAILED","message":{"parts":[{"text":"no seats"}]}}}}"#.utf8), now: 0.7))
        XCTAssertEqual(done.first?["result"]?["isError"]?.text, "true")
        XCTAssertEqual(done.first?["result"]?["content"]?.elements?.first?["text"]?.string, "no seats")
    }

    func testErrorsAndCancellation() throws {
        let transport = try connected(streaming: true)
        let (_, purpose) = try XCTUnwrap(requests(call(transport, "count")).first)
        let refused = messages(transport.streamed(purpose, event: Array(#"{"jsonrpc":"2.0","id":1,"error":{"code":-32603,"message":"boom"}}"#.utf8), now: 0))
        XCTAssertEqual(refused.first?["result"]?["isError"]?.text, "true")
        XCTAssertEqual(refused.first?["result"]?["content"]?.elements?.first?["text"]?.string, "The A2A agent refused: boom")
        let unknown = messages(call(transport, "nope", id: 3))
        XCTAssertEqual(unknown.first?["result"]?["content"]?.elements?.first?["text"]?.string, "Unknown tool: nope")

        let (_, running) = try XCTUnwrap(requests(call(transport, "count", id: 4)).first)
        _ = transport.streamed(running, event: Array(#"{"result":{"task":{"id":"t-4","contextId":"c","status":{"state":"TASK_STATE_SUBMITTED"}}}}"#.utf8), now: 0)
        let cancel = requests(transport.send(Array(#"{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":4}}"#.utf8), requestID: nil, now: 0))
        XCTAssertEqual(cancel.first.map { JSONValue($0.0.body)["method"]?.string }, "CancelTask")
        XCTAssertEqual(cancel.first.map { JSONValue($0.0.body)["params"]?["id"]?.string }, "t-4")
    }

    func testAnAgentWhoseCardCannotBeHadFailsTheHandshake() {
        let transport = A2AAgentTransport(url: "http://agent", cardURL: "http://agent/card.json", headers: [:], timeoutMilliseconds: 5000)
        _ = transport.send(Array(#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{}}"#.utf8), requestID: 1, now: 0)
        guard case .requestFailed(1, let reason)? = transport.ended(.card, failure: "connection refused").first else { return XCTFail() }
        XCTAssertEqual(reason, "connection refused")
        _ = transport.send(Array(#"{"jsonrpc":"2.0","id":2,"method":"initialize","params":{}}"#.utf8), requestID: 2, now: 0)
        guard case .requestFailed(2, let rest)? = transport.answered(.card, status: 200, body: Array(#"{"name":"x","url":"grpc://x","preferredTransport":"GRPC"}"#.utf8), now: 0).first else {
            return XCTFail()
        }
        XCTAssertTrue(rest.contains("no JSON-RPC interface"), rest)
    }

    func testA03AgentIsSpokenToInItsNames() throws {
        let transport = try connected(streaming: false, v03: true)
        let (request, _) = try XCTUnwrap(requests(call(transport, "count")).first)
        let body = JSONValue(request.body)
        XCTAssertEqual(body["method"]?.string, "message/send")
        XCTAssertEqual(body["params"]?["message"]?["kind"]?.string, "message")
        XCTAssertEqual(body["params"]?["message"]?["role"]?.string, "user")
        XCTAssertNil(request.headers.first { $0.name == "a2a-version" })
    }
}
