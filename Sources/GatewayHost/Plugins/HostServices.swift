import Logging
import NIOPosix
import NIOCore
import PluginABI
import Prometheus
import Synchronization

/// What the host offers every exchange: the event loops, logging and the metrics registry.
/// Created once at startup; immutable or internally synchronized. (What plugins reach without a
/// handle, and the pools of their HTTP calls, live in `ProcessWide`.)
final class HostServices: Sendable {
    let group: EventLoopGroup
    let logger: Logger
    let metrics: PrometheusCollectorRegistry
    let allocator = ByteBufferAllocator()
    private let nextRequestID = Atomic<UInt64>(1)

    init(group: EventLoopGroup, logger: Logger) {
        self.group = group
        self.logger = logger
        self.metrics = ProcessWide.metricsRegistry
    }

    func makeRequestID() -> UInt64 { nextRequestID.wrappingAdd(1, ordering: .relaxed).oldValue }
}

/// The few host services the C ABI reaches without a stream or config handle (`log` with a NULL
/// scope, `metric_add`, `metric_record`). Immutable references to internally synchronized objects.
enum ProcessWide {
    static let metricsRegistry = PrometheusCollectorRegistry()
    static let pluginMetrics = PluginMetrics(registry: metricsRegistry)
    static let pluginLogger = Logger(label: "agentgateway.plugin")
    /// Loop-local keep-alive pools for plugins' `http_call`.
    static let httpCallPools = HTTPCallPools()
}

/// Metrics that plugins define (`metric_define`), addressed by a small integer id from any thread.
final class PluginMetrics: Sendable {
    private enum Metric {
        case counter(Counter)
        case gauge(Gauge)
        case histogram(ValueHistogram)
    }

    private let registry: PrometheusCollectorRegistry
    private let metrics = Mutex<[(name: String, kind: agw_metric_kind, metric: Metric)]>([])

    init(registry: PrometheusCollectorRegistry) { self.registry = registry }

    /// Defines (or finds, for a second instance of the same filter) a metric. Returns its id.
    func define(kind: agw_metric_kind, name: String, help: String) -> UInt32? {
        guard Self.isValidName(name) else { return nil }
        return metrics.withLock { metrics in
            if let index = metrics.firstIndex(where: { $0.name == name }) {
                return metrics[index].kind == kind ? UInt32(index) : nil
            }
            let metric: Metric
            switch kind {
            case AGW_METRIC_COUNTER: metric = .counter(registry.makeCounter(name: name, help: help))
            case AGW_METRIC_GAUGE: metric = .gauge(registry.makeGauge(name: name, help: help))
            case AGW_METRIC_HISTOGRAM:
                metric = .histogram(registry.makeValueHistogram(name: name, buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 50, 100, 500, 1000], help: help))
            default: return nil
            }
            metrics.append((name, kind, metric))
            return UInt32(metrics.count - 1)
        }
    }

    func add(id: UInt32, delta: Int64) -> agw_result {
        guard let metric = metric(id) else { return AGW_ERR_NOT_FOUND }
        switch metric {
        case .counter(let counter):
            guard delta >= 0 else { return AGW_ERR_INVALID_ARGUMENT }
            counter.increment(by: delta)
        case .gauge(let gauge): gauge.increment(by: Double(delta))
        case .histogram: return AGW_ERR_INVALID_ARGUMENT
        }
        return AGW_OK
    }

    func record(id: UInt32, value: Double) -> agw_result {
        guard let metric = metric(id) else { return AGW_ERR_NOT_FOUND }
        switch metric {
        case .histogram(let histogram): histogram.record(value)
        case .gauge(let gauge): gauge.set(to: value)
        case .counter: return AGW_ERR_INVALID_ARGUMENT
        }
        return AGW_OK
    }

    private func metric(_ id: UInt32) -> Metric? {
        metrics.withLock { Int(id) < $0.count ? $0[Int(id)].metric : nil }
    }

    static func isValidName(_ name: String) -> Bool {
        guard let first = name.utf8.first, !(UInt8(ascii: "0")...UInt8(ascii: "9")).contains(first) else { return false }
        return name.utf8.allSatisfy { byte in
            (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte)
                || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) || byte == UInt8(ascii: "_") || byte == UInt8(ascii: ":")
        }
    }
}
