@testable import HTTP1
import NIOCore
import NIOEmbedded
import NIOHTTP1
import XCTest

/// The same requests through NIO's decoder (llhttp, what the gateway used before its own codec)
/// and through ``HTTP1Parser``: the same accept/reject decision for each, and the same head and
/// body when both accept — except where the gateway is stricter on purpose, each listed with
/// its reason.
final class DifferentialTests: XCTestCase {
    /// What NIO's decoder makes of `text`: the request parts, or nil when it refuses the bytes.
    static func nio(_ text: String) -> [String]? {
        let channel = EmbeddedChannel(handler: ByteToMessageHandler(HTTPRequestDecoder(leftOverBytesStrategy: .dropBytes)))
        defer { _ = try? channel.finish() }
        do {
            try channel.writeInbound(ByteBuffer(string: text))
        } catch {
            return nil
        }
        var parts: [String] = []
        while let part = try? channel.readInbound(as: HTTPServerRequestPart.self) {
            switch part {
            case .head(let head): parts.append("head \(head.method.rawValue) \(head.uri) \(head.headers.count)")
            case .body(var body): parts.append("body \(body.readString(length: body.readableBytes) ?? "")")
            case .end: parts.append("end")
            }
        }
        return parts
    }

    /// The same, from ``HTTP1Parser``; nil when it refuses the bytes.
    static func ours(_ text: String) -> [String]? {
        switch HTTP1ParserTests.parse(text) {
        case .failure: return nil
        case .messages(let messages):
            var parts: [String] = []
            for message in messages {
                parts.append("head \(message.method) \(message.target) \(message.fields.count)")
                if !message.body.isEmpty { parts.append("body \(message.body)") }
                parts.append("end")
            }
            return parts
        }
    }

    /// Requests both parsers read, some of them odd.
    static let accepted = [
        "GET / HTTP/1.1\r\nHost: x\r\n\r\n",
        "GET /a?b=c&d=%20 HTTP/1.1\r\nHost: x\r\nAccept: */*\r\nX-Empty:\r\n\r\n",
        "POST /mcp HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n\r\nbody",
        "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 004\r\n\r\nbody",
        "POST / HTTP/1.1\r\nHost: x\r\ntransfer-encoding: Chunked\r\n\r\n4\r\nbody\r\n0\r\n\r\n",
        "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n4;ext=1\r\nbody\r\n0\r\nT: 1\r\n\r\n",
        "GET / HTTP/1.0\r\n\r\n",
        "GET /x HTTP/1.1\r\nHost: x\r\nX-Tab:\tv\t\r\nX-Obs: caf\u{e9}\r\n\r\n",
        "OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n",
        "GET http://example.com/a HTTP/1.1\r\nHost: example.com\r\n\r\n",
        "\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: x\r\n\r\nGET /2 HTTP/1.1\r\nHost: x\r\n\r\n",
        "PATCH / HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n",
    ]

    /// Requests both parsers refuse.
    static let refused = [
        "GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
        "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab",
        "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n",
        "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: x\r\nBad Name: v\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: x\r\nName : v\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: x\r\nX: a\u{1}b\r\n\r\n",
        "GET /a b HTTP/1.1\r\nHost: x\r\n\r\n",
        "GET / HTTP/1.1 extra\r\nHost: x\r\n\r\n",
        "GET / FTP/1.1\r\nHost: x\r\n\r\n",
        "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
        "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabc\r\n0\r\n\r\n",
        "G\u{0}T / HTTP/1.1\r\nHost: x\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: x\r\nX: v\r\n folded\r\n\r\n",
        "GET / HTTP/1.1\nHost: x\n\n",
        "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, identity\r\n\r\n",
        "GET /caf\u{e9} HTTP/1.1\r\nHost: x\r\n\r\n",
    ]

    /// Requests NIO's decoder reads and the gateway refuses, and why.
    static let stricter: [(String, String)] = [
        ("GET / HTTP/1.1\r\n\r\n", "RFC 9112 §3.2: a server MUST answer 400 to an HTTP/1.1 request without Host"),
        ("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", "RFC 9112 §3.2: two Host fields"),
        ("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n", "a coding the gateway cannot decode (501)"),
        ("POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", "RFC 9112 §6.1: Transfer-Encoding in HTTP/1.0 is faulty framing"),
    ]

    /// Requests the gateway reads and NIO's decoder refuses, and why.
    static let lenient: [(String, String)] = [
        ("CUSTOM-METHOD / HTTP/1.1\r\nHost: x\r\n\r\n", "RFC 9110 §9.1: methods are extensible tokens; llhttp knows a fixed list"),
    ]

    func testWhereTheGatewayIsMoreLenientItIsOnPurpose() {
        for (text, reason) in Self.lenient {
            XCTAssertNotNil(Self.ours(text), "the gateway refused \(text.debugDescription) (\(reason))")
            if Self.nio(text) != nil { print("NIO accepts this too now: \(text.debugDescription)") }
        }
    }

    func testBothParsersAgreeOnWhatTheyAccept() {
        for text in Self.accepted {
            let nio = Self.nio(text), ours = Self.ours(text)
            XCTAssertNotNil(nio, "NIO refused \(text.debugDescription)")
            XCTAssertEqual(ours, nio, text.debugDescription)
        }
    }

    func testBothParsersAgreeOnWhatTheyRefuse() {
        for text in Self.refused {
            XCTAssertNil(Self.nio(text), "NIO accepted \(text.debugDescription)")
            XCTAssertNil(Self.ours(text), "the gateway accepted \(text.debugDescription)")
        }
    }

    func testWhereTheGatewayIsStricterItIsOnPurpose() {
        for (text, reason) in Self.stricter {
            XCTAssertNil(Self.ours(text), "the gateway accepted \(text.debugDescription) (\(reason))")
            if Self.nio(text) == nil { print("NIO refuses this too now: \(text.debugDescription)") }
        }
    }
}
