@testable import GatewayHost
import Synchronization
import XCTest

/// A retired generation drains once, when its last request is over.
final class InFlightCounterTests: XCTestCase {
    func testRetiringWithNothingInFlightDrainsAtOnce() {
        let counter = InFlightCounter()
        let drained = Mutex(0)
        counter.retire { drained.withLock { $0 += 1 } }
        XCTAssertEqual(drained.withLock { $0 }, 1)
    }

    func testTheLastRequestOfARetiredGenerationDrainsItOnce() {
        let counter = InFlightCounter()
        let drained = Mutex(0)
        counter.increment()
        counter.increment()
        counter.retire { drained.withLock { $0 += 1 } }
        counter.decrement()
        XCTAssertEqual(drained.withLock { $0 }, 0, "one request left")
        counter.decrement()
        XCTAssertEqual(drained.withLock { $0 }, 1)
        counter.increment()
        counter.decrement()
        XCTAssertEqual(drained.withLock { $0 }, 1, "never twice")
    }

    func testACurrentGenerationNeverDrains() {
        let counter = InFlightCounter()
        for _ in 0..<3 { counter.increment(); counter.decrement() }
        XCTAssertEqual(counter.value, 0)
    }

    func testConcurrentRequestsAndARetirementDrainExactlyOnce() {
        for _ in 0..<50 {
            let counter = InFlightCounter()
            let drained = Mutex(0)
            DispatchQueue.concurrentPerform(iterations: 64) { index in
                if index == 32 { counter.retire { drained.withLock { $0 += 1 } } }
                counter.increment()
                counter.decrement()
            }
            XCTAssertEqual(drained.withLock { $0 }, 1)
        }
    }
}
