import JSON
import XCTest

/// `JSONText.writeQuoted` scans eight bytes at a time; every byte value at every offset around
/// the word boundaries must come out as the byte-by-byte rules say.
final class JSONTextQuotingTests: XCTestCase {
    private func reference(_ bytes: [UInt8]) -> [UInt8] {
        var out: [UInt8] = [UInt8(ascii: "\"")]
        for byte in bytes {
            switch byte {
            case UInt8(ascii: "\""): out += Array(#"\""#.utf8)
            case UInt8(ascii: "\\"): out += Array(#"\\"#.utf8)
            case UInt8(ascii: "\n"): out += Array(#"\n"#.utf8)
            case UInt8(ascii: "\r"): out += Array(#"\r"#.utf8)
            case UInt8(ascii: "\t"): out += Array(#"\t"#.utf8)
            case 0..<0x20: out += Array(String(format: "\\u%04x", byte).utf8)
            default: out.append(byte)
            }
        }
        return out + [UInt8(ascii: "\"")]
    }

    func testEveryByteAtEveryOffsetIsEscapedAsTheRulesSay() {
        for length in [1, 7, 8, 9, 15, 16, 17, 24] {
            for offset in 0..<length {
                for value in 0...255 {
                    var text = Array(repeating: UInt8(ascii: "a"), count: length)
                    text[offset] = UInt8(value)
                    var out: [UInt8] = []
                    text.withUnsafeBytes { JSONText.appendQuoted(bytes: $0, to: &out) }
                    XCTAssertEqual(out, reference(text), "byte \(value) at \(offset) of \(length)")
                }
            }
        }
    }

    func testBytesNextToAMatchAreNotMistaken() {
        // A borrow in the word arithmetic can flag the byte after a match; those are rechecked.
        let text: [UInt8] = [0x1F, 0x20, 0x21, 0x22, 0x23, 0x5B, 0x5C, 0x5D, 0x80, 0xFF, 0x00, 0x01, 0x7F, 0x22, 0x5C, 0x1F]
        var out: [UInt8] = []
        text.withUnsafeBytes { JSONText.appendQuoted(bytes: $0, to: &out) }
        XCTAssertEqual(out, reference(text))
    }
}
