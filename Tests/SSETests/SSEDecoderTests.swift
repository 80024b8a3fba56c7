import SSE
import XCTest

final class SSEDecoderTests: XCTestCase {
    func testEventsSplitAcrossChunksAndLineEndings() throws {
        var decoder = SSEDecoder()
        var events = try decoder.feed(Array("event: endpoint\r\ndata: /messages?s=1\r".utf8))
        XCTAssertEqual(events, [])
        events = try decoder.feed(Array("\n\r\n: comment\ndata: {\"a\":\ndata: 1}\n\nid: 7\ndata: x\n".utf8))
        XCTAssertEqual(events.map(\.event), ["endpoint", "message"])
        XCTAssertEqual(String(decoding: events[0].data, as: UTF8.self), "/messages?s=1")
        XCTAssertEqual(String(decoding: events[1].data, as: UTF8.self), "{\"a\":\n1}")
        events = try decoder.feed(Array("\n".utf8))
        XCTAssertEqual(events.first?.id, "7")
    }

    func testRefusesOversizedEvents() {
        var decoder = SSEDecoder(maxEventBytes: 16)
        XCTAssertThrowsError(try decoder.feed(Array("data: 0123456789abcdefghij\n\n".utf8)))
    }
}
