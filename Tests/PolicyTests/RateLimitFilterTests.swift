import PluginKit
import PluginKitTesting
@testable import RateLimitPlugin
import XCTest

/// The `ratelimit` filter's glue in the fake host: a message limit rejects with -32029 and asks
/// for 429; a request limit answers 429 itself with Retry-After.
final class RateLimitFilterTests: XCTestCase {
    func testTheCallAfterTheBucketEmptiedIsRefusedWithA429() throws {
        let host = FakeHost()
        let filter = try host.configure(RateLimitFilter.self, config: #"""
            {"limits":[{"name":"adds","when":"mcp.method == 'tools/call' && mcp.tool.name == 'add'","key":["jwt.sub"],
                        "max_tokens":2,"tokens_per_fill":1,"fill_interval":"1h"}]}
            """#)
        func call(_ sub: String, _ tool: String = "add") -> (decision: RPCVerdict.Decision, code: Int32, message: String) {
            let stream = host.stream(filter, method: "POST", path: "/mcp")
            stream.values[IdentityKeys.jwtClaims] = Array(#"{"sub":"\#(sub)"}"#.utf8)
            let verdict = stream.publish(method: "tools/call", target: tool, targetKind: "tool")
            if verdict.decision == .reject { XCTAssertEqual(stream.rejectionStatus, 429) }
            return verdict
        }
        XCTAssertEqual(call("alice").decision, .allow)
        XCTAssertEqual(call("alice").decision, .allow)
        let refused = call("alice")
        XCTAssertEqual(refused.decision, .reject)
        XCTAssertEqual(refused.code, -32029)
        XCTAssertTrue(refused.message.hasPrefix("Rate limit exceeded ('adds')"), refused.message)
        XCTAssertEqual(call("bob").decision, .allow, "Bob has his own bucket")
        XCTAssertEqual(call("alice", "echo").decision, .allow, "other tools are not limited")
        XCTAssertEqual(host.metric("agw_ratelimit_refused_total", ["route": "test", "limit": "adds"]), 1)
    }

    func testARequestLimitAnswers429WithRetryAfter() throws {
        let host = FakeHost()
        let filter = try host.configure(RateLimitFilter.self, config: #"{"limits":[{"name":"per address","key":["source.address"],"max_tokens":1,"tokens_per_fill":1,"fill_interval":"1h"}]}"#)
        func request() -> FakeStream {
            let stream = host.stream(filter, path: "/x")
            stream.attributes[.peerAddress] = "10.0.0.1:4000"
            _ = stream.runRequestHeaders()
            return stream
        }
        XCTAssertNil(request().localReply)
        let refused = request()
        XCTAssertEqual(refused.localReply?.status, 429)
        XCTAssertNotNil(refused.localReply?.headers.first { $0.name == "retry-after" })
    }
}
