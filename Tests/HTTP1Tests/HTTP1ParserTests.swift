@testable import HTTP1
import XCTest

/// The parser on whole messages and on the same bytes arriving one at a time: heads, bodies of
/// every framing, pipelining, and every refusal with its status.
final class HTTP1ParserTests: XCTestCase {
    /// What a connection's bytes parse to.
    struct Message: Equatable {
        var method = ""
        var target = ""
        var status = 0
        var fields: [String] = []
        var body = ""
        var keepAlive = true
        var framing: HTTP1Framing = .none
    }

    enum Outcome: Equatable {
        case messages([Message])
        case failure(Int, String)
    }

    /// Parses `text` fed in pieces of `step` bytes (0: all at once), as a connection would.
    static func parse(_ text: String, role: HTTP1Parser.Role = .request, step: Int = 0, limits: HTTP1Limits = HTTP1Limits(),
                      closeAtEnd: Bool = false, headRequest: Bool = false) -> Outcome {
        var parser = HTTP1Parser(role: role, limits: limits)
        parser.requestIsHEAD = headRequest
        let input = Array(text.utf8)
        var buffered: [UInt8] = []
        var fed = 0
        var messages: [Message] = []
        var current = Message()
        func string(_ bytes: ArraySlice<UInt8>) -> String { String(decoding: bytes, as: UTF8.self) }
        do throws(HTTP1Error) {
            while true {
                let (part, consumed) = try buffered.withUnsafeBytes { bytes in
                    Result { () throws(HTTP1Error) in try parser.parse(bytes) }
                }.get()
                switch part {
                case .needMore:
                    if consumed == 0 {
                        guard fed < input.count else {
                            if closeAtEnd, let last = try parser.connectionClosed(), last == .end { messages.append(current) }
                            return .messages(messages)
                        }
                        let next = step == 0 ? input.count : min(input.count, fed + step)
                        buffered += input[fed..<next]
                        fed = next
                    }
                case .head(let head):
                    current = Message(method: string(buffered[head.method]), target: string(buffered[head.target]), status: head.status,
                                      fields: head.fields.map { string(buffered[$0.name]) + ": " + string(buffered[$0.value]) },
                                      keepAlive: head.keepAlive, framing: head.framing)
                    if role == .response, (100..<200).contains(head.status) { messages.append(current) }
                case .body(let range):
                    current.body += string(buffered[range])
                case .end:
                    messages.append(current)
                }
                buffered.removeFirst(consumed)
            }
        } catch {
            return .failure(error.status, error.reason)
        }
    }

    /// The same outcome whole and byte by byte.
    func outcome(_ text: String, role: HTTP1Parser.Role = .request, limits: HTTP1Limits = HTTP1Limits(), closeAtEnd: Bool = false,
                 headRequest: Bool = false, file: StaticString = #filePath, line: UInt = #line) -> Outcome {
        let whole = Self.parse(text, role: role, limits: limits, closeAtEnd: closeAtEnd, headRequest: headRequest)
        let drip = Self.parse(text, role: role, step: 1, limits: limits, closeAtEnd: closeAtEnd, headRequest: headRequest)
        XCTAssertEqual(whole, drip, "fed byte by byte", file: file, line: line)
        return whole
    }

    func status(_ text: String, limits: HTTP1Limits = HTTP1Limits(), file: StaticString = #filePath, line: UInt = #line) -> Int {
        if case .failure(let status, _) = outcome(text, limits: limits, file: file, line: line) { return status }
        return 200
    }

    func testARequestWithFieldsAndALengthBody() {
        let parsed = outcome("POST /mcp?x=1 HTTP/1.1\r\nHost: gw\r\nContent-Type:application/json \r\nContent-Length: 5\r\n\r\nhello")
        XCTAssertEqual(parsed, .messages([Message(method: "POST", target: "/mcp?x=1", fields: ["Host: gw", "Content-Type: application/json", "Content-Length: 5"],
                                                  body: "hello", framing: .length(5))]))
    }

