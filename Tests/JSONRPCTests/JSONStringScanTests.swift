import Foundation
import JSON
import XCTest

/// The string scan skips 64, 16 and 8 bytes at a time: a quote, backslash or control character at
/// every offset around those strides must still be seen, as Foundation's parser sees it.
final class JSONStringScanTests: XCTestCase {
    func testEverySpecialByteIsSeenAtEveryOffset() throws {
        for length in [0, 1, 7, 8, 9, 15, 16, 17, 63, 64, 65, 127, 128, 130] {
            for offset in stride(from: 0, to: max(length, 1), by: 1) {
                for special in [#"\""#, #"\\"#, "\\u0041", "\u{01}", "\""] {
                    var text = String(repeating: "x", count: length)
                    if length > 0 {
                        let at = text.index(text.startIndex, offsetBy: offset)
                        text.replaceSubrange(at...at, with: special)
                    }
                    let json = Array("{\"a\":\"\(text)\",\"b\":1}".utf8)
                    let ours = try? JSONValue.validated(json)
                    let theirs = try? JSONSerialization.jsonObject(with: Data(json))
                    XCTAssertEqual(ours != nil, theirs != nil, "length \(length), offset \(offset), \(special.debugDescription)")
                    if let ours, let theirs = theirs as? [String: Any] {
                        XCTAssertEqual(ours["a"]?.string, theirs["a"] as? String, "length \(length), offset \(offset)")
                        XCTAssertEqual(ours["b"]?.int, 1)
                    }
                }
            }
        }
    }
}
