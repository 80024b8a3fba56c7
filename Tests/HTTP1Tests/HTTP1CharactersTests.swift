@testable import HTTP1
import XCTest

/// The word-at-a-time field-value check agrees with the byte-by-byte definition.
final class HTTP1CharactersTests: XCTestCase {
    func testEveryByteInEveryPositionOfAWord() {
        for byte in UInt8.min...UInt8.max {
            for length in [1, 7, 8, 9, 16, 23] {
                for position in 0..<length {
                    var bytes = [UInt8](repeating: UInt8(ascii: "a"), count: length)
                    bytes[position] = byte
                    let expected = HTTP1Characters.isFieldValue(byte)
                    XCTAssertEqual(bytes.withUnsafeBytes(HTTP1Characters.areFieldValue), expected, "byte \(byte) at \(position) of \(length)")
                }
            }
        }
    }

    func testRandomValuesAgreeWithTheDefinition() {
        var generator = SystemRandomNumberGenerator()
        let alphabet: [UInt8] = [0x00, 0x09, 0x0A, 0x0D, 0x1F, 0x20, 0x41, 0x7E, 0x7F, 0x80, 0xC3, 0xFF]
        for _ in 0..<5000 {
            let bytes = (0..<Int.random(in: 0...40, using: &generator)).map { _ in
                Bool.random(using: &generator) ? UInt8.random(in: 0x20...0x7E, using: &generator) : alphabet.randomElement(using: &generator)!
            }
            XCTAssertEqual(bytes.withUnsafeBytes(HTTP1Characters.areFieldValue), bytes.allSatisfy(HTTP1Characters.isFieldValue), "\(bytes)")
        }
    }
}
