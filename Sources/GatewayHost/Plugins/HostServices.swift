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
    let gatewayMetrics: GatewayMetrics
    /// Where access-log lines go (every generation's routes write through it).
    let accessLog: AccessLogWriter
    /// Traces requests (nil without `[tracing]`).
    let tracer: RequestTracer?
    let allocator = ByteBufferAllocator()
    private let nextRequestID = Atomic<UInt64>(1)

    init(group: EventLoopGroup, logger: Logger, tracer: RequestTracer? = nil) {
        self.tracer = tracer
        self.group = group
        self.logger = logger
        self.metrics = ProcessWide.metricsRegistry
        self.gatewayMetrics = ProcessWide.gatewayMetrics
        self.accessLog = ProcessWide.accessLog
    }

    func makeRequestID() -> UInt64 { nextRequestID.wrappingAdd(1, ordering: .relaxed).oldValue }
}

/// The few host services the C ABI reaches without a stream or config handle (`log` with a NULL
/// scope, `metric_add`, `metric_record`). Immutable references to internally synchronized objects.
enum ProcessWide {
    static let metricsRegistry = PrometheusCollectorRegistry()
    /// Every metric's definition and series, the host's and plugins' (`metric_*` reach it by id).
    static let metricCatalog = MetricCatalog(registry: metricsRegistry)
    /// The host's own metric families.
    static let gatewayMetrics = GatewayMetrics(catalog: metricCatalog)
    /// The access log's writer (one per process: its file outlives generations).
    static let accessLog = AccessLogWriter(metrics: metricCatalog)
    static let pluginLogger = Logger(label: "agentgateway.plugin")
    /// Loop-local keep-alive pools for plugins' `http_call`.
    static let httpCallPools = HTTPCallPools()
}
