import JSON
import JSONRPC
@testable import MCPCore
import XCTest

/// The federation as events in and actions out: targets started and spoken to, lists merged,
/// calls routed and answered, cancelled, timed out; targets failing and restarting. No sockets,
/// no processes, no clock but the harness's.
final class FederationTests: XCTestCase {
    let a = ConnectionID(0), b = ConnectionID(1)

    private func ready(_ names: [String] = ["a", "b"], options: String = #""upstream_sessions":"shared","#) throws -> FederationHarness {
        var harness = try FederationHarness(Configs.stdio(names, options: options))
        harness.start()
        for index in names.indices { harness.handshake(ConnectionID(index), name: names[index]) }
        _ = harness.drain()
        return harness
    }

    func testTargetsStartWithTheHandshakeAndReportReady() throws {
        var harness = try FederationHarness(Configs.stdio(["a"]))
        harness.start()
        let initialize = try XCTUnwrap(harness.lastRequest("initialize", to: a))
        XCTAssertEqual(initialize["params"]?["protocolVersion"]?.string, "2025-11-25")
        XCTAssertNotNil(initialize["params"]?["capabilities"]?["elicitation"], "the gateway relays elicitation")
        harness.handshake(a)
        XCTAssertEqual(harness.written(to: a).last?["method"]?.string, "notifications/initialized")
        XCTAssertTrue(harness.logLines.contains("target 'a' is ready (server 't', protocol 2025-11-25)"))
    }

