import ABIInterop
import PluginABI
import XCTest
@testable import PluginKit

/// An `http_call` response event as a plugin reads it: its headers by name in any case, in
/// order, and its body, the same whether read during the callback or kept after it.
final class PluginEventTests: XCTestCase {
    private func event(headers: [(String, String)], body: String) -> PluginEvent {
        Array(body.utf8).withUnsafeBytes { body in
            headers.withAGWHeaders { pointer, count in
                var raw = agw_event()
                raw.struct_size = UInt32(MemoryLayout<agw_event>.size)
                raw.type = AGW_EVENT_HTTP_RESPONSE
                raw.id = 7
                raw.code = 200
                raw.end_of_stream = 1
                raw.headers = pointer
                raw.header_count = count
                raw.data = agw_str(ptr: body.baseAddress?.assumingMemoryBound(to: CChar.self), len: body.count)
                var event = withUnsafePointer(to: raw) { PluginEvent($0) }
                event.callbackReturned() // kept past the callback: what it holds must be its own
                return event
            }
        }
    }

    func testHeadersAreReadByNameInAnyCaseAndInOrder() {
        let long = String(repeating: "v", count: 70_000)
        let kept = event(headers: [("Content-Type", "application/json"), ("mcp-session-id", "s-1"), ("X-Empty", ""), ("x-long", long),
                                   ("content-type", "second")], body: "{\"ok\":true}")
        XCTAssertEqual(kept.header("content-type"), "application/json", "the first of two")
        XCTAssertEqual(kept.header("MCP-SESSION-ID"), "s-1")
        XCTAssertEqual(kept.header("x-empty"), "")
        XCTAssertEqual(kept.header("x-long"), long)
        XCTAssertNil(kept.header("content-length"))
        XCTAssertNil(kept.header("content-typ"), "a prefix is not the name")
        XCTAssertEqual(kept.headers.map(\.name), ["Content-Type", "mcp-session-id", "X-Empty", "x-long", "content-type"])
        XCTAssertEqual(kept.headers.last?.value, "second")
        XCTAssertEqual(kept.text, "{\"ok\":true}")
        XCTAssertEqual(kept.code, 200)
        let none = event(headers: [], body: "")
        XCTAssertNil(none.header("content-type"))
        XCTAssertTrue(none.headers.isEmpty)
    }
}