    func testPipelinedRequestsAndEmptyLinesBetweenThem() {
        let parsed = outcome("GET /a HTTP/1.1\r\nHost: x\r\n\r\n\r\nPOST /b HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nokGET /c HTTP/1.0\r\n\r\n")
        guard case .messages(let messages) = parsed else { return XCTFail("\(parsed)") }
        XCTAssertEqual(messages.map(\.target), ["/a", "/b", "/c"])
        XCTAssertEqual(messages.map(\.body), ["", "ok", ""])
        XCTAssertEqual(messages.map(\.keepAlive), [true, true, false], "HTTP/1.0 closes unless it says keep-alive")
    }

    func testChunkedBodiesWithExtensionsAndTrailers() {
        let text = "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5;name=value\r\nhello\r\n0a\r\n, world!!!\r\n0\r\nX-Checksum: 1\r\n\r\n"
        guard case .messages(let messages) = outcome(text) else { return XCTFail() }
        XCTAssertEqual(messages.map(\.body), ["hello, world!!!"])
        XCTAssertEqual(messages.first?.framing, .chunked)
    }

    func testConnectionFieldsDecideKeepAlive() {
        guard case .messages(let messages) = outcome("GET / HTTP/1.1\r\nHost: x\r\nConnection: keep-alive, Close\r\n\r\nGET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
        else { return XCTFail() }
        XCTAssertEqual(messages.map(\.keepAlive), [false, true])
    }

    func testSmugglingShapesAreRefused() {
        let host = "Host: x\r\n"
        XCTAssertEqual(status("POST / HTTP/1.1\r\n\(host)Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"), 400)
        XCTAssertEqual(status("POST / HTTP/1.1\r\n\(host)Content-Length: 5\r\nContent-Length: 6\r\n\r\nhello!"), 400)
        XCTAssertEqual(status("POST / HTTP/1.1\r\n\(host)Content-Length: 5, 6\r\n\r\nhello!"), 400)
        XCTAssertEqual(status("POST / HTTP/1.1\r\n\(host)Content-Length: 5, 5\r\n\r\nhello"), 200, "the same length twice is one length")
        XCTAssertEqual(status("POST / HTTP/1.1\r\n\(host)Content-Length: +5\r\n\r\nhello"), 400)
        XCTAssertEqual(status("POST / HTTP/1.1\r\n\(host)Content-Length: 0x5\r\n\r\nhello"), 400)
        XCTAssertEqual(status("POST / HTTP/1.1\r\n\(host)Content-Length:\r\n\r\n"), 400)
        XCTAssertEqual(status("POST / HTTP/1.1\r\n\(host)Transfer-Encoding: chunked, identity\r\n\r\n"), 400)
        XCTAssertEqual(status("POST / HTTP/1.1\r\n\(host)Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"), 400)
        XCTAssertEqual(status("POST / HTTP/1.1\r\n\(host)Transfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n"), 501)
        XCTAssertEqual(status("POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"), 400)
        XCTAssertEqual(status("POST / HTTP/1.1\r\n\(host)Transfer-Encoding : chunked\r\n\r\n0\r\n\r\n"), 400, "space before the colon")
        XCTAssertEqual(status("GET / HTTP/1.1\r\n\(host)X-A: 1\r\n folded\r\n\r\n"), 400, "obs-fold")
        XCTAssertEqual(status("GET / HTTP/1.1\nHost: x\n\n"), 400, "bare LF")
        XCTAssertEqual(status("GET / HTTP/1.1\r\nHost: x\rX: 1\r\n\r\n"), 400, "bare CR")
        XCTAssertEqual(status("GET / HTTP/1.1\r\nHost: a\u{0}b\r\n\r\n"), 400, "NUL in a value")
        XCTAssertEqual(status("GET / HTTP/1.1\r\nHo(st: a\r\n\r\n"), 400, "a name that is not a token")
        XCTAssertEqual(status("GET / HTTP/1.1\r\n\r\n"), 400, "no Host")
        XCTAssertEqual(status("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n"), 400, "two Hosts")
        XCTAssertEqual(status("GET /a b HTTP/1.1\r\nHost: x\r\n\r\n"), 400, "a space in the target")
        XCTAssertEqual(status("GET / HTTP/1.1 \r\nHost: x\r\n\r\n"), 400)
        XCTAssertEqual(status("GET / HTTP/2.0\r\nHost: x\r\n\r\n"), 505)
        XCTAssertEqual(status("GET / FTP/1.1\r\nHost: x\r\n\r\n"), 400)
        XCTAssertEqual(status("G@T / HTTP/1.1\r\nHost: x\r\n\r\n"), 400)
    }

    func testMalformedChunksAreRefused() {
        let head = "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
        XCTAssertEqual(status(head + "g\r\n"), 400)
        XCTAssertEqual(status(head + "5\r\nhelloX\r\n"), 400, "data not followed by CRLF")
        XCTAssertEqual(status(head + "5\nhello\r\n"), 400)
        XCTAssertEqual(status(head + "ffffffffffffffff\r\n"), 400, "a size that overflows")
        XCTAssertEqual(status(head + "5;a\u{1}\r\nhello\r\n"), 400, "a control character in an extension")
        XCTAssertEqual(status(head + "0\r\nBad Trailer\r\n\r\n"), 400)
    }

    func testLimitsAnswer414And431() {
        let limits = HTTP1Limits(maxRequestLineBytes: 64, maxHeadBytes: 256, maxFields: 3, maxFieldBytes: 100)
        XCTAssertEqual(status("GET /\(String(repeating: "a", count: 100)) HTTP/1.1\r\nHost: x\r\n\r\n", limits: limits), 414)
        XCTAssertEqual(status("GET /\(String(repeating: "a", count: 100))", limits: limits), 414, "known before the line ends")
        XCTAssertEqual(status(String(repeating: "A", count: 100), limits: limits), 400, "no method: not a long target")
        XCTAssertEqual(status("GET / HTTP/1.1\r\nHost: x\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n", limits: limits), 431)
        XCTAssertEqual(status("GET / HTTP/1.1\r\nHost: x\r\nA: \(String(repeating: "v", count: 120))\r\n\r\n", limits: limits), 431)
        XCTAssertEqual(status("GET / HTTP/1.1\r\nHost: x\r\nA: \(String(repeating: "v", count: 300))", limits: limits), 431,
                       "an endless head is refused before it ends")
    }

    func testResponsesOfEveryFraming() {
        guard case .messages(let messages) = outcome(
            "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokHTTP/1.1 204 No Content\r\nContent-Length: 9\r\n\r\n"
            + "HTTP/1.1 200\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nhi\r\n0\r\n\r\nHTTP/1.0 200 OK\r\n\r\nuntil close", role: .response, closeAtEnd: true)
        else { return XCTFail() }
        XCTAssertEqual(messages.map(\.status), [100, 200, 204, 200, 200])
        XCTAssertEqual(messages.map(\.body), ["", "ok", "", "hi", "until close"])
        XCTAssertEqual(messages.last?.framing, .untilClose)
        XCTAssertEqual(messages.last?.keepAlive, false)
        XCTAssertEqual(outcome("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n", role: .response, headRequest: true),
                       .messages([Message(method: "200", target: "OK", status: 200, fields: ["Content-Length: 5"], framing: .none)]), "a response to HEAD has no body")
        if case .failure(let status, _) = outcome("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhel", role: .response, closeAtEnd: true) {
            XCTAssertEqual(status, 400, "a body cut short by the close")
        } else {
            XCTFail("a truncated body was accepted")
        }
        if case .failure = outcome("HTTP/1.1 2000 OK\r\n\r\n", role: .response) {} else { XCTFail("a four-digit status") }
    }

    func testOneByteAtATimeIsOneScan() throws {
        // 8,000 bytes of a field arriving one at a time: the scan resumes where it stopped.
        var parser = HTTP1Parser(role: .request)
        var bytes = Array("GET / HTTP/1.1\r\nHost: x\r\nX: ".utf8)
        for _ in 0..<8000 {
            bytes.append(UInt8(ascii: "v"))
            let (part, consumed) = try bytes.withUnsafeBytes { try parser.parse($0) }
            XCTAssertEqual(part, .needMore)
            XCTAssertEqual(consumed, 0)
        }
        bytes += Array("\r\n\r\n".utf8)
        let (part, _) = try bytes.withUnsafeBytes { try parser.parse($0) }
        guard case .head(let head) = part else { return XCTFail("\(part)") }
        XCTAssertEqual(head.fields.count, 2)
    }
}
