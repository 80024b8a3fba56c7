import PluginKit
import PluginKitTesting
@testable import RBACPlugin
import XCTest

/// The `rbac` filter's glue in the fake host: HTTP rules answer 403; message rules hide what a
/// caller may not use, the way the MCP handler hides what does not exist.
final class RBACFilterTests: XCTestCase {
    static let config = #"""
        {"http_rules":[{"name":"no admin paths","deny":"request.path.startsWith('/admin')"},{"name":"rest","allow":"true"}],
         "rules":[{"name":"alice adds","allow":"jwt.sub == 'alice' && mcp.tool.name == 'add'"}]}
        """#

    private func stream(_ host: FakeHost, _ filter: FakeFilter, sub: String, path: String = "/mcp") -> FakeStream {
        let stream = host.stream(filter, method: "POST", path: path)
        stream.values[IdentityKeys.subject] = Array(sub.utf8)
        stream.values[IdentityKeys.jwtClaims] = Array(#"{"sub":"\#(sub)"}"#.utf8)
        return stream
    }

    func testAnHTTPRuleThatDeniesAnswers403() throws {
        let host = FakeHost()
        let filter = try host.configure(RBACFilter.self, config: Self.config)
        let denied = stream(host, filter, sub: "alice", path: "/admin/x")
        XCTAssertEqual(denied.runRequestHeaders(), .replied)
        XCTAssertEqual(denied.localReply?.status, 403)
        XCTAssertEqual(stream(host, filter, sub: "alice").runRequestHeaders(), .continue)
        // Decisions by route (the instance name's prefix), deciding rule and outcome.
        XCTAssertEqual(host.metric("agw_rbac_decisions_total", ["route": "test", "rule": "no admin paths", "decision": "deny"]), 1)
        XCTAssertEqual(host.metric("agw_rbac_decisions_total", ["route": "test", "rule": "rest", "decision": "allow"]), 1)
        XCTAssertNil(host.metric("agw_rbac_decisions_total", ["route": "test", "rule": "(default)", "decision": "deny"]))
    }

    func testACallTheCallerMayNotMakeFailsLikeAnUnknownTool() throws {
        let host = FakeHost()
        let filter = try host.configure(RBACFilter.self, config: Self.config)
        let alice = stream(host, filter, sub: "alice")
        XCTAssertEqual(alice.publish(method: "tools/call", target: "add", targetKind: "tool", params: #"{"name":"a_add"}"#).decision, .allow)
        let bob = stream(host, filter, sub: "bob")
        let verdict = bob.publish(method: "tools/call", target: "add", targetKind: "tool", params: #"{"name":"a_add"}"#)
        XCTAssertEqual(verdict.decision, .reject)
        XCTAssertEqual(verdict.code, -32602)
        XCTAssertEqual(verdict.message, "Unknown tool: a_add")
        // Lists are filtered item by item; what is not decided (initialize, ping) passes.
        XCTAssertEqual(bob.publish(method: "tools/list", target: "add", targetKind: "tool", params: #"{"name":"a_add"}"#, kind: .listItem).decision, .reject)
        XCTAssertEqual(bob.publish(method: "ping").decision, .allow)
    }

    func testABrokenRuleRejectsTheConfigWithItsPosition() {
        let host = FakeHost()
        XCTAssertThrowsError(try host.configure(RBACFilter.self, config: #"{"rules":[{"name":"x","allow":"jwt.sub =="}]}"#)) { error in
            XCTAssertTrue("\(error)".contains("rules[0]"), "\(error)")
        }
    }

    /// `jwt.sub` is read from the subject the auth filter recorded when the method is `jwt`, and
    /// from the claims otherwise: both give the same decisions, other claims come from the
    /// claims, and an API key's name is never a token's subject.
    func testJWTSubjectComesFromTheAuthFiltersValuesOrTheClaims() throws {
        let host = FakeHost()
        let filter = try host.configure(RBACFilter.self, config: #"""
            {"rules":[{"name":"alice","allow":"jwt.sub == 'alice'"},{"name":"admins","allow":"'admin' in jwt.groups"}]}
            """#)
        func allowed(_ values: [String: String]) -> Bool {
            let stream = host.stream(filter, method: "POST", path: "/mcp")
            for (key, value) in values { stream.values[key] = Array(value.utf8) }
            return stream.publish(method: "tools/call", target: "add", targetKind: "tool", params: #"{"name":"add"}"#).decision == .allow
        }
        let aliceClaims = #"{"iss":"i","sub":"alice"}"#
        XCTAssertTrue(allowed([IdentityKeys.method: "jwt", IdentityKeys.subject: "alice", IdentityKeys.jwtClaims: aliceClaims]))
        XCTAssertTrue(allowed([IdentityKeys.method: "jwt", IdentityKeys.jwtClaims: aliceClaims]), "no subject recorded: the claims")
        XCTAssertFalse(allowed([IdentityKeys.method: "jwt", IdentityKeys.subject: "bob", IdentityKeys.jwtClaims: #"{"sub":"bob"}"#]))
        XCTAssertFalse(allowed([IdentityKeys.method: "api_key", IdentityKeys.subject: "alice", IdentityKeys.apiKey: #"{"name":"alice"}"#]),
                       "a key named alice is not the token subject alice")
        XCTAssertTrue(allowed([IdentityKeys.method: "jwt", IdentityKeys.subject: "carol",
                                 IdentityKeys.jwtClaims: #"{"sub":"carol","groups":["admin"]}"#]), "another claim: from the claims")
        XCTAssertFalse(allowed([:]), "no token at all")
    }
}
