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

    func testAddsMissingMembersOnly() {
        let result = JSONText.addingMembers([("resultType", "\"complete\""), ("ttlMs", "0")], to: Array(#"{"ttlMs":5,"a":1}"#.utf8))
        XCTAssertEqual(String(decoding: result, as: UTF8.self), #"{"resultType":"complete","ttlMs":5,"a":1}"#)
        XCTAssertEqual(String(decoding: JSONText.addingMembers([("x", "1")], to: Array("{}".utf8)), as: UTF8.self), #"{"x":1}"#)
    }

    func testQuotesControlCharactersAndQuotes() {
        XCTAssertEqual(JSONText.quoted("a\"b\\c\n\u{01}é"), #""a\"b\\c\n\u0001é""#)
    }
}
