import JSON
import MCPCore
import XCTest

final class ParamsRewriteTests: XCTestCase {
    func testRenamesRewritesProgressTokenAndDropsModernMeta() throws {
        let params = JSONValue(Array(#"{"name":"files_read","arguments":{"name":"keep"},"_meta":{"progressToken":"abc","io.modelcontextprotocol/protocolVersion":"2026-07-28","trace":1}}"#.utf8))
        XCTAssertEqual(ParamsRewrite.progressToken(in: params), "\"abc\"")
        let rewritten = ParamsRewrite(member: ("name", "read"), progressToken: "17").apply(to: params)
        XCTAssertEqual(String(decoding: rewritten, as: UTF8.self),
                       #"{"name":"read","arguments":{"name":"keep"},"_meta":{"progressToken":17,"trace":1}}"#)
    }

    func testRewritesTheRefOfACompletion() {
        let params = JSONValue(Array(#"{"ref":{"type":"ref/prompt","name":"a_greet"},"argument":{"name":"x","value":"y"}}"#.utf8))
        let rewritten = ParamsRewrite(refMember: ("name", "greet")).apply(to: params)
        XCTAssertEqual(String(decoding: rewritten, as: UTF8.self), #"{"ref":{"type":"ref/prompt","name":"greet"},"argument":{"name":"x","value":"y"}}"#)
    }

    func testLeavesParamsThatNeedNoChangeAsTheyCame() {
        let raw = #"{ "name" : "read", "arguments":{"name":"other"} }"#
        let rewritten = ParamsRewrite(member: ("name", "read")).apply(to: JSONValue(Array(raw.utf8)))
        XCTAssertEqual(String(decoding: rewritten, as: UTF8.self), raw)
    }

    /// Params without a backslash or `_meta` are decided from the one routed member, without a walk.
    func testPlainParamsAreRewrittenOnlyWhereTheNameDiffers() {
        func apply(_ raw: String, _ name: String) -> String {
            String(decoding: ParamsRewrite(member: ("name", name)).apply(to: JSONValue(Array(raw.utf8))), as: UTF8.self)
        }
        XCTAssertEqual(apply(#"{"name":"read","arguments":{"q":1}}"#, "write"), #"{"name":"write","arguments":{"q":1}}"#)
        XCTAssertEqual(apply(#"{"name":"read","arguments":{"q":1}}"#, "read"), #"{"name":"read","arguments":{"q":1}}"#)
        XCTAssertEqual(apply(#"{"arguments":{"q":"name"}}"#, "x"), #"{"arguments":{"q":"name"}}"#, "the name only as a value: nothing to replace")
        XCTAssertEqual(apply(#"{"q":"name","name":"read"}"#, "write"), #"{"q":"name","name":"write"}"#)
        XCTAssertEqual(apply(#"{"name":7}"#, "read"), #"{"name":"read"}"#, "a name that is not a string is replaced")
    }

    /// An upstream may read the last of two equal names: both are rewritten, so the one the
    /// gateway routed (and authorized) is the only one the upstream can see.
    func testRewritesEveryDuplicateOfTheRoutedName() {
        let params = JSONValue(Array(#"{"name":"read","name":"delete_all","arguments":{}}"#.utf8))
        let rewritten = ParamsRewrite(member: ("name", "read")).apply(to: params)
        XCTAssertEqual(String(decoding: rewritten, as: UTF8.self), #"{"name":"read","name":"read","arguments":{}}"#)
    }

    /// Names and values are compared decoded: an escaped name is the same member, an escaped
    /// value the same text.
    func testComparesEscapedNamesAndValuesDecoded() {
        let escapedName = JSONValue(Array(#"{"name":"read","n\u0061me":"delete_all"}"#.utf8))
        XCTAssertEqual(String(decoding: ParamsRewrite(member: ("name", "read")).apply(to: escapedName), as: UTF8.self),
                       #"{"name":"read","name":"read"}"#)
        let escapedValue = #"{"name":"r\u0065ad"}"#
        XCTAssertEqual(String(decoding: ParamsRewrite(member: ("name", "read")).apply(to: JSONValue(Array(escapedValue.utf8))), as: UTF8.self),
                       escapedValue)
        XCTAssertTrue(JSONValue(Array(#" "a\"b" "#.utf8)).isString("a\"b"))
        XCTAssertFalse(JSONValue(Array(#"17"#.utf8)).isString("17"))
        XCTAssertEqual(JSONValue(Array(#"[1]"#.utf8)).containsMember { _, _ in true }, nil)
    }

    func testAddsMissingMembersOnly() {
        let result = JSONText.addingMembers([("resultType", "\"complete\""), ("ttlMs", "0")], to: Array(#"{"ttlMs":5,"a":1}"#.utf8))
        XCTAssertEqual(String(decoding: result, as: UTF8.self), #"{"resultType":"complete","ttlMs":5,"a":1}"#)
        XCTAssertEqual(String(decoding: JSONText.addingMembers([("x", "1")], to: Array("{}".utf8)), as: UTF8.self), #"{"x":1}"#)
    }

    func testQuotesControlCharactersAndQuotes() {
        XCTAssertEqual(JSONText.quoted("a\"b\\c\n\u{01}é"), #""a\"b\\c\n\u0001é""#)
    }
}
