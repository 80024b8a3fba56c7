@testable import GatewayHost
import HTTP1
import NIOCore
import NIOHTTP1
import XCTest

/// The request head as the exchange keeps it: fields read as bytes from what the codec parsed,
/// changed by plugins, and written on to an upstream.
final class RequestHeadTests: XCTestCase {
    private func parsed(_ text: String) throws -> RequestHead {
        var parser = HTTP1Parser(role: .request)
        var buffer = ByteBuffer(string: text)
        guard case .head(let head, let bytes) = try parser.step(&buffer) else { throw XCTSkip("no head") }
        return bytes.withUnsafeReadableBytes { RequestHead(head, in: $0) }
    }

    private func value(_ fields: RequestFields, _ name: String, _ index: Int = 0) -> String? {
        Array(name.utf8).withUnsafeBytes { name in fields.value(named: name, at: index) { String(decoding: $0, as: UTF8.self) } }
    }

    func testReadsTheParsedHeadWithoutCaringAboutCase() throws {
        let head = try parsed("POST /mcp?x=1 HTTP/1.1\r\nHost: gw.test\r\nAccept: application/json\r\naccept: text/event-stream\r\n"
                              + "X-Empty:\r\nContent-Length: 2\r\n\r\n{}")
        XCTAssertEqual(head.method, .POST)
        XCTAssertEqual(head.version, .http1_1)
        XCTAssertEqual(head.uri, "/mcp?x=1")
        XCTAssertEqual(head.headers.count, 5)
        XCTAssertEqual(head.headers.first(name: "HOST"), "gw.test")
        XCTAssertEqual(head.headers["ACCEPT"], ["application/json", "text/event-stream"])
        XCTAssertEqual(value(head.headers, "accept", 1), "text/event-stream")
        XCTAssertNil(value(head.headers, "accept", 2))
        XCTAssertEqual(value(head.headers, "x-empty"), "")
        XCTAssertNil(head.headers.first(name: "accep"))
        XCTAssertEqual(head.headers.withField(at: 1) { String(decoding: $0, as: UTF8.self) + "=" + String(decoding: $1, as: UTF8.self) },
                       "Accept=application/json")
        XCTAssertEqual(head.headers.map { $0.name }, ["Host", "Accept", "accept", "X-Empty", "Content-Length"])
        XCTAssertEqual(head.headers.nameAndValueBytes, "Hostgw.testAcceptapplication/jsonaccepttext/event-streamX-EmptyContent-Length2".utf8.count)
    }

    func testPluginChangesApplyInPlaceAndKeepTheRestInOrder() throws {
        var fields = try parsed("GET / HTTP/1.1\r\nHost: a\r\nX-A: 1\r\nx-a: 2\r\nX-B: 3\r\n\r\n").headers
        fields.replaceOrAdd(name: "x-a", value: "9")
        XCTAssertEqual(fields.map { "\($0.name): \($0.value)" }, ["Host: a", "X-B: 3", "x-a: 9"])
        fields.add(name: "X-B", value: "4")
        XCTAssertEqual(fields["x-b"], ["3", "4"])
        fields.remove(name: "X-B")
        XCTAssertEqual(fields.map { "\($0.name): \($0.value)" }, ["Host: a", "x-a: 9"])
        XCTAssertFalse(fields.contains(name: "x-b"))
        let built: RequestFields = ["Connection": "keep-alive, X-Secret ,", "x-secret": "s"]
        XCTAssertEqual(built[canonicalForm: "connection"], ["keep-alive", "X-Secret"])
    }

    func testWritesTheFieldsItKeepsAsTheyCame() throws {
        let fields = try parsed("GET / HTTP/1.1\r\nHost: a\r\nX-Keep: yes please\r\nConnection: close\r\nx-keep-too: 1\r\n\r\n").headers
        var out = ByteBuffer()
        fields.write(into: &out) { name, _ in !BackendCall.isDropped(name) }
        XCTAssertEqual(String(buffer: out), "X-Keep: yes please\r\nx-keep-too: 1\r\n")
        var none = ByteBuffer()
        fields.write(into: &none) { _, _ in false }
        XCTAssertEqual(none.readableBytes, 0)
    }
}
