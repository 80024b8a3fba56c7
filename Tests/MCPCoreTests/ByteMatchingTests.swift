import JSON
import MCPCore
import XCTest

final class ByteMatchingTests: XCTestCase {
    func testCaseInsensitiveMatching() {
        XCTAssertTrue(Array("Application/JSON, text/Event-Stream".utf8).containsIgnoringCase("text/event-stream"))
        XCTAssertTrue(Array("Text/Event-Stream; charset=utf-8".utf8).hasPrefixIgnoringCase("text/event-stream"))
        XCTAssertFalse(Array("application/jso".utf8).containsIgnoringCase("application/json"))
        XCTAssertFalse(Array("".utf8).containsIgnoringCase("*/*"))
    }

    func testExactMatching() {
        XCTAssertTrue(Array(#"{"params":{"_meta":{"traceparent":"00-…"}}}"#.utf8).contains("traceparent"))
        XCTAssertFalse(Array(#"{"params":{"_meta":{"TraceParent":"x"}}}"#.utf8).contains("traceparent"))
        XCTAssertFalse([UInt8]().contains("traceparent"))
        XCTAssertTrue(Array("traceparent".utf8).contains("traceparent"))
    }
}
