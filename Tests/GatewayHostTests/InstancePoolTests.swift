@testable import GatewayHost
import NIOEmbedded
import XCTest

/// Instances shared by generations that configure them the same way, destroyed after the last.
final class InstancePoolTests: XCTestCase {
    let loop = EmbeddedEventLoop()

    private func key(_ name: String, config: String = "{}", type: FilterType = TestRoutes.types[0]) -> InstancePool.Key {
        InstancePool.Key(instanceName: name, typeAddress: UInt(bitPattern: type.pointer), configJSON: config, configDirectory: "/")
    }

    func testTheSameKeyIsHandedOverAndTheLastReleaseIsTheCueToDestroy() throws {
        let pool = InstancePool()
        var created = 0
        let make = { () throws -> FilterInstance in
            created += 1
            return try TestRoutes.instance("length", route: "r", loop: self.loop)
        }
        let (first, firstReused) = try pool.acquire(key("r/length"), create: make)
        let (second, secondReused) = try pool.acquire(key("r/length"), create: make)
        XCTAssertFalse(firstReused)
        XCTAssertTrue(secondReused)
        XCTAssertTrue(first === second)
        XCTAssertEqual(created, 1)
        XCTAssertFalse(pool.release(first), "generation 2 still uses it")
        XCTAssertTrue(pool.release(second), "the last user: destroy it")
        XCTAssertEqual(pool.count, 0)
    }

    func testAChangedConfigAnotherPositionOrAnotherImageIsANewInstance() throws {
        let pool = InstancePool()
        let make = { try TestRoutes.instance("length", route: "r", loop: self.loop) }
        let base = try pool.acquire(key("r/length"), create: make).instance
        XCTAssertFalse(try pool.acquire(key("r/length", config: #"{"a":1}"#), create: make).instance === base)
        XCTAssertFalse(try pool.acquire(key("r/length#1"), create: make).instance === base)
        XCTAssertFalse(try pool.acquire(key("r/length", type: TestRoutes.types[1]), create: make).instance === base)
        XCTAssertEqual(pool.count, 4)
    }

    func testARefusedConfigLeavesNothingInThePool() {
        let pool = InstancePool()
        struct Refused: Error {}
        XCTAssertThrowsError(try pool.acquire(key("r/length")) { throw Refused() })
        XCTAssertEqual(pool.count, 0)
    }

    func testAnInstanceBuiltOutsideThePoolIsItsOwnersToDestroy() throws {
        XCTAssertTrue(InstancePool().release(try TestRoutes.instance("length", route: "r", loop: loop)))
    }
}
