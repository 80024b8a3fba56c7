import PluginKit
import PluginKitTesting
import XCTest

/// A filter written in the test, run in the fake host: the host services a filter uses most,
/// through the real C table.
private struct Lookup: Filter {
    static let name = "lookup"
    let url: String
    init(configuration: FilterConfiguration) throws {
        var table = try ConfigTableReader(json: configuration.json)
        guard let url = try table.string("url") else { throw FilterConfiguration.Invalid("'url' is required") }
        self.url = url
        try table.finish()
    }

    func requestHeaders(_ stream: FilterStream, endOfStream: Bool) -> FilterStatus {
        if stream.header("x-block") != nil {
            stream.sendLocalReply(status: 403, body: "blocked\n")
            return .replied
        }
        _ = stream.scope.httpCall(url: url, headers: [("x-for", stream.attribute(.path) ?? "")])
        _ = stream.scope.startTimer(milliseconds: 500)
        stream.log(.info, "looking up \(url)")
        return .stop
    }

    func event(_ event: PluginEvent, stream: FilterStream) {
        switch event.kind {
        case .httpResponse:
            stream.setHeader("x-lookup", event.text)
            stream.resume()
        case .timer:
            stream.sendLocalReply(status: 504, body: "lookup timed out\n")
        default:
            break
        }
    }
}

/// Keeps every event it gets, and what it read of each body while the callback ran.
private final class Keeper: Filter, @unchecked Sendable {
    static let name = "keeper"
    var kept: [PluginEvent] = []
    var readInCallback: [[UInt8]] = []
    init(configuration: FilterConfiguration) throws {}

    func requestHeaders(_ stream: FilterStream, endOfStream: Bool) -> FilterStatus {
        _ = stream.scope.httpCall(url: "http://big/x", streamBody: true)
        return .stop
    }

    func event(_ event: PluginEvent, stream: FilterStream) {
        readInCallback.append(event.withUnsafeData { Array($0) })
        kept.append(event)
        guard event.endOfStream else { return }
        // Read after the callbacks that delivered them (the host reused that memory since).
        let later = kept.map { String(decoding: $0.data, as: UTF8.self) + "(\($0.dataCount))" }.joined()
        let then = readInCallback.map { String(decoding: $0, as: UTF8.self) }.joined()
        stream.sendLocalReply(status: 200, body: later + "|" + then)
    }
}

/// Rejects every message it is handed, and says it wants client requests only.
private struct RequestsOnly: RPCFilter {
    static let name = "requests-only"
    init(configuration: FilterConfiguration) throws {}

    func wantsRPCMessage(kind: RPCMessage.Kind, fromClient: Bool) -> Bool { fromClient && kind == .request }

    func rpcMessage(_ message: RPCMessage, stream: FilterStream) -> FilterStatus {
        stream.rejectRPC(code: -32001, message: "no")
        return .replied
    }
}

/// Implements the response hooks but leaves them out of ``Filter/implementedHooks``.
private struct RequestOnly: Filter {
    static let name = "request-only"
    static let implementedHooks: FilterHooks = []
    init(configuration: FilterConfiguration) throws {}

    func responseHeaders(_ stream: FilterStream, endOfStream: Bool) -> FilterStatus {
        stream.sendLocalReply(status: 500, body: "never called\n")
        return .replied
    }
}

