import MCPCore
import XCTest

/// The rule that decides which client a server→client request goes to, in every interleaving the
/// federation can meet: no transport hint, a hint, per-client and shared connections, one or two
/// owners in flight, anonymous stateless calls.
final class ServerRequestOwnershipTests: XCTestCase {
    typealias Call = ServerRequestOwnership.CallInFlight<Int>
    let alice = Owner(sessionID: "s-alice", caller: nil)
    let bob = Owner(sessionID: "s-bob", caller: nil)
    let anonymous = Owner(sessionID: nil, caller: nil)

    private func decide(_ method: String = "elicitation/create", carriedBy: Int? = nil, owner: Owner? = nil,
                        calls: [Call]) -> ServerRequestOwnership.Decision<Int> {
        ServerRequestOwnership.decide(method: method, carriedBy: carriedBy, connectionOwner: owner, callsInFlight: calls)
    }

    func testTheStreamThatCarriedTheRequestNamesItsCallWhateverElseIsInFlight() {
        let calls = [Call(id: 1, owner: alice), Call(id: 2, owner: bob)]
        XCTAssertEqual(decide(carriedBy: 1, calls: calls), .call(1))
        XCTAssertEqual(decide(carriedBy: 2, calls: calls), .call(2))
    }

    func testACarriedRequestWhoseCallEndedIsRefusedNotGivenToAnother() {
        XCTAssertEqual(decide(carriedBy: 7, calls: [Call(id: 2, owner: bob)]), .refuse(.noCallInFlight))
    }

    func testOnASharedConnectionTwoClientsInFlightIsAmbiguous() {
        // The bug this rule replaces: A's question went to B, the latest call.
        XCTAssertEqual(decide(calls: [Call(id: 1, owner: alice), Call(id: 2, owner: bob)]), .refuse(.ambiguous(owners: 2)))
    }

    func testOnASharedConnectionOneClientInFlightOwnsIt() {
        XCTAssertEqual(decide(calls: [Call(id: 4, owner: alice)]), .call(4))
        // Several calls of the same session: still one client; the latest of them.
        XCTAssertEqual(decide(calls: [Call(id: 4, owner: alice), Call(id: 9, owner: alice)]), .call(9))
    }

    func testTheSameSessionWithAnotherCallerIsAnotherOwner() {
        let mallory = Owner(sessionID: "s-alice", caller: "jwt:mallory")
        XCTAssertEqual(decide(calls: [Call(id: 1, owner: alice), Call(id: 2, owner: mallory)]), .refuse(.ambiguous(owners: 2)))
    }

    func testAnonymousStatelessCallsAreEachTheirOwnOwner() {
        XCTAssertEqual(decide(calls: [Call(id: 1, owner: anonymous)]), .call(1))
        XCTAssertEqual(decide(calls: [Call(id: 1, owner: anonymous), Call(id: 2, owner: anonymous)]), .refuse(.ambiguous(owners: 2)))
        // An authenticated stateless caller is one owner across its calls.
        let service = Owner(sessionID: nil, caller: "api_key:ci")
        XCTAssertEqual(decide(calls: [Call(id: 1, owner: service), Call(id: 3, owner: service)]), .call(3))
    }

    func testNoCallInFlightOnASharedConnectionIsRefused() {
        XCTAssertEqual(decide("roots/list", calls: []), .refuse(.noCallInFlight))
    }

    func testAClientsOwnConnectionOwnsItsRequestsWithOrWithoutACall() {
        XCTAssertEqual(decide(owner: alice, calls: [Call(id: 3, owner: alice)]), .call(3))
        XCTAssertEqual(decide("roots/list", owner: alice, calls: []), .ownerStream(alice))
    }

    func testOnlyElicitationSamplingAndRootsAreRelayed() {
        for method in ["elicitation/create", "sampling/createMessage", "roots/list"] {
            XCTAssertEqual(decide(method, calls: [Call(id: 1, owner: alice)]), .call(1), method)
        }
        XCTAssertEqual(decide("tools/call", carriedBy: 1, calls: [Call(id: 1, owner: alice)]), .refuse(.notRelayable(method: "tools/call")))
    }

    func testAMessageThatNamesNoRequestFollowsTheSameRule() {
        // A log line of a shared server while two clients' calls run is nobody's to see.
        let two = [Call(id: 1, owner: alice), Call(id: 2, owner: bob)]
        XCTAssertEqual(ServerRequestOwnership.owner(carriedBy: nil, connectionOwner: nil, callsInFlight: two), .refuse(.ambiguous(owners: 2)))
        XCTAssertEqual(ServerRequestOwnership.owner(carriedBy: 2, connectionOwner: nil, callsInFlight: two), .call(2))
        XCTAssertEqual(ServerRequestOwnership.owner(carriedBy: nil, connectionOwner: bob, callsInFlight: [Call]()), .ownerStream(bob))
    }

    func testRefusalsSayWhatToChange() {
        XCTAssertTrue(ServerRequestOwnership.Refusal.ambiguous(owners: 2).description.contains("upstream_sessions = \"per-client\""))
    }
}
