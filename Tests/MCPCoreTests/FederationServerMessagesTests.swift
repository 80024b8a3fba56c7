import JSON
import JSONRPC
@testable import MCPCore
import XCTest

/// What targets send on their own: requests relayed only to their owner (or refused), answers
/// only from the owner, bridging between eras, and notifications kept to whom they concern.
final class FederationServerMessagesTests: XCTestCase {
    let alice = Owner(sessionID: "s-alice", caller: nil)
    let bob = Owner(sessionID: "s-bob", caller: nil)

    private func answer(_ harness: inout FederationHarness, id: String, from owner: Owner, result: String) {
        let message = JSONValue(Array(#"{"jsonrpc":"2.0","id":\#(id),"result":\#(result)}"#.utf8))
        let envelope = try! JSONRPCEnvelope.scan(message.bytes)
        harness.take(harness.federation.clientAnswer(message, envelope, from: owner, now: harness.now))
    }

    /// The relayed request's id (raw JSON) in the last message to the exchange.
    private func relayedID(_ harness: FederationHarness, _ exchange: UInt64) -> String? {
        guard case .message(let bytes)? = harness.deliveries(to: ExchangeID(exchange)).last else { return nil }
        return JSONValue(bytes)["id"]?.text
    }

    func testOnASharedStdioTargetAQuestionGoesToTheOnlyClientInFlightAndItsAnswerBack() throws {
        var harness = try FederationHarness(Configs.stdio(["a"], options: #""upstream_sessions":"shared","#))
        harness.start()
        harness.handshake(ConnectionID(0))
        harness.call("ask", on: "a", exchange: 1, owner: alice)
        harness.stdout(ConnectionID(0), #"{"jsonrpc":"2.0","id":"srv-1","method":"elicitation/create","params":{"message":"Name?"}}"#)
        let relayed = try XCTUnwrap(relayedID(harness, 1))
        XCTAssertTrue(relayed.hasPrefix("\"agw-") && relayed.count == 38, relayed)
        _ = harness.drain()
        answer(&harness, id: relayed, from: bob, result: #"{"action":"accept","content":{"name":"Mallory"}}"#)
        XCTAssertTrue(harness.written(to: ConnectionID(0)).isEmpty, "another client's answer is dropped")
        XCTAssertTrue(harness.federation.isAwaitingAnswer(JSONValue(Array(relayed.utf8)), from: alice), "and the question still waits")
        answer(&harness, id: relayed, from: alice, result: #"{"action":"accept","content":{"name":"Ada"}}"#)
        XCTAssertEqual(harness.written(to: ConnectionID(0)).last?.text, #"{"jsonrpc":"2.0","id":"srv-1","result":{"action":"accept","content":{"name":"Ada"}}}"#)
    }

    func testOnASharedStdioTargetWithTwoClientsInFlightTheQuestionIsRefusedAndCounted() throws {
        var harness = try FederationHarness(Configs.stdio(["a"], options: #""upstream_sessions":"shared","#))
        harness.start()
        harness.handshake(ConnectionID(0))
        harness.call("ask", on: "a", exchange: 1, owner: alice)
        harness.call("sleep", on: "a", exchange: 2, owner: bob, id: "2")
        _ = harness.drain()
        harness.stdout(ConnectionID(0), #"{"jsonrpc":"2.0","id":5,"method":"elicitation/create","params":{"message":"Name?"}}"#)
        XCTAssertTrue(harness.deliveries(to: ExchangeID(1)).isEmpty && harness.deliveries(to: ExchangeID(2)).isEmpty, "nobody is asked")
        let refusal = try XCTUnwrap(harness.written(to: ConnectionID(0)).last)
        XCTAssertEqual(refusal["id"]?.text, "5")
        XCTAssertEqual(refusal["error"]?["code"]?.int, -32603)
        XCTAssertTrue(refusal["error"]?["message"]?.string?.hasPrefix("The gateway refused elicitation/create: calls of 2 clients") ?? false)
        XCTAssertEqual(harness.refusals, 1)
    }

    func testEachSessionGetsItsOwnProcessSoItsQuestionsAreItsOwn() throws {
        var harness = try FederationHarness(Configs.stdio(["a"]))
        harness.start()
        harness.handshake(ConnectionID(0))
        let aliceSession = harness.session(), bobSession = harness.session()
        let alice = Owner(sessionID: aliceSession, caller: nil), bob = Owner(sessionID: bobSession, caller: nil)
        harness.call("ask", on: "a", exchange: 1, owner: alice)
        harness.call("ask", on: "a", exchange: 2, owner: bob, id: "2")
        // Two new processes (connections 1 and 2), each shaking hands before its call goes out.
        let aliceProcess = ConnectionID(1), bobProcess = ConnectionID(2)
        XCTAssertNotNil(harness.processOf[aliceProcess])
        XCTAssertNotNil(harness.processOf[bobProcess])
        harness.handshake(aliceProcess)
        harness.handshake(bobProcess)
        XCTAssertNotNil(harness.lastRequest("tools/call", to: aliceProcess))
        XCTAssertNotNil(harness.lastRequest("tools/call", to: bobProcess))
        harness.stdout(bobProcess, #"{"jsonrpc":"2.0","id":1,"method":"elicitation/create","params":{"message":"Bob?"}}"#)
        harness.stdout(aliceProcess, #"{"jsonrpc":"2.0","id":1,"method":"elicitation/create","params":{"message":"Alice?"}}"#)
        XCTAssertEqual(harness.deliveries(to: ExchangeID(1)).count, 1)
        XCTAssertTrue(harness.lastText(to: ExchangeID(1))?.contains("Alice?") ?? false)
        XCTAssertTrue(harness.lastText(to: ExchangeID(2))?.contains("Bob?") ?? false)
    }

    func testAQuestionFromAClientsOwnConnectionWithNoCallGoesToItsGETStream() throws {
        var harness = try FederationHarness(Configs.stdio(["a"]))
        harness.start()
        harness.handshake(ConnectionID(0))
        let session = harness.session()
        let owner = Owner(sessionID: session, caller: nil)
        harness.call("add", on: "a", exchange: 1, owner: owner)
        harness.handshake(ConnectionID(1))
        harness.answer("tools/call", on: ConnectionID(1), result: "{}")
        XCTAssertTrue(harness.federation.openListener(ExchangeID(9), session: session).opened)
        harness.stdout(ConnectionID(1), #"{"jsonrpc":"2.0","id":3,"method":"roots/list"}"#)
        XCTAssertTrue(harness.lastText(to: ExchangeID(9))?.contains("\"method\":\"roots/list\"") ?? false)
    }

    func testAModernClientGetsAnInputRequiredResultAndItsRetryContinuesTheCall() throws {
        var harness = try FederationHarness(Configs.stdio(["a"]))
        harness.start()
        harness.handshake(ConnectionID(0))
        let caller = Owner(sessionID: nil, caller: "api_key:alice")
        harness.call("ask", on: "a", exchange: 1, owner: caller, style: .inputRequired)
        harness.handshake(ConnectionID(1)) // the caller's own process
        harness.stdout(ConnectionID(1), #"{"jsonrpc":"2.0","id":"q1","method":"elicitation/create","params":{"message":"Name?"}}"#)
        let inputRequired = try XCTUnwrap(harness.lastText(to: ExchangeID(1)))
        let result = JSONValue(Array(inputRequired.utf8))
        XCTAssertEqual(result["resultType"]?.string, "input_required")
        let state = try XCTUnwrap(result["requestState"]?.string)
        let (key, request) = try XCTUnwrap(result["inputRequests"]?.members?.first)
        XCTAssertEqual(request["method"]?.string, "elicitation/create")
        // Another caller retrying with the state: unknown.
        harness.take(harness.federation.resume(requestState: state, responses: nil, exchange: ExchangeID(2),
                                               owner: Owner(sessionID: nil, caller: "api_key:bob"), clientID: "2", now: harness.now))
        XCTAssertEqual(harness.lastText(to: ExchangeID(2)),
                       #"{"code":-32602,"message":"Unknown or expired requestState '\#(state)'; send the request again without it"}"#)
        // The owner's retry: the answer goes upstream, the call's result to the retry.
        let responses = JSONValue(Array(#"{"\#(key)":{"action":"accept","content":{"name":"Ada"}}}"#.utf8))
        _ = harness.drain()
        harness.take(harness.federation.resume(requestState: state, responses: responses, exchange: ExchangeID(3), owner: caller,
                                               clientID: "3", now: harness.now))
        XCTAssertEqual(harness.written(to: ConnectionID(1)).last?.text, #"{"jsonrpc":"2.0","id":"q1","result":{"action":"accept","content":{"name":"Ada"}}}"#)
        harness.answer("tools/call", on: ConnectionID(1), result: #"{"content":[]}"#)
        XCTAssertEqual(harness.lastText(to: ExchangeID(3)), #"{"content":[]}"#)
    }

    func testAHandshakeClientAnswersAModernTargetsInputRequestsThroughTheBridge() throws {
        var harness = try FederationHarness(Configs.http("m", protocolChoice: "2026-07-28"))
        harness.start()
        harness.respondResult("server/discover", result: #"{"supportedVersions":["2026-07-28"],"capabilities":{"tools":{}}}"#)
        harness.call("ask", on: "m", exchange: 1, owner: alice)
        let call = try XCTUnwrap(harness.openCall("tools/call"))
        XCTAssertEqual(call.request.headers.first { $0.name == "mcp-method" }?.value, "tools/call")
        XCTAssertEqual(call.request.headers.first { $0.name == "mcp-name" }?.value, "ask")
        harness.respondResult("tools/call", result: #"{"resultType":"input_required","requestState":"server-state","inputRequests":{"k1":{"method":"elicitation/create","params":{"message":"Name?"}}}}"#)
        let relayed = try XCTUnwrap(relayedID(harness, 1))
        answer(&harness, id: relayed, from: alice, result: #"{"action":"accept","content":{"name":"Ada"}}"#)
        let retry = try XCTUnwrap(harness.openCall("tools/call"))
        let params = JSONValue(retry.request.body)["params"]
        XCTAssertEqual(params?["requestState"]?.string, "server-state")
        XCTAssertEqual(params?["inputResponses"]?["k1"]?["content"]?["name"]?.string, "Ada")
        harness.respondResult("tools/call", result: #"{"resultType":"complete","content":[{"type":"text","text":"hi Ada"}]}"#)
        XCTAssertEqual(harness.lastText(to: ExchangeID(1)), #"{"resultType":"complete","content":[{"type":"text","text":"hi Ada"}]}"#)
    }

    func testAStreamableHTTPTargetsQuestionFollowsTheResponseStreamThatCarriedIt() throws {
        var harness = try FederationHarness(Configs.http("h", protocolChoice: "2025-11-25", options: #""upstream_sessions":"shared","#))
        harness.start()
        harness.respondResult("initialize", result: #"{"protocolVersion":"2025-11-25","capabilities":{"tools":{}},"serverInfo":{"name":"h"}}"#,
                              sessionID: "up-1")
        harness.accept("notifications/initialized")
        harness.call("ask", on: "h", exchange: 1, owner: alice)
        harness.call("ask", on: "h", exchange: 2, owner: bob, id: "2")
        // Bob's POST streams an elicitation: it is Bob's, though Alice's call is in flight too.
        let bobsCall = try XCTUnwrap(harness.openCalls.sorted { $0.key.value < $1.key.value }.last)
        XCTAssertEqual(bobsCall.value.request.headers.first { $0.name == "mcp-session-id" }?.value, "up-1")
        harness.take(harness.federation.httpEvent(bobsCall.value.key, .response(status: 200, contentType: "text/event-stream", sessionID: nil, end: false), now: harness.now))
        harness.take(harness.federation.httpEvent(bobsCall.value.key, body: Array("event: message\ndata: {\"jsonrpc\":\"2.0\",\"id\":9,\"method\":\"elicitation/create\",\"params\":{}}\n\n".utf8), end: false, now: harness.now))
        XCTAssertTrue(harness.deliveries(to: ExchangeID(1)).isEmpty)
        XCTAssertTrue(harness.lastText(to: ExchangeID(2))?.contains("elicitation/create") ?? false)
        XCTAssertEqual(harness.refusals, 0)
    }

    func testAListChangeOfAClientsOwnProcessReachesOnlyThatClient() throws {
        var harness = try FederationHarness(Configs.stdio(["a"]))
        harness.start()
        harness.handshake(ConnectionID(0))
        let aliceSession = harness.session(), bobSession = harness.session()
        XCTAssertTrue(harness.federation.openListener(ExchangeID(10), session: aliceSession).opened)
        XCTAssertTrue(harness.federation.openListener(ExchangeID(20), session: bobSession).opened)
        harness.call("grow", on: "a", exchange: 1, owner: Owner(sessionID: aliceSession, caller: nil))
        harness.handshake(ConnectionID(1))
        harness.stdout(ConnectionID(1), #"{"jsonrpc":"2.0","method":"notifications/tools/list_changed"}"#)
        XCTAssertEqual(harness.deliveries(to: ExchangeID(10)).count, 1)
        XCTAssertTrue(harness.deliveries(to: ExchangeID(20)).isEmpty)
        // The shared process's list change is everyone's.
        harness.stdout(ConnectionID(0), #"{"jsonrpc":"2.0","method":"notifications/tools/list_changed"}"#)
        XCTAssertEqual(harness.deliveries(to: ExchangeID(20)).count, 1)
    }

    func testAPingFromATargetIsAnsweredByTheGateway() throws {
        var harness = try FederationHarness(Configs.stdio(["a"]))
        harness.start()
        harness.handshake(ConnectionID(0))
        _ = harness.drain()
        harness.stdout(ConnectionID(0), #"{"jsonrpc":"2.0","id":"p","method":"ping"}"#)
        XCTAssertEqual(harness.written(to: ConnectionID(0)).last?.text, #"{"jsonrpc":"2.0","id":"p","result":{}}"#)
    }
}