final class FakeHostTests: XCTestCase {
    func testAFilterPausesForItsHTTPCallAndResumesWithTheAnswer() throws {
        let host = FakeHost()
        let filter = try host.configure(Lookup.self, config: #"{"url":"http://lookup/x"}"#)
        let stream = host.stream(filter, path: "/items/7")
        XCTAssertEqual(stream.runRequestHeaders(), .stop)
        let call = try XCTUnwrap(host.httpCall(to: "http://lookup/x"))
        XCTAssertEqual(call.header("x-for"), "/items/7")
        call.respond(status: 200, text: "found")
        XCTAssertEqual(stream.resumeCount, 1)
        XCTAssertEqual(stream.requestHeaders.first { $0.name == "x-lookup" }?.value, "found")
        XCTAssertEqual(host.logs.last?.message, "looking up http://lookup/x")
    }

    func testTimersFireWhenTheClockMovesAndAClosedStreamGetsNothing() throws {
        let host = FakeHost()
        let filter = try host.configure(Lookup.self, config: #"{"url":"http://lookup/x"}"#)
        let slow = host.stream(filter)
        _ = slow.runRequestHeaders()
        host.advance(milliseconds: 499)
        XCTAssertNil(slow.localReply)
        host.advance(milliseconds: 1)
        XCTAssertEqual(slow.localReply?.status, 504)
        let gone = host.stream(filter)
        _ = gone.runRequestHeaders()
        gone.complete()
        host.advance(milliseconds: 1000)
        XCTAssertNil(gone.localReply, "the stream's timers went with it")
    }

    func testABodyChunkIsReadInPlaceAndAKeptEventKeepsItsBytes() throws {
        let host = FakeHost()
        let filter = try host.configure(Keeper.self, config: "{}")
        let stream = host.stream(filter)
        XCTAssertEqual(stream.runRequestHeaders(), .stop)
        let call = try XCTUnwrap(host.httpCall(to: "http://big/x"))
        let large = String((0..<10_000).map { Character(Unicode.Scalar(UInt8(65 + $0 % 26))) })
        call.respondHead(status: 200)
        call.send(Array(large.utf8)) // over the size copied up front: lent, read in place
        call.send(Array("short".utf8), end: true)
        // The fake host overwrites an event's memory after its callback, as the real one reuses it.
        XCTAssertEqual(stream.localReply?.body, "(0)\(large)(10000)short(5)|\(large)short")
    }

    func testARefusedConfigSaysWhy() {
        let host = FakeHost()
        XCTAssertThrowsError(try host.configure(Lookup.self, config: #"{"url":"x","extra":1}"#)) { error in
            XCTAssertEqual("\(error)", "unknown key 'extra'")
        }
    }

    func testALocalReplyStopsTheChain() throws {
        let host = FakeHost()
        let filter = try host.configure(Lookup.self, config: #"{"url":"http://lookup/x"}"#)
        let stream = host.stream([filter, filter], headers: [("x-block", "1")])
        XCTAssertEqual(stream.runRequestHeaders(), .replied)
        XCTAssertEqual(stream.localReply?.status, 403)
        XCTAssertTrue(host.httpCalls.isEmpty)
    }

    /// A message the filter says it does not want passes without reaching `rpcMessage` (which
    /// would reject it).
    func testAnRPCFilterIsHandedOnlyTheMessagesItWants() throws {
        let host = FakeHost()
        let filter = try host.configure(RequestsOnly.self)
        let stream = host.stream(filter, method: "POST", path: "/mcp")
        XCTAssertEqual(stream.publish(method: "notifications/initialized", kind: .notification).decision, .allow)
        XCTAssertEqual(stream.publish(method: "tools/list", target: "echo", kind: .listItem).decision, .allow)
        let verdict = stream.publish(method: "tools/call", target: "echo")
        XCTAssertEqual(verdict.decision, .reject)
        XCTAssertEqual(verdict.code, -32001)
    }

    /// A hook left out of `implementedHooks` is not in the filter's table: the gateway never
    /// calls it (and pays no crossing for it).
    func testAHookLeftOutOfImplementedHooksIsNeverCalled() throws {
        let host = FakeHost()
        let filter = try host.configure(RequestOnly.self)
        let stream = host.stream(filter, method: "GET", path: "/")
        XCTAssertEqual(stream.runRequestHeaders(), .continue)
        XCTAssertNil(stream.runResponseHeaders(status: 200), "no filter has the hook")
        XCTAssertNil(stream.localReply)
    }
}
