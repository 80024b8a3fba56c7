import Crypto
import Foundation
@testable import JWTAuthPlugin
import PluginKit
import PluginKitTesting
import XCTest

/// The `jwt-auth` filter's glue in the fake host, with API keys: the identity handed to later
/// filters, the 401s, the modes, the counters.
final class JWTAuthFilterTests: XCTestCase {
    static func config(mode: String = "strict") -> String {
        let digest = SHA256.hash(data: Data("ci-secret".utf8)).map { String(format: "%02x", $0) }.joined()
        return #"{"mode":"\#(mode)","api_keys":[{"name":"ci","sha256":"\#(digest)","groups":["deployers"]}]}"#
    }

    func testAValidAPIKeyHandsTheIdentityToTheFiltersAfter() throws {
        let host = FakeHost()
        let filter = try host.configure(JWTAuthFilter.self, config: Self.config())
        let stream = host.stream(filter, headers: [("x-api-key", "ci-secret")])
        XCTAssertEqual(stream.runRequestHeaders(), .continue)
        XCTAssertEqual(stream.values[IdentityKeys.method].map { String(decoding: $0, as: UTF8.self) }, "api_key")
        XCTAssertEqual(stream.values[IdentityKeys.subject].map { String(decoding: $0, as: UTF8.self) }, "ci")
        XCTAssertTrue(stream.values[IdentityKeys.apiKey].map { String(decoding: $0, as: UTF8.self) }?.contains("deployers") ?? false)
        XCTAssertEqual(host.metric("agw_jwt_auth_accepted_total"), 1)
    }

    func testAWrongOrMissingKeyGets401InStrictModeAndPassesInOptional() throws {
        let host = FakeHost()
        let strict = try host.configure(JWTAuthFilter.self, config: Self.config())
        let wrong = host.stream(strict, headers: [("x-api-key", "guess")])
        XCTAssertEqual(wrong.runRequestHeaders(), .replied)
        XCTAssertEqual(wrong.localReply?.status, 401)
        XCTAssertTrue(wrong.localReply?.headers.contains { $0.name == "www-authenticate" && $0.value.contains("invalid_token") } ?? false)
        let none = host.stream(strict)
        XCTAssertEqual(none.runRequestHeaders(), .replied)
        XCTAssertEqual(none.localReply?.status, 401)
        XCTAssertEqual(host.metric("agw_jwt_auth_rejected_total"), 2)
        let optional = try host.configure(JWTAuthFilter.self, config: Self.config(mode: "optional"))
        XCTAssertEqual(host.stream(optional).runRequestHeaders(), .continue)
    }
}
