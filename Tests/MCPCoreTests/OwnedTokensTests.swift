import MCPCore
import PluginKit
import XCTest

final class OwnedTokensTests: XCTestCase {
    let alice = Owner(sessionID: "s-alice", caller: "jwt:alice")
    let bob = Owner(sessionID: "s-bob", caller: "jwt:bob")

    func testTokensCarry128RandomBitsAndThePrefix() {
        var tokens = OwnedTokens<Int>()
        let issued = (0..<1000).map { tokens.issue($0, to: alice) }
        XCTAssertEqual(Set(issued).count, 1000)
        for token in issued {
            XCTAssertTrue(token.hasPrefix("agw-"))
            let digits = token.dropFirst(4)
            XCTAssertEqual(digits.count, 32)
            XCTAssertNotNil(UInt64(digits.prefix(16), radix: 16))
            XCTAssertNotNil(UInt64(digits.suffix(16), radix: 16))
        }
        // Consecutive tokens share no structure a client could count along.
        XCTAssertNotEqual(issued[0].dropFirst(4).prefix(8), issued[1].dropFirst(4).prefix(8))
    }

    func testOnlyTheOwnerRedeemsAndAForgeryLeavesTheEntryInPlace() {
        var tokens = OwnedTokens<String>()
        let token = tokens.issue("alice's question", to: alice)
        XCTAssertNil(tokens.redeem(token, by: bob))
        XCTAssertNil(tokens.entry(token, for: bob))
        XCTAssertNil(tokens.redeem(token, by: Owner(sessionID: "s-alice", caller: "jwt:mallory")), "same session, other caller")
        XCTAssertEqual(tokens.entry(token, for: alice), "alice's question")
        XCTAssertEqual(tokens.redeem(token, by: alice), "alice's question")
        XCTAssertNil(tokens.redeem(token, by: alice), "redeemed once")
    }

    func testAnUnknownTokenAndAForeignOneLookTheSame() {
        var tokens = OwnedTokens<Int>()
        let token = tokens.issue(1, to: alice)
        XCTAssertEqual(tokens.redeem("agw-" + String(repeating: "0", count: 32), by: bob) == nil, tokens.redeem(token, by: bob) == nil)
    }

    func testASeededGeneratorMakesTokensRepeatableInTests() {
        struct Counter: RandomNumberGenerator {
            var value: UInt64 = 0
            mutating func next() -> UInt64 { value += 1; return value }
        }
        var generator = Counter()
        var tokens = OwnedTokens<Int>()
        XCTAssertEqual(tokens.issue(1, to: alice, using: &generator), "agw-" + String(repeating: "0", count: 15) + "1" + String(repeating: "0", count: 15) + "2")
    }

    func testRemovingASessionsTokensLeavesOthers() {
        var tokens = OwnedTokens<Int>()
        _ = tokens.issue(1, to: alice)
        _ = tokens.issue(2, to: alice)
        let bobs = tokens.issue(3, to: bob)
        let removed = tokens.removeAll { owner, _ in owner.sessionID == "s-alice" }
        XCTAssertEqual(removed.map(\.entry).sorted(), [1, 2])
        XCTAssertEqual(tokens.count, 1)
        XCTAssertEqual(tokens.entry(bobs, for: bob), 3)
    }

    func testOwnersAreIdentifiableBySessionOrCaller() {
        XCTAssertTrue(Owner(sessionID: "s", caller: nil).isIdentifiable)
        XCTAssertTrue(Owner(sessionID: nil, caller: "jwt:a").isIdentifiable)
        XCTAssertFalse(Owner(sessionID: nil, caller: nil).isIdentifiable)
        XCTAssertEqual(IdentityKeys.caller(method: "jwt", subject: "alice"), "jwt:alice")
        XCTAssertNil(IdentityKeys.caller(method: nil, subject: nil))
    }
}
