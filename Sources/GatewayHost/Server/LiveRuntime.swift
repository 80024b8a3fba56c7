import Synchronization

/// The generation that serves new requests, swapped atomically by a reload.
///
/// A request takes the current generation with `acquire()` (which counts it in flight there) and
/// gives it back with `GatewayRuntime.inFlight.decrement()` when its exchange is over, so a
/// request finishes on the generation it started on. `replace(with:)` installs a new generation
/// and retires the old one: once its last request is over, `whenDrained` runs (the reloader then
/// destroys what the new generation did not keep).
final class LiveRuntime: Sendable {
    private let current: Mutex<GatewayRuntime>
    /// Retired generations with requests still in flight.
    private let draining = Mutex<[ObjectIdentifier: GatewayRuntime]>([:])

    init(_ runtime: GatewayRuntime) { current = Mutex(runtime) }

    /// The generation serving new requests (not counted in flight: for reading its config).
    var runtime: GatewayRuntime { current.withLock { $0 } }

    /// The current generation, with one more request in flight on it.
    func acquire() -> GatewayRuntime {
        current.withLock { runtime in
            runtime.inFlight.increment()
            return runtime
        }
    }

    /// Makes `next` the current generation and retires the one it replaces; `whenDrained` runs
    /// once the retired one has no request in flight (at once if it has none).
    @discardableResult
    func replace(with next: GatewayRuntime, whenDrained: @escaping @Sendable (GatewayRuntime) -> Void) -> GatewayRuntime {
        // Under the lock, so no request can acquire the old generation after it is retired.
        let previous = current.withLock { runtime in
            let previous = runtime
            runtime = next
            return previous
        }
        let key = ObjectIdentifier(previous)
        draining.withLock { $0[key] = previous }
        previous.inFlight.retire { [self] in
            draining.withLock { _ = $0.removeValue(forKey: key) }
            whenDrained(previous)
        }
        return previous
    }

    /// Requests in flight on every generation (the admin endpoint's gauge).
    var requestsInFlight: Int {
        runtime.inFlight.value + draining.withLock { $0.values.reduce(0) { $0 + $1.inFlight.value } }
    }

    /// Retired generations still finishing requests.
    var drainingGenerations: [GatewayRuntime] { draining.withLock { Array($0.values) } }
}

/// Requests in flight on one generation; once the generation is retired, the last one to finish
/// runs the drain action (exactly once).
final class InFlightCounter: Sendable {
    private let count = Atomic<Int>(0)
    private let retired = Atomic<Bool>(false)
    private let drained = Mutex<(@Sendable () -> Void)?>(nil)

    func increment() { count.wrappingAdd(1, ordering: .sequentiallyConsistent) }

    func decrement() {
        let left = count.wrappingSubtract(1, ordering: .sequentiallyConsistent).newValue
        if left == 0, retired.load(ordering: .sequentiallyConsistent) { runDrained() }
    }

    var value: Int { count.load(ordering: .relaxed) }

    /// Marks the generation retired; `action` runs when no request is left (now, if none is).
    func retire(_ action: @escaping @Sendable () -> Void) {
        drained.withLock { $0 = action }
        retired.store(true, ordering: .sequentiallyConsistent)
        if count.load(ordering: .sequentiallyConsistent) == 0 { runDrained() }
    }

    private func runDrained() {
        let action = drained.withLock { action in
            defer { action = nil }
            return action
        }
        action?()
    }
}
