import JSON
import MCPCore
import XCTest

final class NamingTests: XCTestCase {
    func testPrefixedNamesRoundTripAndLongestTargetWins() {
        let names = NameMapper(targetNames: ["db", "db-prod", "files"], prefixes: true)
        XCTAssertEqual(names.clientName(target: "db-prod", name: "query", uri: false), "db-prod_query")
        XCTAssertEqual(names.resolve("db-prod_query", uri: false)?.target, "db-prod")
        XCTAssertEqual(names.resolve("db_query_all", uri: false)?.name, "query_all")
        XCTAssertNil(names.resolve("nobody_query", uri: false))
        XCTAssertNil(names.resolve("db_", uri: false))
        let uri = names.clientName(target: "files", name: "file:///etc/hosts", uri: true)
        XCTAssertEqual(uri, "files+file:///etc/hosts")
        XCTAssertEqual(names.resolve(uri, uri: true)?.name, "file:///etc/hosts")
    }

    func testWithoutPrefixesNamesPassThrough() {
        let names = NameMapper(targetNames: ["a"], prefixes: false)
        XCTAssertEqual(names.clientName(target: "a", name: "add", uri: false), "add")
        XCTAssertNil(names.resolve("a_add", uri: false))
    }

    func testCursorsAreOnlyTheGatewaysOwn() {
        XCTAssertEqual(ListCursor.decode(ListCursor.encode(offset: 40)), 40)
        XCTAssertNil(ListCursor.decode("upstream-cursor"))
        XCTAssertNil(ListCursor.decode("agw1.-3"))
    }
}

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

final class MCPRouteConfigTests: XCTestCase {
    func testReadsTargetsAndDefaults() throws {
        let config = try MCPRouteConfig(json: #"""
            {"targets":[{"name":"files","type":"stdio","command":"files-server","args":["--ro"],"env":{"A":"1"}},
                        {"name":"remote","type":"http","url":"http://127.0.0.1:9/mcp","headers":{"authorization":"Bearer t"},"timeout_ms":500}],
             "failureMode":"open","page_size":50}
            """#)
        XCTAssertEqual(config.targets.map(\.name), ["files", "remote"])
        XCTAssertEqual(config.targets[0].transport, .stdio(command: "files-server", arguments: ["--ro"], environment: ["A": "1"], workingDirectory: ""))
        XCTAssertEqual(config.targets[1].headers, ["authorization": "Bearer t"])
        XCTAssertEqual(config.targets[1].timeoutMilliseconds, 500)
        XCTAssertEqual(config.failureMode, .open)
        XCTAssertEqual(config.prefix, .conditional)
        XCTAssertTrue(config.prefixes)
        XCTAssertEqual(config.pageSize, 50)
        XCTAssertTrue(config.sessions)
    }

    func testErrorsNameTheKey() {
        func error(_ json: String) -> String {
            do {
                _ = try MCPRouteConfig(json: json)
                return "no error"
            } catch {
                return error.description
            }
        }
        XCTAssertEqual(error(#"{"targets":[]}"#), "'targets' must list at least one MCP server ([[routes.handler.config.targets]])")
        XCTAssertEqual(error(#"{"targets":[{"name":"a","type":"stdio","command":"x","colour":1}]}"#), "unknown key 'targets[0].colour'")
        XCTAssertEqual(error(#"{"targets":[{"name":"a","type":"ftp"}]}"#), #"targets[0].type = "ftp": use "stdio", "sse" or "http""#)
        XCTAssertEqual(error(#"{"targets":[{"name":"a","type":"http","url":"x"}]}"#), "targets[0]: a http target needs 'url' (http:// or https://)")
        XCTAssertEqual(error(#"{"targets":[{"name":"a","type":"stdio","command":"x"},{"name":"a","type":"stdio","command":"y"}]}"#),
                       "two targets are named 'a'; target names must be unique")
        XCTAssertEqual(error(#"{"targets":[{"name":"a","type":"stdio","command":"x"}],"sessions":1}"#), "sessions must be true or false")
        XCTAssertEqual(error(#"{"targets":[{"name":"a","type":"stdio","command":"x"}],"page_size":-1}"#), "page_size = -1 is outside 0...100000")
        XCTAssertTrue(error(#"{"targets":[{"name":"9a","type":"stdio","command":"x"}]}"#).hasPrefix(#"targets[0].name = "9a": use 1-32"#))
    }
}

final class ByteMatchingTests: XCTestCase {
    func testCaseInsensitiveMatching() {
        XCTAssertTrue(Array("Application/JSON, text/Event-Stream".utf8).containsIgnoringCase("text/event-stream"))
        XCTAssertTrue(Array("Text/Event-Stream; charset=utf-8".utf8).hasPrefixIgnoringCase("text/event-stream"))
        XCTAssertFalse(Array("application/jso".utf8).containsIgnoringCase("application/json"))
        XCTAssertFalse(Array("".utf8).containsIgnoringCase("*/*"))
    }
}
