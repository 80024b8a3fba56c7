import XCTest
@testable import GatewayHost
import PluginABI

final class ScratchArenaTests: XCTestCase {
    func testEarlierViewsStayValidWhileTheArenaGrows() {
        var arena = ScratchArena()
        let first = arena.store("first value")
        var views: [agw_str] = []
        for index in 0..<2000 { views.append(arena.store("value number \(index)")) }
        let big = arena.store(String(repeating: "z", count: 10_000))
        XCTAssertEqual(first.string, "first value")
        XCTAssertEqual(views[1999].string, "value number 1999")
        XCTAssertEqual(big.len, 10_000)
        arena.reset()
        XCTAssertEqual(arena.store("again").string, "again")
    }

    func testEmptyStringsAreNullViews() {
        var arena = ScratchArena()
        let empty = arena.store("")
        XCTAssertNil(empty.ptr)
        XCTAssertEqual(empty.string, "")
    }
}
