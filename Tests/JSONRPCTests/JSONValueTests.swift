import Foundation
import JSON
import JSONRPC
import XCTest

/// `JSONValue`'s readers that work on the bytes (no `String` made): integers, null, string
/// comparison and member names.
final class JSONValueTests: XCTestCase {
    private func value(_ text: String) -> JSONValue { JSONValue(Array(text.utf8)) }

    func testReadsIntegersThatFitAndNothingElse() {
        XCTAssertEqual(value("7").int, 7)
        XCTAssertEqual(value(" -42 ").int, -42)
        XCTAssertEqual(value("0").int, 0)
        XCTAssertEqual(value("-0").int, 0)
        XCTAssertEqual(value("9223372036854775807").int, .max)
        XCTAssertEqual(value("-9223372036854775808").int, .min)
        XCTAssertNil(value("9223372036854775808").int)
        XCTAssertNil(value("-9223372036854775809").int)
        XCTAssertNil(value("99999999999999999999999").int)
        for notAnInteger in ["", " ", "-", "1.0", "1e3", "\"7\"", "null", "--1", "1-", "0x10", "[1]"] {
            XCTAssertNil(value(notAnInteger).int, notAnInteger)
        }
        let id = JSONValue(Array(#"{"id":  12 ,"x":1}"#.utf8), range: 6..<11)
        XCTAssertEqual(id.int, 12)
    }

    func testRecognizesNull() {
        XCTAssertTrue(value("null").isNull)
        XCTAssertTrue(value(" null\n").isNull)
        XCTAssertFalse(value("nul").isNull)
        XCTAssertFalse(value("\"null\"").isNull)
        XCTAssertFalse(value("nulls").isNull)
    }

    func testMemberNamesComeDecodedAndInOrder() {
        var names: [String] = []
        let found = value(#"{"a":1, "b\u0031":{"c":2}, "d":[3]}"#).containsMember { name, member in
            names.append(String(decoding: name, as: UTF8.self))
            return member.raw.first == UInt8(ascii: "[")
        }
        XCTAssertEqual(found, true)
        XCTAssertEqual(names, ["a", "b1", "d"])
        XCTAssertEqual(value("{}").containsMember { _, _ in true }, false)
        XCTAssertNil(value(#"{"a":}"#).containsMember { _, _ in false })
    }
}

/// Requests the gateway writes to upstreams (one allocation of a bound size, pieces copied once).
final class JSONRPCRequestTextTests: XCTestCase {
    private func text(_ bytes: [UInt8]) -> String { String(decoding: bytes, as: UTF8.self) }

    func testWritesRequestsAndNotifications() throws {
        XCTAssertEqual(text(JSONText.request(id: "7", method: "tools/call", params: Array(#"{"name":"a"}"#.utf8))),
                       #"{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"a"}}"#)
        XCTAssertEqual(text(JSONText.request(id: nil, method: "notifications/initialized", params: [UInt8]?.none)),
                       #"{"jsonrpc":"2.0","method":"notifications/initialized"}"#)
        XCTAssertEqual(text(JSONText.request(id: #""a-1""#, method: "ping", params: ArraySlice(Array("[]".utf8)))),
                       #"{"jsonrpc":"2.0","id":"a-1","method":"ping","params":[]}"#)
        // A method that needs escapes at its longest: every byte a \u00XX.
        let method = String(repeating: "\u{01}", count: 40) + "\"\\"
        let written = JSONText.request(id: "1", method: method, params: [UInt8]?.none)
        let parsed = try JSONSerialization.jsonObject(with: Data(written)) as? [String: Any]
        XCTAssertEqual(parsed?["method"] as? String, method)
    }

    func testMemberLookupFindsEscapedAndNestedNamesAndOnlyMembers() {
        let value = { (text: String) in JSONValue(Array(text.utf8)) }
        let params = value(#"{"name":"echo","arguments":{"_meta":1,"text":"\"_meta\""},"x":"_meta"}"#)
        XCTAssertNil(params["_meta"], "the name stands in a nested object and in values, not as a member")
        XCTAssertEqual(params["name"]?.string, "echo")
        XCTAssertEqual(params["arguments"]?["_meta"]?.int, 1)
        XCTAssertEqual(value(#"{"_m\u0065ta":{"progressToken":7}}"#)["_meta"]?["progressToken"]?.int, 7, "an escaped name is found")
        XCTAssertEqual(value(#"{"":3}"#)[""]?.int, 3)
        XCTAssertNil(value(#"{"a":"b"}"#)[""])
        XCTAssertNil(value(#"{"nam":1}"#)["name"])
        XCTAssertNil(value("[1,2]")["name"])
    }

    func testQuotedNeedleSearch() {
        func has(_ text: String, _ needle: String) -> Bool {
            Array(text.utf8).withUnsafeBytes { text in Array(needle.utf8).withUnsafeBytes { text.containsQuoted($0) } }
        }
        XCTAssertTrue(has(#""a""#, "a"))
        XCTAssertTrue(has(#"{"x":1,"name":2}"#, "name"))
        XCTAssertFalse(has(#"{"names":1,"aname":2}"#, "name"))
        XCTAssertFalse(has(#"name""#, "name"), "no quote before")
        XCTAssertFalse(has(#""name"#, "name"), "no quote after")
        XCTAssertFalse(has("", "a"))
        XCTAssertTrue(has(#"nnn"nname"n"#, "nname"), "candidates that start alike")
        XCTAssertFalse(has(#"nnnname"n"#, "nname"))
    }
}
