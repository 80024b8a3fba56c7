@testable import GatewayHost
import HTTP1
import NIOCore
import XCTest

/// The proxy's header rules.
final class BackendCallTests: XCTestCase {
    func testForwardedForTakesTheIPOfAPeerAddress() {
        XCTAssertEqual(BackendCall.ipOnly("127.0.0.1:5000"), "127.0.0.1")
        XCTAssertEqual(BackendCall.ipOnly("[::1]:5000"), "::1")
    }

    func testHeaderNamesCompareCaseInsensitivelyWithoutFalseMatches() {
        func dropped(_ name: String) -> Bool { Array(name.utf8).withUnsafeBytes { BackendCall.isDropped($0) } }
        XCTAssertTrue(dropped("Transfer-Encoding"))
        XCTAssertTrue(dropped("KEEP-ALIVE"))
        XCTAssertTrue(dropped("Proxy-Authorization"))
        XCTAssertTrue(dropped("HOST"))
        XCTAssertFalse(dropped("x-keep"))
        XCTAssertFalse(dropped("tf"))
        XCTAssertFalse(dropped("hosts"))
        func same(_ name: String, _ other: String) -> Bool {
            Array(name.utf8).withUnsafeBytes { name in Array(other.utf8).withUnsafeBytes { FieldName.bytes(name, equal: $0) } }
        }
        XCTAssertTrue(same("X-Hop", "x-hop"))
        XCTAssertFalse(same("x\u{7f}hop", "x_hop"))  // differ only in bit 0x20, but not letters
        XCTAssertFalse(same("x@hop", "x`hop"))
        XCTAssertTrue(Array("x_hop".utf8).withUnsafeBytes { FieldName.string("X_HOP", equals: $0) })
    }

    /// The response head forwarded to the client: hop-by-hop fields and the fields the upstream's
    /// `Connection` names are dropped, the rest kept in order with their case.
    func testAnUpstreamResponseLosesItsHopByHopFields() throws {
        var parser = HTTP1Parser(role: .response)
        var buffer = ByteBuffer(string: "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nConnection: keep-alive, X-Private\r\n"
                                    + "x-private: secret\r\nKeep-Alive: timeout=5\r\nTE: trailers\r\nX-Kept: 1\r\nContent-Length: 2\r\n\r\nok")
        guard case .head(let head, let bytes) = try parser.step(&buffer) else { return XCTFail("no head") }
        let forwarded = UpstreamHead(head: head, bytes: bytes).forwardedHead
        XCTAssertEqual(forwarded.status.code, 200)
        XCTAssertEqual(forwarded.headers.map { "\($0.name): \($0.value)" }, ["Content-Type: text/plain", "X-Kept: 1", "Content-Length: 2"])
    }
}
