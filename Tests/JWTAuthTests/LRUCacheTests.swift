import PolicyKit
import XCTest

final class LRUCacheTests: XCTestCase {
    func testEvictsTheLeastRecentlyUsed() {
        var cache = LRUCache<String, Int>(capacity: 2)
        cache.set(1, forKey: "a")
        cache.set(2, forKey: "b")
        XCTAssertEqual(cache.value(forKey: "a"), 1) // a is now newer than b
        XCTAssertEqual(cache.set(3, forKey: "c")?.key, "b")
        XCTAssertNil(cache.value(forKey: "b"))
        XCTAssertEqual(cache.value(forKey: "a"), 1)
        XCTAssertEqual(cache.value(forKey: "c"), 3)
        XCTAssertEqual(cache.update("c") { $0 += 1; return $0 }, 4)
        XCTAssertEqual(cache.count, 2)
        for i in 0..<1000 { cache.set(i, forKey: "k\(i)") }
        XCTAssertEqual(cache.count, 2)
        XCTAssertEqual(cache.value(forKey: "k999"), 999)
    }
}
