import JSON
@testable import MCPCore
import XCTest

/// Sessions: bound to their caller, expiring, evicted, and letting go of everything they hold.
final class FederationSessionsTests: XCTestCase {
    private func harness(_ options: String = "") throws -> FederationHarness {
        var harness = try FederationHarness(Configs.stdio(["a"], options: options))
        harness.start()
        harness.handshake(ConnectionID(0))
        return harness
    }

    func testASessionIsItsCallersAndExpiresAfterItsTTL() throws {
        var harness = try harness(#""session_ttl_seconds":60,"#)
        let session = harness.session(caller: "jwt:alice")
        XCTAssertTrue(harness.federation.touchSession(session, caller: "jwt:alice", now: harness.now).alive)
        XCTAssertFalse(harness.federation.touchSession(session, caller: "jwt:bob", now: harness.now).alive, "another caller")
        XCTAssertFalse(harness.federation.deleteSession(session, caller: "jwt:bob", now: harness.now).deleted)
        XCTAssertFalse(harness.federation.touchSession(session, caller: "jwt:alice", now: harness.now + 61).alive, "expired")
        XCTAssertEqual(harness.federation.sessionCount, 0)
    }

    func testAnEndedSessionStopsItsProcessEndsItsStreamsAndRefusesWhatWasRelayed() throws {
        var harness = try harness()
        let session = harness.session()
        let owner = Owner(sessionID: session, caller: nil)
        XCTAssertTrue(harness.federation.openListener(ExchangeID(50), session: session).opened)
        harness.call("ask", on: "a", exchange: 1, owner: owner)
        harness.handshake(ConnectionID(1))
        let process = try XCTUnwrap(harness.processOf[ConnectionID(1)])
        harness.stdout(ConnectionID(1), #"{"jsonrpc":"2.0","id":"q","method":"elicitation/create","params":{}}"#)
        _ = harness.drain()
        let (deleted, actions) = harness.federation.deleteSession(session, caller: nil, now: harness.now)
        XCTAssertTrue(deleted)
        harness.take(actions)
        let done = harness.drain()
        XCTAssertTrue(done.contains { if case .deliver(ExchangeID(50), .endStream) = $0 { return true }; return false }, "the GET stream ends")
        XCTAssertTrue(done.contains { if case .terminate(process, _) = $0 { return true }; return false }, "the process stops")
        XCTAssertTrue(harness.lastText(to: ExchangeID(1))?.contains("the client session ended") ?? false, "the call fails")
        XCTAssertTrue(done.contains { action in
            guard case .write(_, _, let bytes, _) = action else { return false }
            return String(decoding: bytes, as: UTF8.self).contains(#""id":"q","error""#)
        }, "the relayed question is answered upstream with an error")
    }

    func testExpiredSessionsAreSweptAndTheirStreamsEnd() throws {
        var harness = try harness(#""session_ttl_seconds":4,"#)
        let session = harness.session()
        XCTAssertTrue(harness.federation.openListener(ExchangeID(7), session: session).opened)
        harness.advance(seconds: 3)
        XCTAssertFalse(harness.deliveries(to: ExchangeID(7)).contains { if case .endStream = $0 { return true }; return false })
        harness.advance(seconds: 2) // past the TTL; swept within a quarter of it
        XCTAssertTrue(harness.deliveries(to: ExchangeID(7)).contains { if case .endStream = $0 { return true }; return false })
    }

    func testTheLeastRecentlyUsedSessionIsEvictedAtCapacity() throws {
        var harness = try harness(#""max_sessions":2,"#)
        let first = harness.session()
        harness.now += 1
        let second = harness.session()
        XCTAssertTrue(harness.federation.openListener(ExchangeID(2), session: second).opened)
        harness.now += 1
        XCTAssertTrue(harness.federation.touchSession(first, caller: nil, now: harness.now).alive)
        _ = harness.session()
        XCTAssertFalse(harness.federation.touchSession(second, caller: nil, now: harness.now).alive)
        XCTAssertTrue(harness.deliveries(to: ExchangeID(2)).contains { if case .endStream = $0 { return true }; return false })
    }

    func testOpenGETStreamsGetHeartbeatsAndAFifthClosesTheOldest() throws {
        var harness = try harness(#""heartbeat_seconds":5,"#)
        let session = harness.session()
        for exchange in 1...5 { harness.take(harness.federation.openListener(ExchangeID(UInt64(exchange)), session: session).actions) }
        XCTAssertTrue(harness.deliveries(to: ExchangeID(1)).contains { if case .endStream = $0 { return true }; return false })
        harness.advance(seconds: 5)
        XCTAssertTrue(harness.deliveries(to: ExchangeID(5)).contains { if case .heartbeat = $0 { return true }; return false })
        XCTAssertFalse(harness.deliveries(to: ExchangeID(1)).contains { if case .heartbeat = $0 { return true }; return false })
    }

    func testMaxProcessesCapsClientsOwnChildren() throws {
        var harness = try FederationHarness(Configs.stdio(["a"]).replacingOccurrences(of: #""command":"server-a""#, with: #""command":"server-a","max_processes":1"#))
        harness.start()
        harness.handshake(ConnectionID(0))
        let one = harness.session(), two = harness.session()
        harness.call("x", on: "a", exchange: 1, owner: Owner(sessionID: one, caller: nil))
        harness.call("x", on: "a", exchange: 2, owner: Owner(sessionID: two, caller: nil))
        XCTAssertEqual(harness.lastText(to: ExchangeID(2)),
                       #"{"code":-32603,"message":"MCP server 'a' is unavailable: it has reached max_processes = 1 (one process per client); try again when a client's session ends, or raise max_processes"}"#)
        harness.take(harness.federation.deleteSession(one, caller: nil, now: harness.now).actions)
        harness.call("x", on: "a", exchange: 3, owner: Owner(sessionID: two, caller: nil))
        XCTAssertNotNil(harness.processOf[ConnectionID(2)], "the freed place is Bob's")
    }

    func testAStatelessCallersOwnProcessIdlesOut() throws {
        var harness = try harness(#""session_ttl_seconds":10,"#)
        let caller = Owner(sessionID: nil, caller: "api_key:ci")
        harness.call("x", on: "a", exchange: 1, owner: caller, style: .inputRequired)
        harness.handshake(ConnectionID(1))
        harness.answer("tools/call", on: ConnectionID(1), result: "{}")
        let process = try XCTUnwrap(harness.processOf[ConnectionID(1)])
        harness.advance(seconds: 11)
        XCTAssertTrue(harness.log.contains { if case .terminate(process, _) = $0 { return true }; return false })
    }
}
