import NIOHTTP1
import XCTest
@testable import GatewayHost

final class RouteTableTests: XCTestCase {
    private func head(_ method: HTTPMethod = .GET, _ uri: String, host: String = "api.test", headers: [(String, String)] = []) -> RequestHead {
        RequestHead(HTTPRequestHead(version: .http1_1, method: method, uri: uri, headers: HTTPHeaders([("host", host)] + headers)))
    }

    func testPathPrefixMatchesWholeSegments() {
        XCTAssertTrue(RouteMatchConfig.path("/api", hasSegmentPrefix: "/api"))
        XCTAssertTrue(RouteMatchConfig.path("/api/x", hasSegmentPrefix: "/api"))
        XCTAssertFalse(RouteMatchConfig.path("/apix", hasSegmentPrefix: "/api"))
        XCTAssertTrue(RouteMatchConfig.path("/apix", hasSegmentPrefix: "/"))
        XCTAssertTrue(RouteMatchConfig.path("/api/", hasSegmentPrefix: "/api/"))
    }

    func testMatchOnHostMethodAndHeaders() {
        var match = RouteMatchConfig()
        match.host = "*.example.test"
        match.methods = ["POST"]
        match.headers = ["x-team": "blue"]
        XCTAssertTrue(match.accepts(method: "POST", path: "/", host: "a.example.test", headers: ["x-team": "blue"]))
        XCTAssertFalse(match.accepts(method: "GET", path: "/", host: "a.example.test", headers: ["x-team": "blue"]))
        XCTAssertFalse(match.accepts(method: "POST", path: "/", host: "example.org", headers: ["x-team": "blue"]))
        XCTAssertFalse(match.accepts(method: "POST", path: "/", host: "a.example.test", headers: ["x-team": "red"]))
    }

    func testHostPortIsIgnored() {
        XCTAssertEqual(RouteTable.hostWithoutPort("api.test:8080"), "api.test")
        XCTAssertEqual(RouteTable.hostWithoutPort("[::1]:8080"), "::1")
        XCTAssertEqual(RouteTable.hostWithoutPort("api.test"), "api.test")
    }

    func testExactPathIgnoresQuery() {
        var match = RouteMatchConfig()
        match.path = "/mcp"
        XCTAssertTrue(match.accepts(method: "GET", path: "/mcp", host: "h", headers: [:]))
        XCTAssertFalse(match.accepts(method: "GET", path: "/mcp/x", host: "h", headers: [:]))
        let table = RouteTable(routes: [])
        XCTAssertNil(table.match(listener: "main", head: head(.GET, "/mcp?session=1")))
        for (uri, path) in [("/mcp?session=1", "/mcp"), ("/mcp", "/mcp"), ("/?", "/"), ("/é/ü?q=ö?", "/é/ü"), ("", "")] {
            XCTAssertEqual(RouteTable.queryStart(uri).map { String(uri[..<$0]) } ?? uri, path, uri)
        }
    }
}
