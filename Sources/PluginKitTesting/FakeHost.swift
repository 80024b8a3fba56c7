import PluginABI
import PluginKit
import Synchronization

/// A gateway host for unit tests: a real `agw_host_api` table whose functions act on fake
/// streams, a manual clock for timers, HTTP calls and child processes the test answers, and a
/// queue for scheduler posts. Load a plugin's filter types into it with ``configure(_:config:instanceName:)``
/// (Swift) or ``configure(entry:type:config:instanceName:)`` (any plugin, C included), open
/// ``FakeStream``s, and drive them.
///
/// Single-threaded: hooks and events run on the test's thread when the test asks. A scheduler
/// post (from any thread) waits in a queue until ``run()``.
///
/// The ABI's handle-less functions (`log` without a scope, `metric_add`, `now_unix_ns`) reach the
/// most recently created host: one host at a time per test.
public final class FakeHost {
    /// The host table a plugin's entry point takes (`const agw_host_api *`).
    public let table: UnsafeRawPointer
    /// What plugins logged, in order.
    public private(set) var logs: [(level: LogLevel, message: String)] = []
    /// Milliseconds since the host started, moved by ``advance(milliseconds:)``.
    public private(set) var clock: UInt64 = 0
    /// HTTP calls plugins made that the test has not answered (or that still stream).
    public var httpCalls: [FakeHTTPCall] { calls.filter { !$0.isFinished } }
    /// Child processes plugins started.
    public private(set) var processes: [FakeProcess] = []
    /// Called with every process a plugin starts, before it runs (to script it with ``FakeProcess/onInput``).
    public var onSpawn: ((FakeProcess) -> Void)?

    var metricNames: [String] = []
    var metricValues: [Double] = []
    /// Histogram observations per metric id.
    var metricObservations: [Int: Int] = [:]
    /// Labelled metrics (`metric_define_labelled`): name and label names, by family id.
    var metricFamilies: [(name: String, labels: [String])] = []
    var timers: [(due: UInt64, id: UInt64, scope: FakeScope)] = []
    var calls: [FakeHTTPCall] = []
    let posts = Mutex<[(scheduler: FakeScheduler, id: UInt64)]>([])
    var nextID: UInt64 = 1

    static let current = Mutex<FakeHostReference?>(nil)

    public init() {
        table = UnsafeRawPointer(Self.hostTable)
        Self.current.withLock { $0 = FakeHostReference(host: self) }
    }

    static var now: FakeHost? { current.withLock { $0?.host } }

    func id() -> UInt64 {
        defer { nextID += 1 }
        return nextID
    }

    // MARK: - plugins

    /// Configures an instance of Swift filter type `type` with `config` (a TOML table as JSON).
    /// Throws ``FakeHostError`` with the plugin's message when it refuses the config.
    public func configure<F: Filter>(_ type: F.Type, config: String = "{}", instanceName: String = "test") throws -> FakeFilter {
        try configure(entry: { PluginExport.plugin(name: "under-test", version: "0", filters: [type], host: $0) },
                      type: F.name, config: config, instanceName: instanceName)
    }

    /// Loads a plugin through its entry function (C or Swift) and configures its filter type named
    /// `type` (nil: the first).
    public func configure(entry: (UnsafeRawPointer?) -> UnsafeRawPointer?, type: String? = nil, config: String = "{}",
                          instanceName: String = "test") throws -> FakeFilter {
        guard let plugin = entry(table)?.assumingMemoryBound(to: agw_plugin.self) else { throw FakeHostError(message: "the entry point returned NULL") }
        let types = (0..<plugin.pointee.filter_type_count).compactMap { plugin.pointee.filter_types[$0] }
        let wanted = type.map { name in types.first { String(cString: $0.pointee.name) == name } } ?? types.first
        guard let filterType = wanted else { throw FakeHostError(message: "the plugin has no filter type '\(type ?? "?")'") }
        let filter = FakeFilter(host: self, type: filterType, instanceName: instanceName)
        try filter.create(config: config)
        return filter
    }

