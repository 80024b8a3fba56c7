import CEL
import XCTest

/// Variables shaped like the gateway's, with plain values.
private struct Variables: Activation {
    var values: [String: Value]
    func value(of variable: String) -> Value? { values[variable] }
}

private let tool = CELType.object(name: "mcp.tool", fields: ["name": .string, "target": .string, "arguments": .map(.dyn)])
private let declarations = Declarations([
    "jwt": .map(.dyn),
    "request": .object(name: "request", fields: ["method": .string, "path": .string, "headers": .map(.string)]),
    "mcp": .object(name: "mcp", fields: ["method": .string, "tool": tool]),
])

private func alice(tool name: String = "get_sum", headers: [String: Value] = [:]) -> Variables {
    Variables(values: [
        "jwt": .map(["sub": .string("alice"), "groups": .list([.string("dev"), .string("admins")]), "level": .int(3),
                     "org": .map(["id": .string("acme")])]),
        "request": .map(["method": .string("POST"), "path": .string("/mcp"), "headers": .map(headers)]),
        "mcp": .map(["method": .string("tools/call"), "tool": .map(["name": .string(name), "target": .string("math"),
                                                                    "arguments": .map(["a": .int(2)])])]),
    ])
}

private func evaluate(_ source: String, _ variables: Variables = alice()) throws -> Value {
    try Program.compile(source, declarations: declarations).evaluate(variables)
}

private func holds(_ source: String, _ variables: Variables = alice()) throws -> Bool {
    try Program.compileCondition(source, declarations: declarations).isSatisfied(by: variables)
}

final class CELTests: XCTestCase {
    func testTheRulesAgentgatewayUsersWrite() throws {
        XCTAssertTrue(try holds(#"jwt.sub == "alice" && mcp.tool.name == "get_sum""#))
        XCTAssertFalse(try holds(#"jwt.sub == "alice" && mcp.tool.name == "get_sum""#, alice(tool: "delete_all")))
        XCTAssertTrue(try holds(#""admins" in jwt.groups"#))
        XCTAssertTrue(try holds(#"mcp.tool.name.startsWith("get_")"#))
        XCTAssertTrue(try holds(#"request.headers["x-team"] == "blue""#, alice(headers: ["x-team": .string("blue")])))
        XCTAssertTrue(try holds(#"jwt.org.id == "acme" && jwt.level >= 2 && mcp.tool.arguments.a < 3"#))
        XCTAssertTrue(try holds(#"jwt.groups.exists(g, g.endsWith("mins")) && !jwt.groups.all(g, g == "dev")"#))
        XCTAssertTrue(try holds(#"mcp.tool.name.matches("^get_[a-z]+$") && size(jwt.groups) == 2 && jwt.groups.size() == 2"#))
        XCTAssertTrue(try holds(#"has(jwt.org) && !has(jwt.email) && "x-team" in request.headers == false"#))
    }

    func testValues() throws {
        guard case .int(7) = try evaluate("1 + 2 * 3") else { return XCTFail() }
        guard case .string("a-b") = try evaluate(#"["a", "b"].join("-")"#) else { return XCTFail() }
        guard case .list(let items) = try evaluate("[1, 2, 3].filter(x, x % 2 == 1).map(x, x * 10)") else { return XCTFail() }
        XCTAssertEqual(items.count, 2)
        guard case .string("yes") = try evaluate(#"jwt.level > 2 ? "yes" : "no""#) else { return XCTFail() }
        guard case .int(-9223372036854775808) = try evaluate("-9223372036854775808") else { return XCTFail() }
        XCTAssertTrue(try holds("1 == 1.0 && 2.5 > 2 && int(\"42\") == 42 && string(7) == \"7\""))
        XCTAssertTrue(try holds(#"'single' + r"\d" == "single\\d" && "\u00e9".size() == 1"#))
    }

    func testErrorsAreAbsorbedByAndOrLikeCEL() throws {
        // jwt.email is missing: an error, but the other side decides.
        XCTAssertFalse(try holds(#"jwt.email == "x" && false"#))
        XCTAssertTrue(try holds(#"jwt.email == "x" || true"#))
        XCTAssertThrowsError(try holds(#"jwt.email == "x" || false"#)) { error in
            XCTAssertEqual((error as? CELEvaluationError)?.message, "no such key 'email'")
        }
        XCTAssertThrowsError(try evaluate("1 / (jwt.level - 3)"))
        XCTAssertThrowsError(try evaluate("9223372036854775807 + jwt.level"))
    }

    func testCompileErrorsNameTheColumn() {
        func failure(_ source: String) -> CELCompileError? {
            do {
                _ = try Program.compileCondition(source, declarations: declarations)
                return nil
            } catch { return error }
        }
        XCTAssertEqual(failure(#"jwt.sub == "alice" &&"#)?.column, 22)
        XCTAssertEqual(failure(#"jwt.sub = "alice""#)?.message, "unexpected '=' (did you mean '=='?)")
        XCTAssertEqual(failure(#"mcp.tool.nmae == "x""#)?.column, 9)
        XCTAssertTrue(failure(#"mcp.tool.nmae == "x""#)?.message.contains("mcp.tool has no field 'nmae'") ?? false)
        XCTAssertEqual(failure("user.id == 1")?.column, 1)
        XCTAssertTrue(failure("user.id == 1")?.message.contains("undeclared reference to 'user'") ?? false)
        XCTAssertEqual(failure(#"mcp.tool.name == 1"#)?.message, "no operator '==' for string and int")
        XCTAssertEqual(failure(#"mcp.tool.name.startsWith(1)"#)?.column, 14)
        XCTAssertEqual(failure(#"mcp.tool.name.matches("(")"#)?.column, 23)
        XCTAssertEqual(failure(#"mcp.method"#)?.message, "a rule must be a bool expression, this one is a string")
        XCTAssertEqual(failure(#"mcp.method.lenght()"#)?.column, 11)
        XCTAssertEqual(failure(#""unterminated"#)?.message, "unterminated string")
        XCTAssertEqual(failure(#"!mcp.method"#)?.message, "'!' needs a bool, not string")
        XCTAssertEqual(failure(String(repeating: "(", count: 200) + "true" + String(repeating: ")", count: 200))?.message,
                       "the expression is nested too deeply")
    }

    func testJSONBecomesValues() throws {
        let value = try XCTUnwrap(Value(json: Array(#"{"sub":"bob","n":3,"f":1.5,"e":1e2,"ok":true,"groups":["a"],"x":null,"u":"\u00e9\ud83d\ude00"}"#.utf8)))
        XCTAssertTrue(try holds(#"jwt.sub == "bob" && jwt.n == 3 && jwt.f == 1.5 && jwt.e == 100 && jwt.ok && jwt.groups[0] == "a" && jwt.x == null && jwt.u.size() == 2"#,
                                Variables(values: ["jwt": value])))
        XCTAssertNil(Value(json: Array(#"{"a":}"#.utf8)))
        XCTAssertNil(Value(json: Array(#"{"a":1} x"#.utf8)))
        XCTAssertNil(Value(json: Array(String(repeating: "[", count: 100).utf8)))
    }
}