    func testDescribeWaitsForEveryTargetAndMergesCapabilities() throws {
        var harness = try FederationHarness(Configs.stdio(["a", "b"], options: #""upstream_sessions":"shared","#))
        harness.start()
        harness.take(harness.federation.describe(ExchangeID(1)))
        XCTAssertTrue(harness.deliveries(to: ExchangeID(1)).isEmpty, "b has not answered yet")
        harness.handshake(a, capabilities: #"{"tools":{"listChanged":true}}"#)
        harness.handshake(b, capabilities: #"{"tools":{},"prompts":{},"experimental":{"x":{}}}"#)
        XCTAssertEqual(harness.lastText(to: ExchangeID(1)), #"{"tools":{"listChanged":true},"prompts":{}}"#)
    }

    func testListsMergeInTargetOrderWithPrefixesAndFollowEachTargetsCursor() throws {
        var harness = try ready()
        harness.take(harness.federation.list(.tools, exchange: ExchangeID(5), owner: Owner(sessionID: nil, caller: nil), now: harness.now))
        harness.answer("tools/list", on: a, result: #"{"tools":[{"name":"x"}],"nextCursor":"page2"}"#)
        XCTAssertEqual(harness.lastRequest("tools/list", to: a)?["params"]?["cursor"]?.string, "page2", "the gateway follows a's cursor")
        harness.answer("tools/list", on: b, result: #"{"tools":[{"name":"z","description":"b's"}]}"#)
        XCTAssertTrue(harness.deliveries(to: ExchangeID(5)).isEmpty, "a's second page is still missing")
        harness.answer("tools/list", on: a, result: #"{"tools":[{"name":"y"}]}"#)
        guard case .list(let list)? = harness.deliveries(to: ExchangeID(5)).last else { return XCTFail("no list") }
        XCTAssertEqual(list.items.map(\.name), ["x", "y", "z"])
        XCTAssertEqual(list.items.map { String(decoding: $0.json, as: UTF8.self) },
                       [#"{"name":"a_x"}"#, #"{"name":"a_y"}"#, #"{"name":"b_z","description":"b's"}"#])
    }

    func testAFailedTargetFailsAClosedListAndIsLeftOutOfAnOpenOne() throws {
        for mode in ["closed", "open"] {
            var harness = try ready(options: #""upstream_sessions":"shared","failure_mode":"\#(mode)","#)
            harness.exit(b, code: 1)
            harness.take(harness.federation.list(.tools, exchange: ExchangeID(5), owner: Owner(sessionID: nil, caller: nil), now: harness.now))
            harness.answer("tools/list", on: a, result: #"{"tools":[{"name":"x"}]}"#)
            if mode == "closed" {
                XCTAssertEqual(harness.lastText(to: ExchangeID(5)), #"{"code":-32603,"message":"MCP server 'b' is unavailable: the process exited with status 1"}"#)
            } else {
                XCTAssertEqual(harness.lastText(to: ExchangeID(5)), "x")
                XCTAssertTrue(harness.logLines.contains { $0.contains("leaving out MCP server 'b'") })
            }
        }
    }

    func testACallGoesToItsTargetUnderTheTargetsNameAndTheAnswerComesBackUncopied() throws {
        var harness = try ready()
        harness.call("add", on: "b", exchange: 9, arguments: #"{"x":1}"#, id: #""call-9""#)
        XCTAssertTrue(harness.written(to: a).isEmpty)
        let request = try XCTUnwrap(harness.lastRequest("tools/call", to: b))
        XCTAssertEqual(request["params"]?["name"]?.string, "add")
        XCTAssertEqual(request["params"]?["arguments"]?.text, #"{"x":1}"#)
        harness.answer("tools/call", on: b, result: #"{"content":[{"type":"text","text":"2"}]}"#)
        guard case .result(let slice)? = harness.deliveries(to: ExchangeID(9)).last else { return XCTFail("no result") }
        XCTAssertEqual(String(decoding: slice, as: UTF8.self), #"{"content":[{"type":"text","text":"2"}]}"#)
        XCTAssertGreaterThan(slice.startIndex, 0, "a slice of the target's whole message, not a copy")
    }

    func testProgressTokensAreTheGatewaysUpstreamAndTheClientsDownstream() throws {
        var harness = try ready()
        harness.call("count", on: "a", exchange: 3, progressToken: #""client-token""#)
        let request = try XCTUnwrap(harness.lastRequest("tools/call", to: a))
        let upstreamToken = try XCTUnwrap(request["params"]?["_meta"]?["progressToken"]?.text)
        XCTAssertEqual(upstreamToken, request["id"]?.text, "the upstream token is the gateway's request id")
        harness.stdout(a, #"{"jsonrpc":"2.0","method":"notifications/progress","params":{"progressToken":\#(upstreamToken),"progress":1,"total":2}}"#)
        XCTAssertEqual(harness.lastText(to: ExchangeID(3)),
                       #"{"jsonrpc":"2.0","method":"notifications/progress","params":{"progressToken":"client-token","progress":1,"total":2}}"#)
    }

    func testACancelledCallTellsTheTargetAndAnswersTheClient() throws {
        var harness = try ready()
        let owner = Owner(sessionID: "s1", caller: nil)
        harness.call("sleep", on: "a", exchange: 4, owner: owner, id: "7")
        let request = try XCTUnwrap(harness.lastRequest("tools/call", to: a))
        // Another client naming the same id cancels nothing.
        harness.take(harness.federation.cancel(Owner(sessionID: "s2", caller: nil), requestID: "7", now: harness.now))
        XCTAssertTrue(harness.deliveries(to: ExchangeID(4)).isEmpty)
        harness.take(harness.federation.cancel(owner, requestID: "7", now: harness.now))
        let cancelled = try XCTUnwrap(harness.written(to: a).last)
        XCTAssertEqual(cancelled["method"]?.string, "notifications/cancelled")
        XCTAssertEqual(cancelled["params"]?["requestId"]?.text, request["id"]?.text)
        XCTAssertEqual(harness.lastText(to: ExchangeID(4)), #"{"code":-32800,"message":"Request cancelled"}"#)
        // The target's late answer goes nowhere.
        harness.answer("tools/call", on: a, result: "{}")
        XCTAssertEqual(harness.deliveries(to: ExchangeID(4)).count, 1)
    }

    func testACallWaitingForItsConnectionCanBeCancelled() throws {
        var harness = try FederationHarness(Configs.stdio(["a"], options: #""upstream_sessions":"shared","#))
        harness.start() // no handshake yet: calls wait
        let owner = Owner(sessionID: "s1", caller: nil)
        harness.call("sleep", on: "a", exchange: 4, owner: owner, id: "8")
        harness.take(harness.federation.cancel(owner, requestID: "8", now: harness.now))
        XCTAssertEqual(harness.lastText(to: ExchangeID(4)), #"{"code":-32800,"message":"Request cancelled"}"#)
        harness.handshake(a)
        XCTAssertNil(harness.lastRequest("tools/call", to: a), "nothing is sent when its turn comes")
    }

    func testAnAbandonedStatelessCallIsCancelledUpstream() throws {
        var harness = try ready()
        harness.call("sleep", on: "a", exchange: 6, style: .inputRequired)
        _ = harness.drain()
        harness.take(harness.federation.exchangeAbandoned(ExchangeID(6), now: harness.now))
        XCTAssertEqual(harness.written(to: a).last?["method"]?.string, "notifications/cancelled")
    }

    func testAnUnansweredCallTimesOutWithMinus32001AndIsCancelledUpstream() throws {
        var harness = try ready(options: #""upstream_sessions":"shared","request_timeout_ms":2000,"#)
        harness.call("sleep", on: "a", exchange: 2)
        harness.advance(seconds: 1.5)
        XCTAssertTrue(harness.deliveries(to: ExchangeID(2)).isEmpty)
        harness.advance(seconds: 1)
        XCTAssertEqual(harness.lastText(to: ExchangeID(2)), #"{"code":-32001,"message":"MCP server 'a' did not answer within 2000 ms"}"#)
        XCTAssertEqual(harness.written(to: a).last?["method"]?.string, "notifications/cancelled")
    }

    func testADeadTargetFailsItsCallsAndRestartsWithDoublingBackoff() throws {
        var harness = try ready()
        harness.call("sleep", on: "a", exchange: 1)
        harness.exit(a, code: -9)
        XCTAssertEqual(harness.lastText(to: ExchangeID(1)), #"{"code":-32603,"message":"MCP server 'a' failed: the process was killed by signal 9"}"#)
        guard case .armRestart(0, 500)? = harness.drain().last(where: { if case .armRestart = $0 { return true }; return false }) else {
            return XCTFail("no restart in 500 ms")
        }
        harness.call("add", on: "a", exchange: 2)
        XCTAssertEqual(harness.lastText(to: ExchangeID(2)), #"{"code":-32603,"message":"MCP server 'a' is unavailable: the process was killed by signal 9"}"#)
        harness.take(harness.federation.restartDue(targetIndex: 0, now: harness.now))
        XCTAssertNotNil(harness.lastRequest("initialize", to: a), "a new process, a new handshake")
        harness.exit(a, code: 1)
        XCTAssertTrue(harness.drain().contains { if case .armRestart(0, 1000) = $0 { return true }; return false }, "the second time 1 s")
    }

    func testAnUnansweredHandshakeBringsTheTargetDown() throws {
        var harness = try FederationHarness(Configs.stdio(["a"], options: #""request_timeout_ms":1000,"#))
        harness.start()
        harness.advance(seconds: 2)
        XCTAssertTrue(harness.logLines.contains { $0.contains("target 'a' is down: no answer to initialize within 1000 ms") })
    }

    func testAnUnknownTargetAndAMessageThatIsNotJSONRPC() throws {
        var harness = try ready()
        harness.call("x", on: "nobody", exchange: 1)
        XCTAssertEqual(harness.lastText(to: ExchangeID(1)), #"{"code":-32602,"message":"Unknown target 'nobody'"}"#)
        harness.stdout(a, "not json")
        XCTAssertTrue(harness.logLines.contains { $0.hasPrefix("target 'a' sent a message that is not JSON-RPC") })
    }

    func testWithoutPrefixesNamesRouteByWhoListedThemAndCollisionsAreLogged() throws {
        var harness = try ready(options: #""upstream_sessions":"shared","prefix":"never","#)
        harness.take(harness.federation.list(.tools, exchange: ExchangeID(5), owner: Owner(sessionID: nil, caller: nil), now: harness.now))
        harness.answer("tools/list", on: a, result: #"{"tools":[{"name":"add"}]}"#)
        harness.answer("tools/list", on: b, result: #"{"tools":[{"name":"add"},{"name":"only_b"}]}"#)
        XCTAssertEqual(harness.lastText(to: ExchangeID(5)), "add,only_b", "one of each name: the first target's")
        XCTAssertEqual(harness.federation.resolve("add", uri: false)?.target, "a")
        XCTAssertEqual(harness.federation.resolve("only_b", uri: false)?.target, "b")
        XCTAssertTrue(harness.logLines.contains("tool 'add' is offered by 'a' and 'b'; 'b''s is hidden (set prefix = \"always\" to keep both)"))
    }
}
