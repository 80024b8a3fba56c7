import XCTest
@testable import GatewayHost

final class CallTargetTests: XCTestCase {
    func testParsesTheURLsPluginsCall() throws {
        let plain = try XCTUnwrap(CallTarget(url: "http://127.0.0.1:8001/mcp?x=1"))
        XCTAssertEqual(plain.origin, .init(scheme: "http", host: "127.0.0.1", port: 8001))
        XCTAssertEqual(plain.pathAndQuery, "/mcp?x=1")
        XCTAssertEqual(plain.hostHeader, "127.0.0.1:8001")
        let secure = try XCTUnwrap(CallTarget(url: "HTTPS://user:pw@idp.example.com/.well-known/jwks.json"))
        XCTAssertEqual(secure.origin, .init(scheme: "https", host: "idp.example.com", port: 443))
        XCTAssertEqual(secure.hostHeader, "idp.example.com")
        let ipv6 = try XCTUnwrap(CallTarget(url: "http://[::1]:9000"))
        XCTAssertEqual(ipv6.origin, .init(scheme: "http", host: "::1", port: 9000))
        XCTAssertEqual(ipv6.pathAndQuery, "/")
        XCTAssertEqual(CallTarget(url: "http://h?q")?.pathAndQuery, "/?q")
        XCTAssertEqual(CallTarget(url: "http://[::1]")?.origin.port, 80)
        for bad in ["ftp://h/", "http:/h", "http://", "http://h:0/", "http://h:70000/", "http://h:x/", "http://[::1]x/", "nourl", "http://:80/"] {
            XCTAssertNil(CallTarget(url: bad), bad)
        }
    }
}
