@testable import GatewayHost
import XCTest

/// A scope's table of calls, timers and processes: the same answers in its array form and after it
/// moved to a dictionary.
final class IDTableTests: XCTestCase {
    func testItBehavesLikeADictionaryBelowAndAboveItsArrayLimit() {
        var table = IDTable<String>()
        var reference: [UInt64: String] = [:]
        XCTAssertTrue(table.isEmpty)
        // Grow past the array limit, replace, remove from the middle and the ends, and check each step.
        let ids = (1...UInt64(IDTable<String>.arrayLimit * 2)).map { $0 * 7 }
        for (step, id) in ids.enumerated() {
            table[id] = "v\(id)"
            reference[id] = "v\(id)"
            if step % 3 == 0 {
                table[id] = "w\(id)"
                reference[id] = "w\(id)"
            }
            if step % 5 == 4 {
                let gone = ids[step / 2]
                XCTAssertEqual(table.removeValue(forKey: gone), reference.removeValue(forKey: gone))
            }
            XCTAssertEqual(table.count, reference.count)
            for probe in ids { XCTAssertEqual(table[probe], reference[probe], "id \(probe) after step \(step)") }
            XCTAssertEqual(table.values.sorted(), reference.values.sorted())
        }
        XCTAssertNil(table.removeValue(forKey: 3), "an id never set")
        table[ids[1]] = nil
        reference[ids[1]] = nil
        XCTAssertEqual(table.values.sorted(), reference.values.sorted())
        table.removeAll()
        XCTAssertTrue(table.isEmpty)
        XCTAssertNil(table[ids[2]])
        table[5] = "again"
        XCTAssertEqual(table[5], "again")
        XCTAssertEqual(table.count, 1)
    }
}
