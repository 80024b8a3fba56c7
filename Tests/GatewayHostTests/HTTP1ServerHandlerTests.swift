@testable import GatewayHost
import Logging
import NIOCore
import NIOEmbedded
import NIOHTTP1
import Synchronization
import XCTest

/// One HTTP/1.1 connection, set up by the listener's real pipeline on an `EmbeddedChannel`:
/// bytes in, bytes out. Routing misses, limits, pipelining, parse errors, `Expect`, closing.
final class HTTP1ServerHandlerTests: XCTestCase {
    let loop = EmbeddedEventLoop()
    var channel: EmbeddedChannel!
    var live: LiveRuntime!
    var services: HostServices!

    override func setUpWithError() throws { try setUp(timeouts: ListenerTimeouts()) }

    func setUp(timeouts: ListenerTimeouts) throws {
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        services = HostServices(group: loop, logger: logger)
        var limits = Limits()
        limits.maxRequestHeaderBytes = 200
        let routes = [
            try TestRoutes.route("plain", path: "/x", filters: [], limits: limits, loop: loop),
            try TestRoutes.route("paused", path: "/slow", filters: ["pause-on-timer"], limits: limits, loop: loop),
        ]
        let listener = try ListenerRuntime(config: ListenerConfig(name: "main", address: SocketAddressSpec(host: "127.0.0.1", port: 0), timeouts: timeouts))
        let runtime = GatewayRuntime(services: services, routes: routes, listeners: [listener], limits: limits)
        channel = EmbeddedChannel(loop: loop)
        live = LiveRuntime(runtime)
        try listener.configure(channel, live: live).wait()
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).wait()
    }

    override func tearDown() {
        _ = try? channel.finish(acceptAlreadyClosed: true)
    }

    /// Sends raw bytes; returns what the gateway wrote since the last call.
    @discardableResult
    private func send(_ text: String) throws -> String {
        try channel.writeInbound(ByteBuffer(string: text))
        return try written()
    }

    private func written() throws -> String {
        var out = ""
        while let data = try channel.readOutbound(as: IOData.self) {
            if case .byteBuffer(let buffer) = data { out += String(buffer: buffer) }
        }
        return out
    }

    private func post(_ path: String, _ body: String, headers: String = "") -> String {
        "POST \(path) HTTP/1.1\r\nhost: gw\r\ncontent-type: application/json\r\ncontent-length: \(body.utf8.count)\r\n\(headers)\r\n\(body)"
    }

    func testARequestForNoRouteGets404AndTheConnectionStaysOpen() throws {
        let out = try send("GET /nope HTTP/1.1\r\nhost: gw\r\n\r\n")
        XCTAssertTrue(out.hasPrefix("HTTP/1.1 404 Not Found\r\n"), out)
        XCTAssertTrue(out.hasSuffix("no route for GET /nope\n"), out)
        let next = try send(post("/x", "{}"))
        XCTAssertTrue(next.contains("\r\n2 bytes\n"), next)
        XCTAssertTrue(channel.isActive)
    }

    func testHeadersOverTheLimitGet431() throws {
        let out = try send("GET /x HTTP/1.1\r\nhost: gw\r\nx-big: \(String(repeating: "a", count: 300))\r\n\r\n")
        XCTAssertTrue(out.hasPrefix("HTTP/1.1 431 Request Header Fields Too Large\r\n"), out)
        XCTAssertTrue(out.contains("max_request_header_bytes = 200"), out)
        XCTAssertTrue(out.contains("connection: close\r\n"), out)
        XCTAssertFalse(channel.isActive, "a refused head closes the connection")
    }

    func testPipelinedRequestsAreAnsweredInOrder() throws {
        let out = try send(post("/slow", "{\"first\":1}") + post("/x", "{}"))
        XCTAssertEqual(out, "", "the first is paused; the second waits behind it")
        loop.advanceTime(by: .milliseconds(50))
        let answers = try written()
        let first = try XCTUnwrap(answers.range(of: "11 bytes\n"))
        let second = try XCTUnwrap(answers.range(of: "2 bytes\n"))
        XCTAssertLessThan(first.lowerBound, second.lowerBound, answers)
    }

    func testTheHandlersHeaderHookAnswersWithoutWaitingForTheBody() throws {
        let out = try send("POST /x HTTP/1.1\r\nhost: gw\r\ncontent-type: text/plain\r\ncontent-length: 1000000\r\n\r\n")
        XCTAssertTrue(out.hasPrefix("HTTP/1.1 415 Unsupported Media Type\r\n"), out)
    }

    func testAMalformedRequestGets400AndTheConnectionCloses() throws {
        let out = try send("GET /x HTTP/1.1\r\nhost gw\r\n\r\n")
        XCTAssertTrue(out.hasPrefix("HTTP/1.1 400 Bad Request\r\n"), out)
        XCTAssertTrue(out.lowercased().contains("connection: close"), out)
        XCTAssertFalse(channel.isActive)
    }

    func testAResponseThatSaysConnectionCloseClosesTheConnectionAfterIt() throws {
        let out = try send(post("/x", "{}", headers: "x-close: 1\r\n"))
        XCTAssertTrue(out.lowercased().contains("connection: close"), out)
        XCTAssertTrue(out.contains("\r\n2 bytes\n"), out)
        XCTAssertFalse(channel.isActive)
    }

    func testExpect100ContinueIsAnsweredBeforeTheBodyAndOtherExpectationsGet417() throws {
        let head = try send("POST /x HTTP/1.1\r\nhost: gw\r\ncontent-type: application/json\r\ncontent-length: 2\r\nexpect: 100-continue\r\n\r\n")
        XCTAssertEqual(head, "HTTP/1.1 100 Continue\r\n\r\n")
        XCTAssertTrue(try send("{}").contains("\r\n2 bytes\n"))
        let refused = try send("GET /x HTTP/1.1\r\nhost: gw\r\nexpect: something\r\n\r\n")
        XCTAssertTrue(refused.hasPrefix("HTTP/1.1 417 Expectation Failed\r\n"), refused)
    }

    func testALongTargetGets414AndSmugglingShapesGet400() throws {
        let long = try send("GET /\(String(repeating: "a", count: 9000)) HTTP/1.1\r\nhost: gw\r\n\r\n")
        XCTAssertTrue(long.hasPrefix("HTTP/1.1 414 URI Too Long\r\n"), long)
        XCTAssertTrue(long.contains("max_request_line_bytes = 8192"), long)
        XCTAssertFalse(channel.isActive)
        try setUpWithError()
        let smuggled = try send("POST /x HTTP/1.1\r\nhost: gw\r\ncontent-length: 4\r\ntransfer-encoding: chunked\r\n\r\n0\r\n\r\n")
        XCTAssertTrue(smuggled.hasPrefix("HTTP/1.1 400 Bad Request\r\n"), smuggled)
        XCTAssertTrue(smuggled.contains("both Transfer-Encoding and Content-Length"), smuggled)
        XCTAssertFalse(channel.isActive)
    }

    func testAChunkedRequestBodyIsReadAndAPipelinedRequestAfterItIsServed() throws {
        let chunked = "POST /x HTTP/1.1\r\nhost: gw\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n"
            + "3\r\n{\"a\r\n4\r\n\":1}\r\n0\r\n\r\n"
        let out = try send(chunked + post("/x", "{}"))
        let first = try XCTUnwrap(out.range(of: "\r\n7 bytes\n"), out)
        let second = try XCTUnwrap(out.range(of: "\r\n2 bytes\n"), out)
        XCTAssertLessThan(first.lowerBound, second.lowerBound)
    }

    func testASlowHeadGets408AndAnIdleConnectionIsClosed() throws {
        XCTAssertEqual(try send("GET /x HTTP/1.1\r\nhost: g"), "")
        loop.advanceTime(by: .seconds(14))
        XCTAssertEqual(try send("w\r\nx-slow: 1"), "", "bytes that do not end the head do not extend its deadline")
        loop.advanceTime(by: .seconds(2))
        let out = try written()
        XCTAssertTrue(out.hasPrefix("HTTP/1.1 408 Request Timeout\r\n"), out)
        XCTAssertFalse(channel.isActive)

        try setUpWithError()
        XCTAssertTrue(try send(post("/x", "{}")).contains("\r\n2 bytes\n"))
        loop.advanceTime(by: .seconds(59))
        XCTAssertTrue(channel.isActive, "kept alive within idle_timeout_ms")
        XCTAssertTrue(try send(post("/x", "{}")).contains("\r\n2 bytes\n"), "a request resets the idle time")
        loop.advanceTime(by: .seconds(61))
        XCTAssertEqual(try written(), "", "an idle connection is closed without a word")
        XCTAssertFalse(channel.isActive)
    }

    func testAStalledBodyGets408() throws {
        XCTAssertEqual(try send("POST /x HTTP/1.1\r\nhost: gw\r\ncontent-type: application/json\r\ncontent-length: 10\r\n\r\n{\"a\""), "")
        loop.advanceTime(by: .seconds(20))
        XCTAssertEqual(try send(":"), "", "each read of the body resets its timer")
        loop.advanceTime(by: .seconds(20))
        XCTAssertTrue(channel.isActive)
        loop.advanceTime(by: .seconds(11))
        let out = try written()
        XCTAssertTrue(out.hasPrefix("HTTP/1.1 408 Request Timeout\r\n"), out)
        XCTAssertTrue(out.contains("request body"), out)
        XCTAssertFalse(channel.isActive)
    }

    func testAResponseInProgressHasNoDeadline() throws {
        var short = ListenerTimeouts()
        (short.requestHeadMilliseconds, short.requestBodyMilliseconds, short.idleMilliseconds) = (10, 10, 10)
        try setUp(timeouts: short)
        XCTAssertEqual(try send(post("/slow", "{}")), "")
        // The paused filter answers after 50 ms, five times every timeout: a response in progress
        // (an SSE stream could last hours) is not the client's delay.
        loop.advanceTime(by: .milliseconds(50))
        XCTAssertTrue(try written().contains("\r\n2 bytes\n"))
        loop.advanceTime(by: .milliseconds(20))
        XCTAssertFalse(channel.isActive, "then idle for 10 ms: closed")
    }

    func testQuiescingClosesAnIdleConnectionAtOnce() throws {
        _ = try send(post("/x", "{}"))
        XCTAssertTrue(channel.isActive)
        channel.pipeline.fireUserInboundEventTriggered(ChannelShouldQuiesceEvent())
        XCTAssertFalse(channel.isActive)
    }

    func testQuiescingEndsABusyConnectionAfterItsResponse() throws {
        XCTAssertEqual(try send(post("/slow", "{}")), "")
        channel.pipeline.fireUserInboundEventTriggered(ChannelShouldQuiesceEvent())
        XCTAssertTrue(channel.isActive, "busy: the response in flight finishes first")
        loop.advanceTime(by: .milliseconds(50))
        let out = try written()
        XCTAssertTrue(out.lowercased().contains("connection: close"), out)
        XCTAssertTrue(out.contains("\r\n2 bytes\n"), out)
        XCTAssertFalse(channel.isActive)
    }

    func testAReloadServesNewRequestsWithTheNewGenerationWhileTheOneInFlightFinishesOnItsOwn() throws {
        XCTAssertEqual(try send(post("/slow", "{}")), "", "paused on generation 1")
        let old = live.runtime
        let next = GatewayRuntime(services: services, routes: [try TestRoutes.route("new", path: "/y", filters: [], loop: loop)],
                                  listeners: old.listeners)
        let drained = Mutex(0)
        live.replace(with: next) { retired in drained.withLock { $0 += 1 }; XCTAssertTrue(retired === old) }
        XCTAssertEqual(drained.withLock { $0 }, 0, "a request is still in flight on generation 1")
        XCTAssertEqual(live.requestsInFlight, 1)
        loop.advanceTime(by: .milliseconds(50))
        XCTAssertTrue(try written().contains("\r\n2 bytes\n"), "answered by generation 1's route")
        XCTAssertEqual(drained.withLock { $0 }, 1, "its last request over, generation 1 drained once")
        XCTAssertTrue(try send(post("/slow", "{}")).hasPrefix("HTTP/1.1 404"), "the same connection's next request: generation 2")
        XCTAssertTrue(try send(post("/y", "{}")).contains("\r\n2 bytes\n"))
        XCTAssertEqual(live.requestsInFlight, 0)
    }
}
