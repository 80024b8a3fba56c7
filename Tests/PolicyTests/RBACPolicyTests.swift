import CEL
import Foundation
import PolicyKit
import RateLimitCore
import RBACCore
import Synchronization
import XCTest

final class RBACPolicyTests: XCTestCase {
    private func config(_ rules: String) throws -> RBACConfig { try RBACConfig(json: #"{"rules":[\#(rules)]}"#) }

    func testDenyWinsAllowMatchesAndEverythingElseIsDenied() throws {
        let policy = try config(#"""
            {"name":"alice-sum","allow":"jwt.sub == \"alice\" && mcp.tool.name == \"get_sum\""},
            {"name":"admins","allow":"\"admins\" in jwt.groups"},
            {"name":"no-deletes","deny":"mcp.tool.name.startsWith(\"delete_\") && !(\"root\" in jwt.groups)"}
            """#).messages
        XCTAssertEqual(policy.decide(Caller(sub: "alice", tool: "get_sum")), .init(allowed: true, rule: "alice-sum", failures: [], ruleIndex: 0))
        XCTAssertEqual(policy.decide(Caller(sub: "alice", tool: "get_product")), .init(allowed: false, rule: nil, failures: []))
        XCTAssertEqual(policy.decide(Caller(sub: "bob", groups: ["admins"], tool: "get_product")).rule, "admins")
        XCTAssertEqual(policy.decide(Caller(sub: "bob", groups: ["admins"], tool: "get_product")).ruleIndex, 1)
        XCTAssertEqual(policy.decide(Caller(sub: "bob", groups: ["admins"], tool: "delete_all")), .init(allowed: false, rule: "no-deletes", failures: [], ruleIndex: 2))
        XCTAssertTrue(policy.decide(Caller(sub: "bob", groups: ["admins", "root"], tool: "delete_all")).allowed)
        // No token: jwt.sub is missing; that rule fails to evaluate, the caller is denied by default.
        let anonymous = policy.decide(Caller(sub: nil, tool: "get_sum"))
        XCTAssertFalse(anonymous.allowed)
        XCTAssertNil(anonymous.rule)
        XCTAssertTrue(anonymous.explanation.hasPrefix("denied by default"), anonymous.explanation)
    }

    func testConfigErrorsNameTheRuleAndTheColumn() {
        func error(_ json: String) -> String? {
            do {
                _ = try RBACConfig(json: json)
                return nil
            } catch { return error.description }
        }
        XCTAssertEqual(error(#"{"rules":[{"name":"typo","allow":"mcp.tool.nmae == \"x\""}]}"#),
                       "rules[0] ('typo'): column 9: mcp.tool has no field 'nmae' (fields: arguments, name, target) in `mcp.tool.nmae == \"x\"`")
        XCTAssertEqual(error(#"{"http_rules":[{"allow":"mcp.method == \"x\""}]}"#)?.contains("undeclared reference to 'mcp'"), true)
        XCTAssertEqual(error(#"{"rules":[{"allow":"jwt.sub ==","deny":"true"}]}"#),
                       "rules[0]: give exactly one of allow = \"<expression>\" or deny = \"<expression>\"")
        XCTAssertEqual(error(#"{"rules":[{"allow":"jwt.sub"}]}"#)?.hasSuffix("is a dyn"), nil)
        XCTAssertEqual(error(#"{"rules":[{"allow":"request.method"}]}"#)?.contains("a rule must be a bool expression"), true)
        XCTAssertEqual(error(#"{"rules":[{"alow":"true"}]}"#), "unknown key 'rules[0].alow'")
        XCTAssertEqual(error(#"{}"#)?.hasPrefix("no rules"), true)
    }
}
