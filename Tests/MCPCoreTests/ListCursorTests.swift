import JSON
import MCPCore
import XCTest

final class ListCursorTests: XCTestCase {
    func testCursorsAreOnlyTheGatewaysOwn() {
        XCTAssertEqual(ListCursor.decode(ListCursor.encode(offset: 40)), 40)
        XCTAssertNil(ListCursor.decode("upstream-cursor"))
        XCTAssertNil(ListCursor.decode("agw1.-3"))
    }
}
