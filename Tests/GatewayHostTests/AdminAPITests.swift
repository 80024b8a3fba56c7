@testable import GatewayHost
import NIOCore
import XCTest

/// Who may read and change the configuration through the admin listener.
final class AdminAPITests: XCTestCase {
    private func peer(_ ip: String) throws -> SocketAddress { try SocketAddress(ipAddress: ip, port: 4000) }

    func testWithoutATokenFileOnlyLoopbackClientsAreAnswered() throws {
        for ip in ["127.0.0.1", "127.8.9.10", "::1"] {
            XCTAssertNil(AdminAPI.refusal(authorization: nil, peer: try peer(ip), tokenFile: nil), ip)
        }
        for ip in ["10.0.0.7", "192.168.1.2", "::ffff:10.0.0.7", "2001:db8::1"] {
            XCTAssertEqual(AdminAPI.refusal(authorization: nil, peer: try peer(ip), tokenFile: nil)?.status, .forbidden, ip)
        }
        XCTAssertEqual(AdminAPI.refusal(authorization: nil, peer: nil, tokenFile: nil)?.status, .forbidden)
    }

    func testWithATokenFileEveryClientNeedsTheToken() throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("admin-token-\(getpid())").path
        try "the-token\n".write(toFile: file, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: file) }
        XCTAssertNil(AdminAPI.refusal(authorization: "Bearer the-token", peer: try peer("10.0.0.7"), tokenFile: file))
        XCTAssertEqual(AdminAPI.refusal(authorization: nil, peer: try peer("127.0.0.1"), tokenFile: file)?.status, .unauthorized,
                       "loopback is not enough once a token is set")
        XCTAssertEqual(AdminAPI.refusal(authorization: "Bearer the-toke", peer: try peer("127.0.0.1"), tokenFile: file)?.status, .unauthorized)
        XCTAssertEqual(AdminAPI.refusal(authorization: "Bearer the-token", peer: nil, tokenFile: file + ".missing")?.status,
                       .serviceUnavailable, "an unreadable token file refuses everyone")
    }
}
