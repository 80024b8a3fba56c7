@testable import GatewayHost
import XCTest

/// The proxy's header rules.
final class BackendCallTests: XCTestCase {
    func testForwardedForTakesTheIPOfAPeerAddress() {
        XCTAssertEqual(BackendCall.ipOnly("127.0.0.1:5000"), "127.0.0.1")
        XCTAssertEqual(BackendCall.ipOnly("[::1]:5000"), "::1")
    }

    func testHeaderNamesCompareCaseInsensitivelyWithoutFalseMatches() {
        XCTAssertTrue(BackendCall.name("Transfer-Encoding", isIn: BackendCall.hopByHop))
        XCTAssertTrue(BackendCall.name("KEEP-ALIVE", isIn: BackendCall.hopByHop))
        XCTAssertFalse(BackendCall.name("x-keep", isIn: BackendCall.hopByHop))
        XCTAssertTrue(BackendCall.name("X_Hop", isIn: ["x_hop"]))
        XCTAssertFalse(BackendCall.name("x\u{7f}hop", isIn: ["x_hop"]))
        XCTAssertFalse(BackendCall.name("tf", isIn: BackendCall.hopByHop))
    }
}
