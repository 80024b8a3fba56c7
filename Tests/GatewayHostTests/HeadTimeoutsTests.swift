@testable import GatewayHost
import NIOCore
import NIOEmbedded
import XCTest

/// The table of response deadlines shared by calls with one timeout: only calls still waiting
/// time out, each once, in order, and a token of a finished call is harmless.
final class HeadTimeoutsTests: XCTestCase {
    private final class Call: TimedCall {
        let name: String
        let log: (String) -> Void
        init(_ name: String, log: @escaping (String) -> Void) {
            self.name = name
            self.log = log
        }
        func headTimedOut() { log(name) }
    }

    func testOnlyWaitingCallsTimeOutInOrder() {
        let loop = EmbeddedEventLoop()
        let table = HeadTimeouts(eventLoop: loop, timeout: .seconds(10))
        var timedOut: [String] = []
        let log = { timedOut.append($0) }
        let a = table.start(Call("a", log: log))
        loop.advanceTime(by: .seconds(1))
        let b = table.start(Call("b", log: log))
        let c = table.start(Call("c", log: log))
        loop.advanceTime(by: .seconds(1))
        let d = table.start(Call("d", log: log))
        table.cancel(b)
        table.cancel(b) // twice: no effect
        table.cancel(a)
        loop.advanceTime(by: .milliseconds(9_500)) // past c's deadline, not d's
        XCTAssertEqual(timedOut, ["c"])
        table.cancel(c) // finished already: no effect
        table.cancel(999) // never handed out
        let e = table.start(Call("e", log: log))
        loop.advanceTime(by: .seconds(20))
        XCTAssertEqual(timedOut, ["c", "d", "e"])
        table.cancel(d)
        table.cancel(e)
        // The table keeps working once drained.
        _ = table.start(Call("f", log: log))
        loop.advanceTime(by: .seconds(11))
        XCTAssertEqual(timedOut, ["c", "d", "e", "f"])
    }
}
