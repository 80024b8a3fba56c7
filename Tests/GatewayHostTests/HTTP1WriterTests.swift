@testable import GatewayHost
import NIOCore
import NIOHTTP1
import XCTest

/// Heads and bodies as bytes: responses framed as NIO's encoder frames them (HEAD, 1xx, 204 and
/// 304 without a body; a length, or chunked on HTTP/1.1, or until the close on HTTP/1.0; codings
/// from the handler never go out), requests to upstreams, and the connection gate's counts.
final class HTTP1WriterTests: XCTestCase {
    func response(_ head: HTTPResponseHead, body: [String] = [], requestIsHEAD: Bool = false, closing: Bool = false) -> (String, Bool) {
        var writer = HTTP1ResponseWriter(allocator: ByteBufferAllocator())
        let keepOpen = writer.writeHead(head, requestIsHEAD: requestIsHEAD, closing: closing)
        var out = ""
        for piece in body {
            if let large = writer.writeBody(ByteBuffer(string: piece), gather: true) {
                out += String(buffer: writer.takePending()!) + String(buffer: large)
                writer.chunkWritten()
            }
        }
        writer.writeEnd()
        out += writer.takePending().map { String(buffer: $0) } ?? ""
        return (out, keepOpen)
    }

    func head(_ status: HTTPResponseStatus, _ fields: [(String, String)] = [], version: HTTPVersion = .http1_1) -> HTTPResponseHead {
        HTTPResponseHead(version: version, status: status, headers: HTTPHeaders(fields))
    }

    func testBodiesAreFramedByLengthOrChunkedAndCodingsNeverGoOut() {
        XCTAssertEqual(response(head(.ok, [("content-length", "2"), ("transfer-encoding", "chunked")]), body: ["ok"]).0,
                       "HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok")
        XCTAssertEqual(response(head(.ok, [("content-type", "text/plain")]), body: ["ab", "c"]).0,
                       "HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ntransfer-encoding: chunked\r\n\r\n2\r\nab\r\n1\r\nc\r\n0\r\n\r\n")
        let large = String(repeating: "x", count: HTTP1ResponseWriter.coalesceLimit + 1)
        XCTAssertEqual(response(head(.ok), body: [large]).0,
                       "HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n1001\r\n\(large)\r\n0\r\n\r\n", "a large chunk goes out on its own, framed")
    }

    func testResponsesThatHaveNoBody() {
        XCTAssertEqual(response(head(.noContent, [("content-length", "5")]), body: ["hello"]).0, "HTTP/1.1 204 No Content\r\n\r\n")
        XCTAssertEqual(response(head(.notModified, [("transfer-encoding", "chunked")])).0, "HTTP/1.1 304 Not Modified\r\n\r\n")
        XCTAssertEqual(response(head(.ok, [("content-length", "5")]), body: ["hello"], requestIsHEAD: true).0,
                       "HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\n", "HEAD: the GET's length, no body")
        XCTAssertEqual(response(head(.ok), requestIsHEAD: true).0, "HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n",
                       "HEAD: the GET's framing, no body, no last chunk")
    }

    func testHTTP10WithoutALengthEndsWithTheConnection() {
        let (bytes, keepOpen) = response(head(.ok, version: .http1_0), body: ["abc"])
        XCTAssertEqual(bytes, "HTTP/1.0 200 OK\r\nconnection: close\r\n\r\nabc")
        XCTAssertFalse(keepOpen)
        let (closing, stays) = response(head(.ok, [("content-length", "1"), ("Connection", "keep-alive")]), body: ["a"], closing: true)
        XCTAssertEqual(closing, "HTTP/1.1 200 OK\r\ncontent-length: 1\r\nconnection: close\r\n\r\na")
        XCTAssertFalse(stays)
    }

    func testRequestsToUpstreams() {
        var out = ByteBuffer()
        let chunked = HTTP1RequestWriter.writeHead(HTTPRequestHead(version: .http1_1, method: .POST, uri: "/mcp",
                                                                  headers: HTTPHeaders([("host", "up"), ("x-a", "1")])), into: &out)
        XCTAssertTrue(chunked, "a POST without a length is chunked")
        XCTAssertEqual(String(buffer: out), "POST /mcp HTTP/1.1\r\nhost: up\r\nx-a: 1\r\ntransfer-encoding: chunked\r\n\r\n")
        out.clear()
        XCTAssertFalse(HTTP1RequestWriter.writeHead(HTTPRequestHead(version: .http1_1, method: .GET, uri: "/",
                                                                   headers: HTTPHeaders([("host", "up")])), into: &out))
        XCTAssertEqual(String(buffer: out), "GET / HTTP/1.1\r\nhost: up\r\n\r\n")
    }

    func testTheConnectionGateCountsPerListenerAndPerAddress() throws {
        let gate = ConnectionGate()
        let a = try SocketAddress(ipAddress: "10.0.0.1", port: 1), b = try SocketAddress(ipAddress: "10.0.0.2", port: 2)
        XCTAssertNil(gate.admit(a, maxConnections: 3, perClient: 2))
        XCTAssertNil(gate.admit(a, maxConnections: 3, perClient: 2))
        guard case .clientFull(2)? = gate.admit(a, maxConnections: 3, perClient: 2) else { return XCTFail("a third from one address") }
        XCTAssertNil(gate.admit(b, maxConnections: 3, perClient: 2))
        guard case .listenerFull(3)? = gate.admit(b, maxConnections: 3, perClient: 2) else { return XCTFail("a fourth in all") }
        gate.release(a, perClient: 2)
        XCTAssertEqual(gate.open, 2)
        XCTAssertNil(gate.admit(a, maxConnections: 3, perClient: 2), "a release makes room")
    }
}
