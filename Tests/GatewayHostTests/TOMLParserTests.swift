@testable import GatewayHost
import XCTest

/// The gateway's TOML reader against TOML 1.0's rules.
final class TOMLParserTests: XCTestCase {
    private func parse(_ text: String) throws -> TOMLTable { try TOMLTable(parsing: text) }

    private func rejects(_ text: String, line: Int, containing message: String, file: StaticString = #filePath, lineNumber: UInt = #line) {
        XCTAssertThrowsError(try parse(text), file: file, line: lineNumber) { error in
            guard let error = error as? TOMLSyntaxError else { return XCTFail("\(error)", file: file, line: lineNumber) }
            XCTAssertEqual(error.line, line, "\(error)", file: file, line: lineNumber)
            XCTAssertTrue(error.message.contains(message), error.message, file: file, line: lineNumber)
        }
    }

    func testScalarsStringsAndComments() throws {
        let table = try parse(#"""
        # a comment
        int = +1_000   # after a value
        neg = -17
        hex = 0xDEAD_beef
        oct = 0o755
        bin = 0b1101
        float = 6.626e-34
        flt = -0.5
        inf = -inf
        yes = true
        date = 1979-05-27T07:32:00Z
        local = 1979-05-27 07:32:00
        time = 07:32:00
        basic = "tab\there \"q\" \u00e9 \U0001F600"
        literal = 'C:\Users\x'
        multi = """
        one
        two \
           three"""
        raw = '''
        keep \n as is'''
        quotes = """a ""quoted"" b"""""
        "quoted key" = 1
        'single' = 2
        """#)
        XCTAssertEqual(table["int"], .integer(1000))
        XCTAssertEqual(table["neg"], .integer(-17))
        XCTAssertEqual(table["hex"], .integer(0xDEADBEEF))
        XCTAssertEqual(table["oct"], .integer(0o755))
        XCTAssertEqual(table["bin"], .integer(13))
        XCTAssertEqual(table["float"], .float(6.626e-34))
        XCTAssertEqual(table["flt"], .float(-0.5))
        XCTAssertEqual(table["inf"], .float(-.infinity))
        XCTAssertEqual(table["yes"], .boolean(true))
        XCTAssertEqual(table["date"], .datetime("1979-05-27T07:32:00Z"))
        XCTAssertEqual(table["local"], .datetime("1979-05-27 07:32:00"))
        XCTAssertEqual(table["time"], .datetime("07:32:00"))
        XCTAssertEqual(table["basic"], .string("tab\there \"q\" é 😀"))
        XCTAssertEqual(table["literal"], .string(#"C:\Users\x"#))
        XCTAssertEqual(table["multi"], .string("one\ntwo three"))
        XCTAssertEqual(table["raw"], .string(#"keep \n as is"#))
        XCTAssertEqual(table["quotes"], .string(#"a ""quoted"" b"""#))
        XCTAssertEqual(table["quoted key"], .integer(1))
        XCTAssertEqual(table["single"], .integer(2))
    }

    func testTablesArraysOfTablesDottedKeysAndInlineTables() throws {
        let table = try parse("""
        top = { a = 1, b.c = "x" }
        list = [ 1, 2,
                 3, # comment
        ]
        nested = [[1, 2], ["a"], [{ k = "v" }]]
        [server]
        name = "s"
        tls.cert = "c.pem"
        [server.limits]
        max = 5
        [[routes]]
        name = "one"
        [routes.match]
        path = "/one"
        [[routes]]
        name = "two"
        [[routes.filters]]
        plugin = "p"
        """)
        XCTAssertEqual(table.keys, ["top", "list", "nested", "server", "routes"])
        XCTAssertEqual(table["top"]?.table?["b"]?.table?["c"], .string("x"))
        XCTAssertEqual(table["list"], .array([.integer(1), .integer(2), .integer(3)]))
        XCTAssertEqual(table["nested"]?.array?[2].array?[0].table?["k"], .string("v"))
        XCTAssertEqual(table["server"]?.table?["tls"]?.table?["cert"], .string("c.pem"))
        XCTAssertEqual(table["server"]?.table?["limits"]?.table?["max"], .integer(5))
        let routes = try XCTUnwrap(table["routes"]?.array)
        XCTAssertEqual(routes.count, 2)
        XCTAssertEqual(routes[0].table?["match"]?.table?["path"], .string("/one"))
        XCTAssertEqual(routes[1].table?["filters"]?.array?.first?.table?["plugin"], .string("p"))
    }

    func testWhatTOMLForbidsIsAnErrorWithItsLine() {
        rejects("a = 1\na = 2\n", line: 2, containing: "defined twice")
        rejects("[t]\nx = 1\n[t]\n", line: 3, containing: "table [t] is defined twice")
        rejects("t = { a = 1 }\n[t]\n", line: 2, containing: "defined twice")
        rejects("t = { a = 1 }\n[t.b]\n", line: 2, containing: "inline table")
        rejects("a = 1\n[a]\n", line: 2, containing: "is a value already")
        rejects("x = [1, 2\n", line: 1, containing: "never closes")
        rejects("x = \"open\n", line: 1, containing: "newline in a single-line string")
        rejects("x = hello\n", line: 1, containing: "not a TOML value")
        rejects("x = 1 2\n", line: 1, containing: "end of the line")
        rejects("x = 012\n", line: 1, containing: "not a TOML value")
        rejects("x = 1__0\n", line: 1, containing: "not a TOML value")
        rejects("x = \"\\q\"\n", line: 1, containing: "invalid escape")
        rejects("= 1\n", line: 1, containing: "expected a key")
        rejects("[a\n", line: 1, containing: "close the table header")
        rejects("[[r]]\n[r]\n", line: 2, containing: "array of tables")
    }

    func testJSONAndTOMLOutputReadBackTheSame() throws {
        let text = """
        s = "q\\"\\n"
        n = 3
        f = 1.5
        b = false
        a = ["x", 1]
        [t]
        k = { deep = [ { z = 1 } ] }
        [[r]]
        name = "one"
        [r.m]
        p = "/"
        [[r]]
        name = "two"
        """
        let table = try parse(text)
        XCTAssertEqual(try parse(table.tomlText), table, table.tomlText)
        let json = try JSONSerialization.jsonObject(with: Data(table.jsonText.utf8)) as? [String: Any]
        XCTAssertEqual(json?["s"] as? String, "q\"\n")
        XCTAssertEqual(json?["n"] as? Int, 3)
        XCTAssertEqual(((json?["r"] as? [[String: Any]])?[0]["m"] as? [String: Any])?["p"] as? String, "/")
    }

    func testTheExampleConfigsParse() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../examples")
        let table = try parse(try String(contentsOf: root.appendingPathComponent("gateway.toml"), encoding: .utf8))
        XCTAssertEqual(table["routes"]?.array?.count, 5)
    }
}
