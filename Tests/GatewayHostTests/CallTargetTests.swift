import ABIInterop
import PluginABI
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
        for bad in ["ftp://h/", "http:/h", "http://", "http://h:0/", "http://h:70000/", "http://h:x/", "http://[::1]x/", "nourl", "http://:80/",
                    "http://h/a b", "http://h/a\r\nx-injected: 1", "http://h/\u{7F}"] {
            XCTAssertNil(CallTarget(url: bad), bad)
        }
    }

    /// The head written from the plugin's bytes: hop-by-hop fields and its content-length
    /// dropped, host added, the length of the body the host sends.
    func testACallsHeadIsWrittenFromThePluginsBytes() throws {
        let target = try XCTUnwrap(CallTarget(url: "http://127.0.0.1:8001/mcp?x=1"))
        let head = try encode(method: "POST", headers: [("Content-Type", "application/json"), ("Connection", "close"), ("TE", "trailers"),
                                                       ("Content-Length", "99"), ("Transfer-Encoding", "chunked"), ("x-a", "1")],
                              body: "{}", target: target)
        XCTAssertEqual(head?.bytes, "POST /mcp?x=1 HTTP/1.1\r\nContent-Type: application/json\r\nx-a: 1\r\nhost: 127.0.0.1:8001\r\ncontent-length: 2\r\n\r\n{}",
                       "a small body is written after the head, into the same buffer")
        XCTAssertEqual(head?.separateBody, 0)
        XCTAssertEqual(try encode(method: "", headers: [("Host", "other")], body: "", target: target)?.bytes, "GET /mcp?x=1 HTTP/1.1\r\nHost: other\r\n\r\n")
        let large = String(repeating: "x", count: HTTP1ResponseWriter.coalesceLimit + 1)
        let withLargeBody = try encode(method: "POST", headers: [], body: large, target: target)
        XCTAssertEqual(withLargeBody?.bytes, "POST /mcp?x=1 HTTP/1.1\r\nhost: 127.0.0.1:8001\r\ncontent-length: \(large.utf8.count)\r\n\r\n",
                       "a large body goes out as its own buffer")
        XCTAssertEqual(withLargeBody?.separateBody, large.utf8.count)
        XCTAssertEqual(try encode(method: "PUT", headers: [], body: "", target: target)?.bytes,
                       "PUT /mcp?x=1 HTTP/1.1\r\nhost: 127.0.0.1:8001\r\ncontent-length: 0\r\n\r\n")
        XCTAssertNil(try encode(method: "GET /x HTTP/1.1\r\nx:", headers: [], body: "", target: target), "a method that is not a token")
    }

    /// The head's bytes, and how many body bytes go out on their own after them.
    private func encode(method: String, headers: [(String, String)], body: String, target: CallTarget) throws -> (bytes: String, separateBody: Int)? {
        let strings = [method, body] + headers.flatMap { [$0.0, $0.1] }
        let views = strings.map { Array($0.utf8) }
        return views.withAGWStrings { views in
            var fields = (0..<headers.count).map { agw_header(name: views[2 + 2 * $0], value: views[3 + 2 * $0]) }
            return fields.withUnsafeMutableBufferPointer { fields in
                var request = agw_http_call_request()
                request.method = views[0]
                request.body = views[1]
                request.headers = UnsafePointer(fields.baseAddress)
                request.header_count = headers.count
                guard var head = CallRequestHead(request: request, target: target) else { return nil }
                let separate = head.finish(body: request.body.rawBuffer)
                return (String(buffer: head.bytes), separate?.readableBytes ?? 0)
            }
        }
    }
}
