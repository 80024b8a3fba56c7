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

    func testRemovingKeepsTheOrderOfTheRest() {
        var cache = LRUCache<String, Int>(capacity: 4)
        for (index, key) in ["a", "b", "c", "d"].enumerated() { cache.set(index, forKey: key) }
        XCTAssertEqual(cache.removeValue(forKey: "b"), 1)
        XCTAssertNil(cache.removeValue(forKey: "b"))
        XCTAssertEqual(cache.count, 3)
        XCTAssertNil(cache.set(9, forKey: "e"), "room for one more")
        XCTAssertEqual(cache.set(10, forKey: "f")?.key, "a", "the oldest goes first")
        XCTAssertEqual(cache.removeValue(forKey: "f"), 10, "the newest, moved or not")
        XCTAssertEqual(cache.set(11, forKey: "g")?.key, nil)
        XCTAssertEqual(cache.set(12, forKey: "h")?.key, "c")
        XCTAssertEqual(cache.set(13, forKey: "i")?.key, "d")
        XCTAssertEqual(cache.set(14, forKey: "j")?.key, "e")
        XCTAssertEqual([cache.value(forKey: "g"), cache.value(forKey: "h"), cache.value(forKey: "i"), cache.value(forKey: "j")], [11, 12, 13, 14])
    }
}
