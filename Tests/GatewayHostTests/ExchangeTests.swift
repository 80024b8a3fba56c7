@testable import GatewayHost
import Logging
import NIOCore
import NIOEmbedded
import NIOHTTP1
import XCTest

/// The exchange drives a route's chain against real filters in Swift (through the host's real
/// `agw_host_api` table) and writes to a recording responder: replies, pauses and resumes, the
/// handler's header hook before the body, limits, plugin bugs. No socket.
final class ExchangeTests: XCTestCase {
    let loop = EmbeddedEventLoop()
    lazy var services: HostServices = {
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        return HostServices(group: loop, logger: logger)
    }()

    private func exchange(_ route: Route, method: HTTPMethod = .POST, headers: [(String, String)] = [],
                          responder: RecordingResponder) -> Exchange {
        let head = RequestHead(method: method, uri: route.match.path ?? "/", headers: RequestFields(headers))
        let connection = ConnectionInfo(listenerName: "main", peerAddress: "127.0.0.1:1", isTLS: false, httpVersion: "HTTP/1.1")
        return Exchange(id: 1, route: route, head: head, connection: connection, eventLoop: loop, services: services, responder: responder)
    }

    func testTheHandlerAnswersAndAFilterStampsTheResponseOnItsWayOut() throws {
        let route = try TestRoutes.route("r", path: "/x", filters: ["deny-or-stamp"], loop: loop)
        let responder = RecordingResponder()
        let exchange = exchange(route, headers: [("content-type", "application/json")], responder: responder)
        exchange.start(endOfStream: false)
        exchange.receiveRequestBody(ByteBuffer(string: "{\"a\":"))
        exchange.receiveRequestBody(ByteBuffer(string: "1}"))
        XCTAssertNil(responder.head, "the handler's body hook waits for the whole body")
        exchange.receiveRequestEnd()
        XCTAssertEqual(responder.status, 200)
        XCTAssertEqual(responder.text, "7 bytes\n")
        XCTAssertEqual(responder.head?.headers["x-seen-by"], ["deny-or-stamp"])
        XCTAssertTrue(responder.ended)
        XCTAssertEqual(responder.finished, 1)
    }

    func testAFilterReplyEndsTheChainBeforeTheHandler() throws {
        let route = try TestRoutes.route("r", path: "/x", filters: ["deny-or-stamp"], loop: loop)
        let responder = RecordingResponder()
        let exchange = exchange(route, headers: [("x-deny", "1"), ("content-type", "text/plain")], responder: responder)
        exchange.start(endOfStream: false)
        XCTAssertEqual(responder.status, 403, "not the handler's 415: it never ran")
        XCTAssertEqual(responder.text, "denied\n")
        XCTAssertNil(responder.head?.headers.first(name: "x-seen-by"), "a local reply skips response hooks")
        exchange.receiveRequestBody(ByteBuffer(string: "ignored"))
        exchange.receiveRequestEnd()
        XCTAssertEqual(responder.text, "denied\n")
        XCTAssertEqual(responder.finished, 1)
    }

    func testTheHandlersHeaderHookAnswersBeforeAnyBodyArrives() throws {
        let route = try TestRoutes.route("r", path: "/x", filters: [], loop: loop)
        let responder = RecordingResponder()
        let exchange = exchange(route, headers: [("content-type", "text/plain")], responder: responder)
        exchange.start(endOfStream: false)
        XCTAssertEqual(responder.status, 415)
        XCTAssertTrue(responder.ended)
        XCTAssertNil(exchange.requestBody)
        exchange.receiveRequestBody(ByteBuffer(repeating: 0x41, count: 4096))
        XCTAssertNil(exchange.requestBody, "a body that comes after the reply is not kept")
    }

    func testAStopPausesTheChainUntilTheFilterResumesFromItsTimer() throws {
        let route = try TestRoutes.route("r", path: "/x", filters: ["pause-on-timer", "deny-or-stamp"], loop: loop)
        let responder = RecordingResponder()
        let exchange = exchange(route, headers: [("x-deny", "1")], responder: responder)
        exchange.start(endOfStream: true)
        loop.advanceTime(by: .milliseconds(49))
        XCTAssertNil(responder.head, "paused: the next filter has not run")
        loop.advanceTime(by: .milliseconds(1))
        XCTAssertEqual(responder.status, 403, "resumed: the next filter ran")
        XCTAssertEqual(responder.finished, 1)
    }

    func testABodyOverTheLimitGets413() throws {
        var limits = Limits()
        limits.maxRequestBodyBytes = 10
        let route = try TestRoutes.route("r", path: "/x", filters: [], limits: limits, loop: loop)
        let responder = RecordingResponder()
        let exchange = exchange(route, responder: responder)
        exchange.start(endOfStream: false)
        exchange.receiveRequestBody(ByteBuffer(string: "0123456789"))
        XCTAssertNil(responder.head)
        exchange.receiveRequestBody(ByteBuffer(string: "!"))
        XCTAssertEqual(responder.status, 413)
        XCTAssertEqual(responder.text, "request body exceeds max_request_body_bytes (10)\n")
    }

    func testRepliedWithoutAReplyIsA500NamingTheFilter() throws {
        let route = try TestRoutes.route("r", path: "/x", filters: ["replies-without-reply"], loop: loop)
        let responder = RecordingResponder()
        let exchange = exchange(route, responder: responder)
        exchange.start(endOfStream: true)
        XCTAssertEqual(responder.status, 500)
        XCTAssertTrue(responder.text.contains("filter 'r/replies-without-reply' returned REPLIED without sending a reply"), responder.text)
        XCTAssertEqual(responder.finished, 1)
    }

    func testAnAbortedExchangeWritesNothingMoreAndItsTimerIsCancelled() throws {
        let route = try TestRoutes.route("r", path: "/x", filters: ["pause-on-timer", "deny-or-stamp"], loop: loop)
        let responder = RecordingResponder()
        let exchange = exchange(route, headers: [("x-deny", "1")], responder: responder)
        exchange.start(endOfStream: true)
        exchange.abort()
        loop.advanceTime(by: .seconds(1))
        XCTAssertNil(responder.head)
        XCTAssertEqual(responder.finished, 1)
    }

    /// Streamed responses are recognized by `Content-Type` prefix and `X-Accel-Buffering: no`, in
    /// any case.
    func testStreamedContentTypesMatchByPrefixInAnyCase() {
        XCTAssertTrue(Exchange.value("Text/Event-Stream; charset=utf-8", hasLowercasePrefix: "text/event-stream"))
        XCTAssertTrue(Exchange.value("NO", hasLowercasePrefix: "no"))
        XCTAssertFalse(Exchange.value("text/event", hasLowercasePrefix: "text/event-stream"))
        XCTAssertFalse(Exchange.value("application/json", hasLowercasePrefix: "text/event-stream"))
        XCTAssertFalse(Exchange.value("text/event@stream", hasLowercasePrefix: "text/event`stream"))
    }
}
