import A2ACore
@testable import A2APlugin
import JSON
import PluginKit
import PluginKitTesting
import XCTest

/// The `a2a` handler behind PluginKitTesting's fake host: cards rewritten and revalidated, requests
/// relayed in both bindings, streams passed on event by event, tasks kept to their creator,
/// webhooks checked, errors for everything that is not right.
final class A2AHandlerTests: XCTestCase {
    var host: FakeHost!

    override func setUp() {
        host = FakeHost() // the fake's metrics go to the newest host: make it this test's
    }
    let cardURL = "http://10.0.0.5:9999/.well-known/agent-card.json"
    let card = #"""
        {"name":"travel","description":"d","version":"1","capabilities":{"streaming":true},
         "supportedInterfaces":[{"url":"http://10.0.0.5:9999/","protocolBinding":"JSONRPC","protocolVersion":"1.0"},
                                {"url":"http://10.0.0.5:9999/rest","protocolBinding":"HTTP+JSON","protocolVersion":"1.0"}],
         "skills":[{"id":"book","name":"Book"},{"id":"secret","name":"Secret"}],"signatures":[{"protected":"e30","signature":"x"}]}
        """#

    private func handler(_ extra: String = "", answerCard: Bool = true) throws -> FakeFilter {
        let handler = try host.configure(A2AHandler.self, config: """
            {"agents":[{"name":"travel","url":"http://10.0.0.5:9999","headers":{"authorization":"Bearer upstream-secret"}}]\(extra)}
            """)
        host.run()
        if answerCard { try XCTUnwrap(host.httpCall(to: cardURL)).respond(status: 200, text: card) }
        return handler
    }

    private func stream(_ stages: [FakeFilter], method: String = "GET", path: String, headers: [(String, String)] = [], body: String? = nil,
                        caller: String? = nil) -> FakeStream {
        let stream = host.stream(stages, method: method, path: path, headers: headers, body: body.map { Array($0.utf8) })
        stream.attributes[.scheme] = "https"
        stream.attributes[.host] = "gw.test"
        stream.attributes[.routePathPrefix] = "/agents"
        if let caller {
            stream.values[IdentityKeys.method] = Array("jwt".utf8)
            stream.values[IdentityKeys.subject] = Array(caller.utf8)
        }
        return stream
    }

    /// Sends a JSON-RPC request through the handler; returns the stream (its call to the agent waits).
    private func jsonRPC(_ stages: [FakeFilter], _ body: String, caller: String? = nil, headers: [(String, String)] = []) -> FakeStream {
        let stream = stream(stages, method: "POST", path: "/agents/travel/jsonrpc",
                            headers: [("content-type", "application/json"), ("a2a-version", "1.0")] + headers, body: body, caller: caller)
        stream.runRequestHeaders()
        stream.runRequestBody()
        return stream
    }

    private func agentCall() throws -> FakeHTTPCall { try XCTUnwrap(host.httpCalls.last) }

    func testTheCardPointsAtTheGatewayAndRevalidatesWithItsETag() throws {
        let handler = try handler()
        let first = stream([handler], path: "/agents/travel/.well-known/agent-card.json")
        first.runRequestHeaders()
        XCTAssertEqual(first.response?.status, 200)
        let served = JSONValue(first.responseBody)
        XCTAssertEqual(served["supportedInterfaces"]?.elements?.compactMap { $0["url"]?.string },
                       ["https://gw.test/agents/travel/jsonrpc", "https://gw.test/agents/travel/rest"])
        XCTAssertFalse(first.responseText.contains("10.0.0.5"))
        XCTAssertNil(served["signatures"])
        let etag = try XCTUnwrap(first.response?.headers.first { $0.name == "etag" }?.value)
        let again = stream([handler], path: "/agents/travel/.well-known/agent-card.json", headers: [("if-none-match", etag)])
        again.runRequestHeaders()
        XCTAssertEqual(again.response?.status, 304)
        XCTAssertTrue(again.responseBody.isEmpty)
    }

    func testACardRequestedBeforeTheFetchEndedWaitsForItAndAnAgentDownGets502() throws {
        let handler = try handler(answerCard: false)
        let early = stream([handler], path: "/agents/travel/.well-known/agent-card.json")
        XCTAssertEqual(early.runRequestHeaders(), .stop)
        try XCTUnwrap(host.httpCall(to: cardURL)).respond(status: 200, text: card)
        host.run()
        XCTAssertEqual(early.response?.status, 200, "served once the card arrived")

        let down = try host.configure(A2AHandler.self, config: #"{"agents":[{"name":"travel","url":"http://10.0.0.6:1"}]}"#)
        host.run()
        try XCTUnwrap(host.httpCall(to: "http://10.0.0.6:1/.well-known/agent-card.json")).fail("connection refused")
        let late = stream([down], path: "/agents/travel/.well-known/agent-card.json")
        late.runRequestHeaders()
        XCTAssertEqual(late.localReply?.status, 502)
        XCTAssertTrue(late.localReply?.body.contains("connection refused") ?? false, late.localReply?.body ?? "")
    }

    func testARequestGoesToTheAgentWithItsHeadersAndNotTheClientsCredentials() throws {
        let handler = try handler()
        let stream = jsonRPC([handler], #"{"jsonrpc":"2.0","id":1,"method":"SendMessage","params":{"message":{"messageId":"m","role":"ROLE_USER","parts":[{"text":"hi"}]}}}"#,
                             headers: [("authorization", "Bearer client-token"), ("cookie", "s=1"), ("a2a-extensions", "urn:x")])
        let call = try agentCall()
        XCTAssertEqual(call.url, "http://10.0.0.5:9999/")
        XCTAssertEqual(call.method, "POST")
        XCTAssertEqual(call.header("authorization"), "Bearer upstream-secret", "the agent's own credential, not the client's")
        XCTAssertNil(call.header("cookie"))
        XCTAssertEqual(call.header("a2a-version"), "1.0")
        XCTAssertEqual(call.header("a2a-extensions"), "urn:x")
        XCTAssertTrue(call.streamsBody)
        call.respond(status: 200, headers: [("content-type", "application/json")],
                     text: #"{"jsonrpc":"2.0","id":1,"result":{"message":{"messageId":"a","role":"ROLE_AGENT","parts":[{"text":"ok"}]}}}"#)
        XCTAssertEqual(stream.response?.status, 200)
        XCTAssertTrue(stream.responseText.contains(#""text":"ok""#))
    }

    func testATaskIsItsCreatorsAndAnotherCallerGetsTaskNotFound() throws {
        let handler = try handler()
        let send = jsonRPC([handler], #"{"jsonrpc":"2.0","id":1,"method":"SendMessage","params":{"message":{"messageId":"m","role":"ROLE_USER","parts":[{"text":"hi"}]}}}"#,
                           caller: "alice")
        try agentCall().respond(status: 200, text: #"{"jsonrpc":"2.0","id":1,"result":{"task":{"id":"t-1","contextId":"c-1","status":{"state":"TASK_STATE_WORKING"}}}}"#)
        XCTAssertEqual(send.response?.status, 200)
        let calls = host.httpCalls.count

        let bob = jsonRPC([handler], #"{"jsonrpc":"2.0","id":2,"method":"GetTask","params":{"id":"t-1"}}"#, caller: "bob")
        XCTAssertEqual(JSONValue(Array((bob.localReply?.body ?? "").utf8))["error"]?["code"]?.int, -32001)
        let bobCancels = jsonRPC([handler], #"{"jsonrpc":"2.0","id":3,"method":"CancelTask","params":{"id":"t-1"}}"#, caller: "bob")
        XCTAssertNotNil(bobCancels.localReply)
        let bobJoins = jsonRPC([handler], #"{"jsonrpc":"2.0","id":4,"method":"SendMessage","params":{"message":{"messageId":"m2","role":"ROLE_USER","contextId":"c-1","parts":[{"text":"x"}]}}}"#, caller: "bob")
        XCTAssertTrue(bobJoins.localReply?.body.contains("unknown contextId") ?? false)
        let anonymous = jsonRPC([handler], #"{"jsonrpc":"2.0","id":5,"method":"GetTask","params":{"id":"t-1"}}"#)
        XCTAssertNotNil(anonymous.localReply)
        XCTAssertEqual(host.httpCalls.count, calls, "none of them reached the agent")
        XCTAssertEqual(host.metric("agw_a2a_refused_total"), 4)
        // Each request is counted by agent, method and outcome once its stream is over.
        for stream in [send, bob, bobCancels, bobJoins, anonymous] { stream.complete() }
        XCTAssertEqual(host.metric("agw_a2a_requests_total", ["route": "test", "agent": "travel", "method": "SendMessage", "outcome": "ok"]), 1)
        XCTAssertEqual(host.metric("agw_a2a_requests_total", ["route": "test", "agent": "travel", "method": "GetTask", "outcome": "gateway_error"]), 2)
        XCTAssertEqual(host.observations("agw_a2a_request_duration_seconds", ["route": "test", "agent": "travel", "method": "SendMessage"]), 2)
        XCTAssertEqual(send.annotations["agw.a2a.agent"], "travel")
        XCTAssertEqual(send.annotations["agw.a2a.outcome"], "ok")
        XCTAssertEqual(send.annotationCalls, 1, "the annotations cross in one call")

        let alice = jsonRPC([handler], #"{"jsonrpc":"2.0","id":6,"method":"GetTask","params":{"id":"t-1"}}"#, caller: "alice")
        XCTAssertNil(alice.localReply)
        XCTAssertEqual(host.httpCalls.count, calls + 1, "the owner's request goes through")
    }

    func testAStreamIsPassedOnEventByEventAndItsTasksAreBoundOnTheWay() throws {
        let handler = try handler()
        let stream = jsonRPC([handler], #"{"jsonrpc":"2.0","id":1,"method":"SendStreamingMessage","params":{"message":{"messageId":"m","role":"ROLE_USER","parts":[{"text":"count"}]}}}"#,
                             caller: "alice")
        let call = try agentCall()
        call.respondHead(status: 200, headers: [("content-type", "text/event-stream")])
        XCTAssertEqual(stream.response?.status, 200)
        call.send(Array("data: {\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{\"task\":{\"id\":\"t-9\",\"contextId\":\"c-9\",\"status\":{}}}}\n\n".utf8))
        XCTAssertTrue(stream.responseText.contains("t-9"), "the first event is out before the next one exists")
        XCTAssertFalse(stream.responseEnded)
        // Alice may already name the task the first event told her about; Bob may not.
        let bob = jsonRPC([handler], #"{"jsonrpc":"2.0","id":2,"method":"SubscribeToTask","params":{"id":"t-9"}}"#, caller: "bob")
        XCTAssertNotNil(bob.localReply)
        call.send(Array("data: {\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{\"statusUpdate\":{\"taskId\":\"t-9\",\"contextId\":\"c-9\",\"status\":{\"state\":\"TASK_STATE_COMPLETED\"}}}}\n\n".utf8), end: true)
        XCTAssertTrue(stream.responseEnded)
        XCTAssertEqual(stream.responseText.components(separatedBy: "data: ").count - 1, 2)
    }

    func testRESTRequestsGoToTheRESTInterfaceAndTheirErrorsAreRPCStatuses() throws {
        let handler = try handler()
        let get = stream([handler], path: "/agents/travel/rest/tasks/unknown-task", headers: [("a2a-version", "1.0")], caller: "alice")
        get.runRequestHeaders()
        get.runRequestBody()
        let refused = JSONValue(Array((get.localReply?.body ?? "").utf8))
        XCTAssertEqual(get.localReply?.status, 404)
        XCTAssertEqual(refused["error"]?["status"]?.string, "NOT_FOUND")

        let send = stream([handler], method: "POST", path: "/agents/travel/rest/message:send?x=1",
                          headers: [("content-type", "application/a2a+json"), ("a2a-version", "1.0")],
                          body: #"{"message":{"messageId":"m","role":"ROLE_USER","parts":[{"text":"hi"}]}}"#)
        send.runRequestHeaders()
        send.runRequestBody()
        let call = try agentCall()
        XCTAssertEqual(call.url, "http://10.0.0.5:9999/rest/message:send?x=1")
        XCTAssertEqual(call.header("content-type"), "application/a2a+json")
        call.fail("connection refused")
        XCTAssertEqual(send.localReply?.status, 502)
        XCTAssertTrue(send.localReply?.body.contains("A2A agent 'travel' is unavailable") ?? false)
    }

    func testPushWebhooksOutsideTheAllowListAreRefused() throws {
        let handler = try handler(#","push_url_prefixes":["https://hooks.test/"]"#)
        let refused = jsonRPC([handler], #"{"jsonrpc":"2.0","id":1,"method":"SendMessage","params":{"message":{"messageId":"m","role":"ROLE_USER","parts":[{"text":"hi"}]},"configuration":{"taskPushNotificationConfig":{"url":"http://169.254.169.254/latest"}}}}"#)
        XCTAssertTrue(refused.localReply?.body.contains("does not allow push notifications to 'http://169.254.169.254/latest'") ?? false)
        let allowed = jsonRPC([handler], #"{"jsonrpc":"2.0","id":2,"method":"SendMessage","params":{"message":{"messageId":"m","role":"ROLE_USER","parts":[{"text":"hi"}]},"configuration":{"taskPushNotificationConfig":{"url":"https://hooks.test/a"}}}}"#)
        XCTAssertNil(allowed.localReply)
    }

    func testMalformedInputUnknownAgentsAndNonA2AAnswers() throws {
        let handler = try handler()
        let broken = jsonRPC([handler], #"{"jsonrpc":"2.0","id":1,"method":"#)
        XCTAssertEqual(JSONValue(Array((broken.localReply?.body ?? "").utf8))["error"]?["code"]?.int, -32700)
        let unknown = stream([handler], method: "POST", path: "/agents/nobody/jsonrpc", body: "{}")
        unknown.runRequestHeaders()
        XCTAssertEqual(unknown.localReply?.status, 404)
        let html = jsonRPC([handler], #"{"jsonrpc":"2.0","id":2,"method":"GetExtendedAgentCard"}"#)
        try agentCall().respond(status: 200, headers: [("content-type", "text/html")], text: "<html>")
        XCTAssertEqual(html.localReply?.status, 502)
        XCTAssertTrue(html.localReply?.body.contains("not A2A") ?? false)
    }

    func testAListOfTasksShowsOnlyTheCallersTasks() throws {
        let handler = try handler()
        let send = jsonRPC([handler], #"{"jsonrpc":"2.0","id":1,"method":"SendMessage","params":{"message":{"messageId":"m","role":"ROLE_USER","parts":[{"text":"hi"}]}}}"#, caller: "alice")
        try agentCall().respond(status: 200, text: #"{"jsonrpc":"2.0","id":1,"result":{"task":{"id":"mine","contextId":"c","status":{}}}}"#)
        XCTAssertEqual(send.response?.status, 200)
        let list = jsonRPC([handler], #"{"jsonrpc":"2.0","id":2,"method":"ListTasks","params":{}}"#, caller: "alice")
        XCTAssertNil(list.localReply?.body)
        try agentCall().respond(status: 200, text: #"{"jsonrpc":"2.0","id":2,"result":{"tasks":[{"id":"mine"},{"id":"bobs"}],"nextPageToken":"","totalSize":2}}"#)
        let tasks = JSONValue(list.responseBody)["result"]?["tasks"]?.elements?.compactMap { $0["id"]?.string }
        XCTAssertEqual(tasks, ["mine"])
    }

    func testTheCatalogListsEveryVisibleAgentWithItsCard() throws {
        let handler = try handler()
        let catalog = stream([handler], path: "/agents")
        catalog.runRequestHeaders()
        let agents = try XCTUnwrap(JSONValue(catalog.responseBody)["agents"]?.elements)
        XCTAssertEqual(agents.first?["name"]?.string, "travel")
        XCTAssertEqual(agents.first?["cardUrl"]?.string, "https://gw.test/agents/travel/.well-known/agent-card.json")
        XCTAssertEqual(agents.first?["card"]?["name"]?.string, "travel")
    }

    func testPoliciesHideSkillsAndAgentsAndDecideRequests() throws {
        let handler = try handler()
        let policy = try host.configure(HideSecrets.self)
        let card = stream([policy, handler], path: "/agents/travel/.well-known/agent-card.json")
        card.runRequestHeaders()
        XCTAssertEqual(JSONValue(card.responseBody)["skills"]?.elements?.compactMap { $0["id"]?.string }, ["book"])
        let send = jsonRPC([policy, handler], #"{"jsonrpc":"2.0","id":1,"method":"SendMessage","params":{"message":{"messageId":"m","role":"ROLE_USER","metadata":{"skill":"secret"},"parts":[{"text":"hi"}]}}}"#)
        XCTAssertEqual(JSONValue(Array((send.localReply?.body ?? "").utf8))["error"]?["code"]?.int, -32601)
        let published = send.publications.last?.message
        XCTAssertEqual(published?.method, "SendMessage")
        XCTAssertEqual(published?.upstream, "travel")
        XCTAssertEqual(published?.target, "secret")
        XCTAssertEqual(published?.protocolName, .a2a)
    }
}

/// Hides the skill `secret` from cards and refuses messages that name it.
struct HideSecrets: RPCFilter {
    static let name = "hide-secrets"
    init(configuration: FilterConfiguration) throws {}
    func rpcMessage(_ message: RPCMessage, stream: FilterStream) -> FilterStatus {
        guard message.target == "secret" else { return .continue }
        _ = stream.rejectRPC(code: -32601, message: "Method not found: \(message.method)")
        return .replied
    }
}
