import JSON
import MCPCore
import XCTest

final class ByteMatchingTests: XCTestCase {
    func testCaseInsensitiveMatching() {
        XCTAssertTrue(Array("Application/JSON, text/Event-Stream".utf8).containsIgnoringCase("text/event-stream"))
        XCTAssertTrue(Array("Text/Event-Stream; charset=utf-8".utf8).hasPrefixIgnoringCase("text/event-stream"))
        XCTAssertFalse(Array("application/jso".utf8).containsIgnoringCase("application/json"))
        XCTAssertFalse(Array("".utf8).containsIgnoringCase("*/*"))
        XCTAssertTrue("Application/JSON, text/Event-Stream".containsIgnoringCase("text/event-stream"))
        XCTAssertTrue("aApplication/jsoN".containsIgnoringCase("application/json"))  // a false start first
        XCTAssertTrue("TEXT/*, */*".containsIgnoringCase("*/*"))
        XCTAssertFalse("application/jso".containsIgnoringCase("application/json"))
        XCTAssertTrue("Text/Event-Stream; charset=utf-8".hasPrefixIgnoringCase("text/event-stream"))
        XCTAssertFalse(" text/event-stream".hasPrefixIgnoringCase("text/event-stream"))
        XCTAssertFalse("text/event-strea".hasPrefixIgnoringCase("text/event-stream"))
        // "@" and "`" differ only in the case bit but are not letters.
        XCTAssertFalse("text/event@stream".containsIgnoringCase("text/event`stream"))
    }

    func testExactMatching() {
        XCTAssertTrue(Array(#"{"params":{"_meta":{"traceparent":"00-…"}}}"#.utf8).contains("traceparent"))
        XCTAssertFalse(Array(#"{"params":{"_meta":{"TraceParent":"x"}}}"#.utf8).contains("traceparent"))
        XCTAssertFalse([UInt8]().contains("traceparent"))
        XCTAssertTrue(Array("traceparent".utf8).contains("traceparent"))
    }
}
