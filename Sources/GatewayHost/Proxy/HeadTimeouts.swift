import NIOCore

/// What a ``HeadTimeouts`` table times out.
protocol TimedCall: AnyObject {
    func headTimedOut()
}

/// Response deadlines of calls with one timeout on one event loop: a backend's calls, or plugins'
/// `http_call`s that ask for the same timeout.
///
/// Every call in a table has the same timeout, so deadlines arrive in order: a FIFO with one
/// scheduled wake-up replaces a timer per request (NIO cancels a scheduled task with a linear
/// search of the loop's timer heap, which grows with in-flight requests).
final class HeadTimeouts {
    private let eventLoop: EventLoop
    private let timeout: TimeAmount
    /// One stored property for the queue, changed by one mutating call per operation: one
    /// runtime exclusivity check each, where separate properties cost one per access (~80
    /// instructions apiece).
    private var queue = DeadlineQueue()
    private var wakeUp: Scheduled<Void>?

    init(eventLoop: EventLoop, timeout: TimeAmount) {
        self.eventLoop = eventLoop
        self.timeout = timeout
    }

    /// Starts the clock for a call; returns the token to `cancel` it with.
    func start(_ call: any TimedCall) -> UInt64 {
        let token = queue.append(call, deadline: eventLoop.now + timeout) // the loop's clock (virtual in tests)
        if wakeUp == nil { schedule() }
        return token
    }

    func cancel(_ token: UInt64) {
        queue.cancel(token)
    }

    private func schedule() {
        guard let deadline = queue.firstDeadline else { return }
        wakeUp = eventLoop.scheduleTask(deadline: deadline) { [weak self] in self?.fire() }
    }

    private func fire() {
        wakeUp = nil
        let now = eventLoop.now
        // Out of the queue before it is told: the call may start or cancel others.
        while let call = queue.popExpired(now: now) { call.headTimedOut() }
        schedule()
    }
}

/// The calls of a ``HeadTimeouts`` in deadline order. Tokens are consecutive, so a token's entry
/// is found by subtraction (no hashing); a finished call's entry is emptied, and dropped once no
/// earlier call waits: calls mostly finish in the order they started, so the queue then holds
/// only those in flight, not every call of the last timeout period.
private struct DeadlineQueue {
    private var entries = CircularBuffer<(deadline: NIODeadline, call: (any TimedCall)?)>()
    /// The token of `entries.first` (entry `token - firstToken` is the token's).
    private var firstToken: UInt64 = 1

    var firstDeadline: NIODeadline? { entries.first?.deadline }

    mutating func append(_ call: any TimedCall, deadline: NIODeadline) -> UInt64 {
        entries.append((deadline, call))
        return firstToken + UInt64(entries.count - 1)
    }

    mutating func cancel(_ token: UInt64) {
        guard token >= firstToken, token - firstToken < UInt64(entries.count) else { return }
        entries[offset: Int(token - firstToken)].call = nil
        dropFinishedHead()
    }

    /// The first call whose deadline passed, out of the queue; nil when none.
    mutating func popExpired(now: NIODeadline) -> (any TimedCall)? {
        while let first = entries.first, first.deadline <= now {
            entries.removeFirst()
            firstToken += 1
            if let call = first.call {
                dropFinishedHead()
                return call
            }
        }
        dropFinishedHead() // so the next wake-up is a real one
        return nil
    }

    private mutating func dropFinishedHead() {
        while let first = entries.first, first.call == nil {
            entries.removeFirst()
            firstToken += 1
        }
    }
}
