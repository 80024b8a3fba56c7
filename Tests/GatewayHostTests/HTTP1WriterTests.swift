@testable import GatewayHost
import HTTP1
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

    /// An upstream's head written from its bytes is what writing its `forwardedHead` writes,
    /// byte for byte, for every framing: a length, chunked, none, 204/304, HEAD, HTTP/1.0 both
    /// ways, closing, with hop-by-hop fields and ones the `Connection` field names.
    func testAnUpstreamHeadWrittenFromBytesIsTheForwardedHead() throws {
        let heads = [
            "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\n",
            "HTTP/1.1 200 OK\r\nConnection: keep-alive, X-Private\r\nx-private: s\r\nKeep-Alive: timeout=5\r\nX-Kept: 1\r\n"
                + "Transfer-Encoding: chunked\r\n\r\n",
            "HTTP/1.1 404 Whatever\r\nconnection: close\r\ncontent-length: 0\r\n\r\n",
            "HTTP/1.1 204 No Content\r\nContent-Length: 5\r\nX-A:  spaced value \r\n\r\n",
            "HTTP/1.1 304 Not Modified\r\nETag: \"x\"\r\n\r\n",
            "HTTP/1.0 200 OK\r\nServer: old\r\n\r\n",
            "HTTP/1.1 599 Custom\r\nProxy-Connection: x\r\nUpgrade: h2c\r\nTrailer: x\r\nTE: trailers\r\nConnection: ,,  ,x-b\r\nX-B: 2\r\n\r\n",
        ]
        for text in heads {
            for version in [HTTPVersion.http1_1, .http1_0] {
                for (requestIsHEAD, closing) in [(false, false), (true, false), (false, true)] {
                    var parser = HTTP1Parser(role: .response)
                    parser.requestIsHEAD = requestIsHEAD
                    var buffer = ByteBuffer(string: text)
                    guard case .head(let parsed, let bytes) = try parser.step(&buffer) else { return XCTFail("no head: \(text)") }
                    let upstream = UpstreamHead(head: parsed, bytes: bytes)
                    var expected = upstream.forwardedHead
                    expected.version = version
                    var fromHead = HTTP1ResponseWriter(allocator: ByteBufferAllocator())
                    var fromBytes = HTTP1ResponseWriter(allocator: ByteBufferAllocator())
                    let keepsOpen = fromHead.writeHead(expected, requestIsHEAD: requestIsHEAD, closing: closing)
                    let keepsOpenFromBytes = fromBytes.writeHead(forwarding: upstream, version: version, requestIsHEAD: requestIsHEAD, closing: closing)
                    let what = "\(text) as \(version), HEAD \(requestIsHEAD), closing \(closing)"
                    XCTAssertEqual(fromBytes.takePending().map { String(buffer: $0) }, fromHead.takePending().map { String(buffer: $0) }, what)
                    XCTAssertEqual(keepsOpenFromBytes, keepsOpen, what)
                    XCTAssertEqual(fromBytes.framing, fromHead.framing, what)
                }
            }
        }
    }

    /// The gathered buffer is reused once the bytes taken from it are released: no new storage
    /// per response.
    func testTheWriterReusesItsBufferOnceTheTakenBytesAreGone() {
        var writer = HTTP1ResponseWriter(allocator: ByteBufferAllocator())
        _ = writer.writeHead(head(.ok, [("content-length", "2")]), requestIsHEAD: false, closing: false)
        _ = writer.writeBody(bytes: UnsafeRawBufferPointer(start: "ok", count: 2))
        let first = writer.takePending()!.withUnsafeReadableBytes { UInt(bitPattern: $0.baseAddress) }
        _ = writer.writeHead(head(.ok, [("content-length", "2")]), requestIsHEAD: false, closing: false)
        let out = writer.takePending()!
        XCTAssertEqual(String(buffer: out), "HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n")
        XCTAssertEqual(out.withUnsafeReadableBytes { UInt(bitPattern: $0.baseAddress) }, first, "the same storage, from its start")
        // While taken bytes are still held, the next response gets storage of its own.
        let held = out
        _ = writer.writeHead(head(.noContent), requestIsHEAD: false, closing: false)
        XCTAssertEqual(String(buffer: writer.takePending()!), "HTTP/1.1 204 No Content\r\n\r\n")
        XCTAssertEqual(String(buffer: held), "HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n", "what was taken is unchanged")
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
