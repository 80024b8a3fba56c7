import JSON
import MCPCore
import XCTest

final class NameMapperTests: XCTestCase {
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
}
