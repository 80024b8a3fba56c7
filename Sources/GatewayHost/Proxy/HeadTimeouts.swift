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
/// search of the loop's timer heap, which grows with in-flight requests). A finished call simply
/// leaves the table; its entry is skipped when it comes up.
final class HeadTimeouts {
    private let eventLoop: EventLoop
    private let timeout: TimeAmount
    private var deadlines = CircularBuffer<(deadline: NIODeadline, id: UInt64)>()
    private var waiting: [UInt64: any TimedCall] = [:]
    private var nextID: UInt64 = 1
    private var wakeUp: Scheduled<Void>?

    init(eventLoop: EventLoop, timeout: TimeAmount) {
        self.eventLoop = eventLoop
        self.timeout = timeout
    }

    /// Starts the clock for a call; returns the token to `cancel` it with.
    func start(_ call: any TimedCall) -> UInt64 {
        let id = nextID
        nextID += 1
        deadlines.append((.now() + timeout, id))
        waiting[id] = call
        if wakeUp == nil { schedule() }
        return id
    }

    func cancel(_ id: UInt64) {
        waiting[id] = nil
    }

    private func schedule() {
        guard let first = deadlines.first else { return }
        wakeUp = eventLoop.scheduleTask(deadline: first.deadline) { [weak self] in self?.fire() }
    }

    private func fire() {
        wakeUp = nil
        let now = NIODeadline.now()
        while let first = deadlines.first, first.deadline <= now {
            deadlines.removeFirst()
            waiting.removeValue(forKey: first.id)?.headTimedOut()
        }
        // Drop leading entries of calls that already finished, so the next wake-up is a real one.
        while let first = deadlines.first, waiting[first.id] == nil { deadlines.removeFirst() }
        schedule()
    }
}
