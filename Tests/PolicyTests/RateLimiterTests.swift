import CEL
import Foundation
import PolicyKit
import RateLimitCore
import RBACCore
import Synchronization
import XCTest

/// A clock the test moves by hand.
private final class ManualClock: Sendable {
    private let now = Mutex<UInt64>(1_000_000_000_000)
    func advance(seconds: Double) { now.withLock { $0 += UInt64(seconds * 1e9) } }
    var read: @Sendable () -> UInt64 { { [self] in now.withLock { $0 } } }
}

final class RateLimiterTests: XCTestCase {
    private func limiter(_ limits: String, maxKeys: Int = 1000, clock: ManualClock) throws -> RateLimiter {
        RateLimiter(config: try RateLimitConfig(json: #"{"max_keys":\#(maxKeys),"limits":[\#(limits)]}"#), clock: clock.read)
    }

    func testRefillsAsConfigured() throws {
        let clock = ManualClock()
        let limiter = try limiter(#"{"name":"per-user","key":["jwt.sub"],"max_tokens":3,"tokens_per_fill":1,"fill_interval":"10s"}"#, clock: clock)
        let alice = Caller(sub: "alice")
        guard case .admitted(let quota?) = limiter.check(perMessage: false, alice) else { return XCTFail("not admitted") }
        XCTAssertEqual(quota, .init(limit: "per-user", maxTokens: 3, remaining: 2, resetSeconds: 10))
        for _ in 0..<2 { XCTAssertNil(limiter.admit(perMessage: false, alice)) }
        XCTAssertEqual(limiter.admit(perMessage: false, alice), .init(limit: "per-user", maxTokens: 3, retryAfterSeconds: 10))
        XCTAssertNil(limiter.admit(perMessage: false, Caller(sub: "bob")), "bob has his own bucket")
        clock.advance(seconds: 4)
        XCTAssertEqual(limiter.admit(perMessage: false, alice)?.retryAfterSeconds, 6)
        clock.advance(seconds: 6)
        XCTAssertNil(limiter.admit(perMessage: false, alice), "one token after one interval")
        XCTAssertNotNil(limiter.admit(perMessage: false, alice))
        clock.advance(seconds: 3600)
        for _ in 0..<3 { XCTAssertNil(limiter.admit(perMessage: false, alice)) }
        XCTAssertNotNil(limiter.admit(perMessage: false, alice), "refills stop at max_tokens")
    }

    func testMessageLimitsApplyOnlyWhenTheirConditionHolds() throws {
        let clock = ManualClock()
        let limiter = try limiter(#"""
            {"name":"all","key":["jwt.sub"],"max_tokens":100,"fill_interval":"1m"},
            {"name":"deletes","when":"mcp.tool.name.startsWith(\"delete_\")","key":["jwt.sub"],"max_tokens":2,"fill_interval":"1m"}
            """#, clock: clock)
        XCTAssertFalse(limiter.config.limits[0].perMessage)
        XCTAssertTrue(limiter.config.limits[1].perMessage)
        for _ in 0..<2 { XCTAssertNil(limiter.admit(perMessage: true, Caller(sub: "a", tool: "delete_row"))) }
        XCTAssertEqual(limiter.admit(perMessage: true, Caller(sub: "a", tool: "delete_row"))?.limit, "deletes")
        XCTAssertNil(limiter.admit(perMessage: true, Caller(sub: "a", tool: "read_row")))
        XCTAssertNil(limiter.admit(perMessage: false, Caller(sub: "a")))
    }

    func testCallersWithoutTheKeyShareOneBucket() throws {
        let limiter = try limiter(#"{"key":["jwt.sub"],"max_tokens":1,"fill_interval":"1h"}"#, clock: ManualClock())
        XCTAssertNil(limiter.admit(perMessage: false, Caller(sub: nil, address: "1.1.1.1")))
        XCTAssertNotNil(limiter.admit(perMessage: false, Caller(sub: nil, address: "2.2.2.2")))
    }

    func testExactlyNOfAConcurrentBurstPass() throws {
        let limiter = try limiter(#"{"key":["source.address"],"max_tokens":50,"fill_interval":"1h"}"#, clock: ManualClock())
        let passed = Mutex(0)
        DispatchQueue.concurrentPerform(iterations: 400) { _ in
            if limiter.admit(perMessage: false, Caller(sub: "x")) == nil { passed.withLock { $0 += 1 } }
        }
        XCTAssertEqual(passed.withLock { $0 }, 50)
    }

    func testTrackedKeysAreCapped() throws {
        let clock = ManualClock()
        let limiter = try limiter(#"{"key":["jwt.sub"],"max_tokens":1,"fill_interval":"1h"}"#, maxKeys: 10, clock: clock)
        XCTAssertNil(limiter.admit(perMessage: false, Caller(sub: "first")))
        for i in 0..<100 { _ = limiter.admit(perMessage: false, Caller(sub: "user\(i)")) }
        XCTAssertEqual(limiter.trackedKeys, 10)
        XCTAssertNil(limiter.admit(perMessage: false, Caller(sub: "first")), "evicted, so it starts full again")
    }

    func testConfigErrors() {
        func error(_ json: String) -> String? {
            do {
                _ = try RateLimitConfig(json: json)
                return nil
            } catch { return error.description }
        }
        XCTAssertEqual(error(#"{"limits":[{"max_tokens":1,"fill_interval":"soon"}]}"#),
                       "limits[0].fill_interval = \"soon\": use a duration such as \"500ms\", \"1s\", \"1m\" or \"1h\" (at least 1ms)")
        XCTAssertEqual(error(#"{"limits":[{"fill_interval":"1s"}]}"#), "limits[0]: 'max_tokens' is required")
        XCTAssertEqual(error(#"{"limits":[{"name":"x","max_tokens":1,"fill_interval":"1s","when":"request.path"}]}"#),
                       "limits[0].when ('x'): must be a bool expression, this one is a string")
        XCTAssertEqual(error(#"{"limits":[{"name":"x","max_tokens":1,"fill_interval":"1s","key":["jwt."]}]}"#)?.hasPrefix("limits[0].key[0] ('x'): column 5"), true)
    }
}