    /// A request through `stages` (filters, then at most one handler, last).
    public func stream(_ stages: [FakeFilter], method: String = "GET", path: String = "/", headers: [(String, String)] = [],
                       body: [UInt8]? = nil) -> FakeStream {
        FakeStream(host: self, stages: stages, method: method, path: path, headers: headers, body: body)
    }

    /// ``stream(_:method:path:headers:body:)`` through one filter or handler.
    public func stream(_ stage: FakeFilter, method: String = "GET", path: String = "/", headers: [(String, String)] = [],
                       body: [UInt8]? = nil) -> FakeStream {
        stream([stage], method: method, path: path, headers: headers, body: body)
    }

    // MARK: - time and queues

    /// Moves the clock; timers that come due fire in order (their events run now).
    public func advance(milliseconds: UInt64) {
        let until = clock + milliseconds
        while let next = timers.enumerated().filter({ $0.element.due <= until }).min(by: { $0.element.due < $1.element.due }) {
            timers.remove(at: next.offset)
            clock = max(clock, next.element.due)
            next.element.scope.deliver(type: AGW_EVENT_TIMER, id: next.element.id)
        }
        clock = until
    }

    /// Delivers scheduler posts (from any thread) and feeds scripted processes (``FakeProcess/onInput``)
    /// their input, until nothing is left; returns how many events ran.
    @discardableResult
    public func run() -> Int {
        var count = 0
        while true {
            let batch = posts.withLock { posts in defer { posts.removeAll() }; return posts }
            var inputs: [(FakeProcess, [UInt8])] = []
            for process in processes where process.onInput != nil && !process.unhandled.isEmpty {
                inputs += process.unhandled.map { (process, $0) }
                process.unhandled.removeAll()
            }
            if batch.isEmpty && inputs.isEmpty { return count }
            for post in batch where !post.scheduler.scope.isClosed {
                post.scheduler.scope.deliver(type: AGW_EVENT_SCHEDULED, id: post.id)
                count += 1
            }
            for (process, bytes) in inputs {
                process.onInput?(process, bytes)
                count += 1
            }
        }
    }

    /// The value of a metric a plugin defined (a counter's total, a gauge's value, a histogram's
    /// last observation), nil when undefined.
    public func metric(_ name: String) -> Double? { metricNames.firstIndex(of: name).map { metricValues[$0] } }

    /// The value of one series of a labelled metric: `metric("agw_x_total", ["route": "r"])`.
    public func metric(_ name: String, _ labels: KeyValuePairs<String, String>) -> Double? {
        metric(Self.seriesName(name, labels.map { ($0.key, $0.value) }))
    }

    /// How many observations a histogram (or one series of it) recorded.
    public func observations(_ name: String, _ labels: KeyValuePairs<String, String> = [:]) -> Int {
        let series = labels.isEmpty ? name : Self.seriesName(name, labels.map { ($0.key, $0.value) })
        return metricNames.firstIndex(of: series).flatMap { metricObservations[$0] } ?? 0
    }

    /// `name{label="value",...}` in the order given (the order the metric defined its labels).
    static func seriesName(_ name: String, _ labels: [(String, String)]) -> String {
        name + "{" + labels.map { "\($0.0)=\"\($0.1)\"" }.joined(separator: ",") + "}"
    }

    /// The HTTP call to `url` that waits for an answer, if any.
    public func httpCall(to url: String) -> FakeHTTPCall? { httpCalls.first { $0.url == url } }

    func log(_ level: agw_log_level, _ message: String) {
        let level: LogLevel = switch level {
        case AGW_LOG_TRACE: .trace
        case AGW_LOG_DEBUG: .debug
        case AGW_LOG_INFO: .info
        case AGW_LOG_WARN: .warning
        default: .error
        }
        logs.append((level, message))
    }

    func register(_ process: FakeProcess) {
        processes.append(process)
        onSpawn?(process)
    }
    func register(_ call: FakeHTTPCall) { calls.append(call) }
}

/// A plugin refused what the fake host asked (its config, or it would not load).
public struct FakeHostError: Error, CustomStringConvertible {
    public var message: String
    public var description: String { message }
}

struct FakeHostReference: @unchecked Sendable {
    weak var host: FakeHost?
}
