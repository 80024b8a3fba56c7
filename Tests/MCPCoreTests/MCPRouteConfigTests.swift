import JSON
import MCPCore
import XCTest

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
        XCTAssertEqual(error(#"{"targets":[{"name":"a","type":"ftp"}]}"#), #"targets[0].type = "ftp": use "stdio", "sse", "http", "a2a" or "openapi""#)
        XCTAssertEqual(error(#"{"targets":[{"name":"a","type":"http","url":"x"}]}"#), "targets[0]: a http target needs 'url' (http:// or https://)")
        XCTAssertEqual(error(#"{"targets":[{"name":"a","type":"stdio","command":"x"},{"name":"a","type":"stdio","command":"y"}]}"#),
                       "two targets are named 'a'; target names must be unique")
        XCTAssertEqual(error(#"{"targets":[{"name":"a","type":"stdio","command":"x"}],"sessions":1}"#), "sessions must be true or false")
        XCTAssertEqual(error(#"{"targets":[{"name":"a","type":"stdio","command":"x"}],"page_size":-1}"#), "page_size = -1 is outside 0...100000")
        XCTAssertTrue(error(#"{"targets":[{"name":"9a","type":"stdio","command":"x"}]}"#).hasPrefix(#"targets[0].name = "9a": use 1-32"#))
    }
}
