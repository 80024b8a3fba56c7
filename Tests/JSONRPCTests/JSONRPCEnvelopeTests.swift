import Foundation
import XCTest
@testable import JSON
import JSONRPC

final class JSONRPCEnvelopeTests: XCTestCase {
    private func scan(_ text: String) throws(JSONRPCScanError) -> (JSONRPCEnvelope, [UInt8]) {
        let bytes = Array(text.utf8)
        return (try JSONRPCEnvelope.scan(bytes), bytes)
    }

    private func slice(_ bytes: [UInt8], _ range: Range<Int>?) -> String? {
        range.map { String(decoding: bytes[$0], as: UTF8.self) }
    }

    func testRequestFieldsAndRangesIntoTheOriginalBytes() throws {
        let text = #"{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"echo","arguments":{"text":"hi"}}}"#
        let (message, bytes) = try scan(text)
        XCTAssertEqual(message.kind, .request)
        XCTAssertEqual(message.method, "tools/call")
        XCTAssertEqual(slice(bytes, message.id), "7")
        XCTAssertEqual(slice(bytes, message.params), #"{"name":"echo","arguments":{"text":"hi"}}"#)
        let name = bytes.withUnsafeBytes { JSONObjectFields.string("name", in: message.params!, of: $0) }
        XCTAssertEqual(name, "echo")
        let arguments = bytes.withUnsafeBytes { JSONObjectFields.value("arguments", in: message.params!, of: $0) }
        XCTAssertEqual(slice(bytes, arguments), #"{"text":"hi"}"#)
    }

    func testAnIDIsWrittenAsTheTelemetryConventionsWriteIt() {
        XCTAssertEqual(JSONRPCEnvelope.idText(#""c1""#), "c1")
        XCTAssertEqual(JSONRPCEnvelope.idText(#""a\"b""#), "a\"b")
        XCTAssertEqual(JSONRPCEnvelope.idText("42"), "42")
    }

    func testKinds() throws {
        XCTAssertEqual(try scan(#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#).0.kind, .notification)
        XCTAssertEqual(try scan(#"{"jsonrpc":"2.0","id":"a","result":{}}"#).0.kind, .result)
        XCTAssertEqual(try scan(#"{"jsonrpc":"2.0","id":null,"error":{"code":-32700,"message":"x"}}"#).0.kind, .error)
        XCTAssertEqual(try scan(#" { "id" : "x" , "method" : "ping" , "jsonrpc" : "2.0" } "#).0.kind, .request)
    }

    func testEscapedStringsDecode() throws {
        let (message, bytes) = try scan(#"{"jsonrpc":"2.0","id":1,"method":"tools\/call","params":{"name":"caf\u00e9 \ud83d\ude00 \"q\""}}"#)
        XCTAssertEqual(message.method, "tools/call")
        let name = bytes.withUnsafeBytes { JSONObjectFields.string("name", in: message.params!, of: $0) }
        XCTAssertEqual(name, "café 😀 \"q\"")
    }

    func testMalformedJSONIsAParseError() {
        let cases = [
            "", "{", #"{"jsonrpc":"2.0","id":1,"method":"x""#, #"{"jsonrpc":"2.0" "id":1}"#, #"{"a":01}"#, #"{"a":1.}"#,
            #"{"a":-}"#, #"{"a":tru}"#, "{\"a\":\"\u{01}\"}", #"{"a":"\x"}"#, #"{"a":"\u12"}"#, #"{"a":[1,]}"#, #"{"a":1}x"#,
            #"{a:1}"#, String(repeating: "[", count: 200) + String(repeating: "]", count: 200),
        ]
        for text in cases {
            XCTAssertThrowsError(try scan(text), text) { error in
                XCTAssertEqual((error as? JSONRPCScanError)?.code, -32700, "\(text): \(error)")
            }
        }
    }

    func testValidJSONThatIsNotAMessageIsAnInvalidRequest() {
        let cases: [(String, JSONRPCScanError)] = [
            (#"{"id":1,"method":"x"}"#, .notAMessage("\"jsonrpc\" must be \"2.0\"")),
            (#"{"jsonrpc":"1.0","id":1,"method":"x"}"#, .notAMessage("\"jsonrpc\" must be \"2.0\"")),
            (#"{"jsonrpc":"2.0","id":1,"method":5}"#, .notAMessage("\"method\" must be a string")),
            (#"{"jsonrpc":"2.0","id":{},"method":"x"}"#, .notAMessage("\"id\" must be a string or a number")),
            (#"{"jsonrpc":"2.0","id":1,"method":"x","params":3}"#, .notAMessage("\"params\" must be an object or an array")),
            (#"{"jsonrpc":"2.0","id":1}"#, .notAMessage("a message has a method, a result or an error (exactly one)")),
            (#"{"jsonrpc":"2.0","method":"x","result":{}}"#, .notAMessage("a message has a method, a result or an error (exactly one)")),
            (#"[{"jsonrpc":"2.0","id":1,"method":"x"}]"#, .batch),
            (#""just a string""#, .notAMessage("a JSON-RPC message must be an object")),
        ]
        for (text, expected) in cases {
            XCTAssertThrowsError(try scan(text), text) { error in
                XCTAssertEqual(error as? JSONRPCScanError, expected, text)
                XCTAssertEqual((error as? JSONRPCScanError)?.code, -32600)
            }
        }
    }

    /// Whatever Foundation accepts as a JSON object with the message shape, the scanner accepts and
    /// reads the same method and params; whatever Foundation rejects, the scanner rejects.
    func testAgreesWithFoundationOnGeneratedDocuments() throws {
        var generator = SystemRandomNumberGenerator()
        let atoms = ["1", "-0.5e3", "true", "null", #""s""#, #""\u00e9\n""#, "[]", "{}", #"[1,"a",{"k":[null]}]"#]
        for _ in 0..<500 {
            var params = "{"
            for index in 0..<Int.random(in: 0...4, using: &generator) {
                params += (index > 0 ? "," : "") + "\"k\(index)\":" + atoms.randomElement(using: &generator)!
            }
            params += "}"
            var text = #"{"jsonrpc":"2.0","id":3,"method":"m","params":\#(params)}"#
            if Bool.random(using: &generator) {
                // Break it somewhere.
                var bytes = Array(text.utf8)
                bytes.remove(at: Int.random(in: 0..<bytes.count, using: &generator))
                text = String(decoding: bytes, as: UTF8.self)
            }
            let foundation = try? JSONSerialization.jsonObject(with: Data(text.utf8))
            let ours = try? JSONRPCEnvelope.scan(Array(text.utf8))
            if let object = foundation as? [String: Any], object["jsonrpc"] as? String == "2.0", object["method"] is String,
               object["params"] is [String: Any], (object["id"] is NSNumber || object["id"] == nil) {
                XCTAssertEqual(ours?.method, object["method"] as? String, text)
            } else if foundation == nil {
                XCTAssertNil(ours, "scanner accepted what Foundation rejects: \(text)")
            }
        }
    }

    /// The scanner skips string bytes eight at a time: a quote, a backslash or a control character
    /// at any offset (and across word boundaries, after multi-byte UTF-8) must still be seen.
    func testSpecialBytesAreFoundAtEveryOffset() throws {
        for length in 0..<40 {
            for prefix in ["", "é", "ab"] {
                let text = prefix + String(repeating: "x", count: length)
                let plain = #"{"jsonrpc":"2.0","id":1,"result":{"text":""# + text + #""}}"#
                XCTAssertNoThrow(try JSONRPCEnvelope.scan(Array(plain.utf8)), "length \(length)")
                let escaped = #"{"jsonrpc":"2.0","id":1,"result":{"text":""# + text + #"\"q\\"}}"#
                let envelope = try JSONRPCEnvelope.scan(Array(escaped.utf8))
                XCTAssertEqual(envelope.kind, .result)
                var control = Array(plain.utf8)
                control.insert(0x0A, at: control.count - 3)
                XCTAssertThrowsError(try JSONRPCEnvelope.scan(control), "length \(length)") { error in
                    XCTAssertEqual((error as? JSONRPCScanError)?.code, -32700)
                }
                let unterminated = Array((#"{"jsonrpc":"2.0","id":1,"result":""# + text).utf8)
                XCTAssertThrowsError(try JSONRPCEnvelope.scan(unterminated))
            }
        }
    }

    func testMemberLookupComparesNamesAsBytesAndDecodesEscapedOnes() {
        let bytes = Array(#"{"ab":0, "a\u0062":1, "b" : {"c":[1,2]}, "ü":"x", "":"empty"}"#.utf8)
        bytes.withUnsafeBytes { buffer in
            let all = 0..<buffer.count
            func value(_ key: String) -> String? {
                JSONObjectFields.value(key, in: all, of: buffer).map { String(decoding: buffer[$0], as: UTF8.self) }
            }
            XCTAssertEqual(value("ab"), "0", "the first of two equal names")
            XCTAssertEqual(value("b"), #"{"c":[1,2]}"#)
            XCTAssertEqual(value("ü"), #""x""#)
            XCTAssertEqual(value(""), #""empty""#)
            XCTAssertNil(value("c"))
            XCTAssertNil(JSONObjectFields.value("a", in: 0..<3, of: buffer), "not an object")
        }
        let escaped = Array(#"{"x\"y":1}"#.utf8)
        escaped.withUnsafeBytes { buffer in
            XCTAssertEqual(JSONObjectFields.value("x\"y", in: 0..<buffer.count, of: buffer).map { buffer[$0].count }, 1)
        }
    }
}
