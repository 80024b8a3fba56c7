import NIOCore
import PluginABI
import Synchronization

/// The owner of a plugin's async work (HTTP calls, timers, child processes, schedulers): one
/// filter of one stream, or one filter config instance. Everything runs on `eventLoop`; events go
/// back to that filter. Closing the scope cancels calls and timers and terminates processes.
final class AsyncScope: @unchecked Sendable {
    enum Owner {
        case config(FilterInstance)
        case stream(Exchange, stage: Int)
    }

    let eventLoop: EventLoop
    private(set) var owner: Owner?
    private var nextID: UInt64 = 1
    private var timers = IDTable<Scheduled<Void>>()
    private var calls = IDTable<HTTPCall>()
    private var processes = IDTable<ChildProcess>()
    private(set) var isClosed: Bool {
        get { closed.load(ordering: .acquiring) }
        set { closed.store(newValue, ordering: .releasing) }
    }
    /// Atomic, so `scheduler_new` may read `isClosed` from any thread.
    private let closed = Atomic<Bool>(false)

    init(eventLoop: EventLoop, owner: Owner) {
        self.eventLoop = eventLoop
        self.owner = owner
    }

    var handle: OpaquePointer { OpaquePointer(Unmanaged.passUnretained(self).toOpaque()) }
    static func from(_ handle: OpaquePointer) -> AsyncScope {
        Unmanaged<AsyncScope>.fromOpaque(UnsafeRawPointer(handle)).takeUnretainedValue()
    }

    func makeID() -> UInt64 {
        defer { nextID += 1 }
        return nextID
    }

    /// Hands an event to the owning filter. A no-op once the scope is closed.
    func deliver(_ event: HostEvent) {
        eventLoop.preconditionInEventLoop()
        guard !isClosed, let owner else { return }
        switch owner {
        case .config(let instance):
            guard instance.isConfigured else {
                instance.eventsBeforeConfigured.append(event)  // delivered once config_new returned
                return
            }
            guard let hook = instance.type.hooks.on_config_event, let context = instance.context else { return }
            event.withCEvent { hook(context, instance.handle, $0) }
        case .stream(let exchange, let stage):
            exchange.deliverEvent(event, toStage: stage)
        }
    }

    // MARK: timers

    func startTimer(delayMilliseconds: UInt32) -> UInt64 {
        let id = makeID()
        timers[id] = eventLoop.scheduleTask(in: .milliseconds(Int64(delayMilliseconds))) { [weak self] in
            guard let self else { return }
            self.timers[id] = nil
            self.deliver(HostEvent(type: AGW_EVENT_TIMER, id: id))
        }
        return id
    }

    func cancelTimer(_ id: UInt64) -> Bool {
        guard let timer = timers.removeValue(forKey: id) else { return false }
        timer.cancel()
        return true
    }

    // MARK: HTTP calls

    func register(call: HTTPCall, id: UInt64) { calls[id] = call }
    func finished(callID: UInt64) { calls[callID] = nil }
    func call(_ id: UInt64) -> HTTPCall? { calls[id] }

    // MARK: processes

    func register(process: ChildProcess, id: UInt64) { processes[id] = process }
    func process(_ id: UInt64) -> ChildProcess? { processes[id] }
    func exited(processID: UInt64) { processes[processID] = nil }

    /// Closes the scope and waits until its processes have exited (stdin closed, then SIGTERM and
    /// SIGKILL to their process groups, `graceMilliseconds` apart).
    func closeAndWait(graceMilliseconds: UInt32) async {
        let exits: [EventLoopFuture<Void>] = (try? await eventLoop.submit { () -> [EventLoopFuture<Void>] in
            let running = Array(self.processes.values)
            for process in running { process.terminate(graceMilliseconds: graceMilliseconds) }
            self.close(terminatingWith: graceMilliseconds)
            return running.map { $0.exited.futureResult }
        }.get()) ?? []
        for exit in exits { try? await exit.get() }
    }

    /// Cancels everything still running; later events are dropped.
    func close() { close(terminatingWith: 500) }

    private func close(terminatingWith graceMilliseconds: UInt32) {
        guard !isClosed else { return }
        if !eventLoop.inEventLoop {
            eventLoop.execute { self.close(terminatingWith: graceMilliseconds) }
            return
        }
        isClosed = true
        owner = nil
        let (timers, calls, processes) = (self.timers, self.calls, self.processes)
        self.timers.removeAll()
        self.calls.removeAll()
        self.processes.removeAll()
        if !timers.isEmpty { for timer in timers.values { timer.cancel() } }
        if !calls.isEmpty { for call in calls.values { call.cancel() } }
        if !processes.isEmpty { for process in processes.values { process.terminate(graceMilliseconds: graceMilliseconds) } }
    }
}

/// A handle a plugin can post to from any thread; the event lands on the scope's loop.
final class PluginScheduler: @unchecked Sendable {
    private weak var scope: AsyncScope?
    private let eventLoop: EventLoop

    init(scope: AsyncScope) {
        self.scope = scope
        self.eventLoop = scope.eventLoop
    }

    /// Any thread. Captures the scope weakly, so a post after the stream ended is a no-op.
    func post(_ eventID: UInt64) {
        eventLoop.execute { [weak scope] in
            scope?.deliver(HostEvent(type: AGW_EVENT_SCHEDULED, id: eventID))
        }
    }
}

extension AsyncScope {
    /// For log lines: which filter (and stream) owns this scope.
    var ownerName: String {
        switch owner {
        case .config(let instance)?: return instance.instanceName
        case .stream(let exchange, let stage)?: return "\(exchange.stage(stage).instanceName) stream \(String(exchange.id, radix: 16))"
        case nil: return "closed"
        }
    }
}
