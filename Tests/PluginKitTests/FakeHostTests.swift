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
}
