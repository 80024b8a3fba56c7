import A2ACore
import XCTest

/// Tasks and contexts belong to the caller that created them; everything else is refused.
final class TaskRegistryTests: XCTestCase {
    func testOnlyTheOwnerMayNameATaskAndAnUnknownOneIsRefused() {
        var registry = TaskRegistry(capacity: 10, ttl: 60)
        registry.record(task: "t-1", context: "c-1", agent: "travel", owner: "jwt:alice", now: 0)
        XCTAssertEqual(registry.access(task: "t-1", agent: "travel", caller: "jwt:alice", now: 1), .allowed)
        XCTAssertEqual(registry.access(task: "t-1", agent: "travel", caller: "jwt:bob", now: 1), .foreign)
        XCTAssertEqual(registry.access(task: "t-1", agent: "travel", caller: nil, now: 1), .foreign, "anonymous is nobody's owner")
        XCTAssertEqual(registry.access(task: "t-1", agent: "other", caller: "jwt:alice", now: 1), .unknown, "agents do not share ids")
        XCTAssertEqual(registry.access(task: "t-2", agent: "travel", caller: "jwt:alice", now: 1), .unknown)
    }

    func testTheFirstOwnerStays() {
        var registry = TaskRegistry(capacity: 10, ttl: 60)
        registry.record(task: "t-1", context: nil, agent: "a", owner: "jwt:alice", now: 0)
        registry.record(task: "t-1", context: nil, agent: "a", owner: "jwt:bob", now: 1)
        XCTAssertEqual(registry.access(task: "t-1", agent: "a", caller: "jwt:bob", now: 2), .foreign)
    }

    func testContextsAreClaimedByTheirFirstUser() {
        var registry = TaskRegistry(capacity: 10, ttl: 60)
        XCTAssertEqual(registry.claim(context: "c-new", agent: "a", caller: "jwt:alice", now: 0), .allowed)
        XCTAssertEqual(registry.claim(context: "c-new", agent: "a", caller: "jwt:bob", now: 1), .foreign)
        registry.record(context: "c-2", agent: "a", owner: nil, now: 0)
        XCTAssertEqual(registry.claim(context: "c-2", agent: "a", caller: nil, now: 1), .allowed)
        XCTAssertEqual(registry.claim(context: "c-2", agent: "a", caller: "jwt:alice", now: 1), .foreign)
    }

    func testEntriesExpireAfterTheirTTLAndTheOldestGoFirstAtCapacity() {
        var registry = TaskRegistry(capacity: 2, ttl: 10)
        registry.record(task: "t-1", context: nil, agent: "a", owner: "o", now: 0)
        XCTAssertEqual(registry.access(task: "t-1", agent: "a", caller: "o", now: 9), .allowed, "an access refreshes it")
        XCTAssertEqual(registry.access(task: "t-1", agent: "a", caller: "o", now: 18), .allowed)
        XCTAssertEqual(registry.access(task: "t-1", agent: "a", caller: "o", now: 29), .unknown)
        registry.record(task: "t-2", context: nil, agent: "a", owner: "o", now: 30)
        registry.record(task: "t-3", context: nil, agent: "a", owner: "o", now: 31)
        registry.record(task: "t-4", context: nil, agent: "a", owner: "o", now: 32)
        XCTAssertEqual(registry.count, 2)
        XCTAssertEqual(registry.access(task: "t-2", agent: "a", caller: "o", now: 33), .unknown)
        XCTAssertEqual(registry.access(task: "t-4", agent: "a", caller: "o", now: 33), .allowed)
    }
}
