import Logging
import NIOCore
import NIOHTTP1
import OTel
import Prometheus
import Synchronization
import ServiceLifecycle
import Tracing

/// The gateway's tracing: swift-otel's tracer and OTLP exporter behind the gateway's own
/// sampling decision, made before any span object exists, so a request that is not sampled
/// costs a few multiplications (``Sampling``; no span, no context, no allocation).
///
/// - A request with a valid W3C `traceparent` follows its parent's `sampled` flag; one without
///   starts a trace with probability `sampleRatio`.
/// - A sampled request gets a server span, child spans for its upstream calls, and those carry
///   the span's `traceparent` (and the client's `tracestate`) upstream.
/// - A request that is not sampled passes the client's `traceparent`/`tracestate` on unchanged.
///
/// Spans are exported by swift-otel's batch processor off the request path. swift-otel keeps its
/// drop counts to itself and reports them only in its diagnostic log, so that log is read by
/// ``ExportReport`` and turned into `agw_tracing_spans_dropped_total`.
final class RequestTracer: Sendable {
    let tracer: any Tracer
    let sampleRatio: Double

    init(tracer: any Tracer, sampleRatio: Double) {
        self.tracer = tracer
        self.sampleRatio = sampleRatio
    }

    /// Builds swift-otel's tracing backend from `[tracing]` (and the `OTEL_*` environment).
    /// Returns the tracer and the service that exports (run it in the service group).
    static func make(_ config: TracingConfig, metrics: MetricCatalog, logger: Logger) throws -> (RequestTracer, any Service) {
        var configuration = OTel.Configuration.default
        configuration.serviceName = config.serviceName
        configuration.resourceAttributes = config.resourceAttributes
        configuration.propagators = [.traceContext]
        configuration.metrics.enabled = false
        configuration.logs.enabled = false
        configuration.traces.enabled = true
        configuration.traces.sampler = .alwaysOn // the gateway samples before it asks for a span
        configuration.traces.batchSpanProcessor.maxQueueSize = config.maxQueueSize
        configuration.traces.batchSpanProcessor.scheduleDelay = .milliseconds(config.batchDelayMilliseconds)
        configuration.traces.batchSpanProcessor.exportTimeout = .milliseconds(config.exportTimeoutMilliseconds)
        configuration.traces.otlpExporter.endpoint = config.endpoint
        configuration.traces.otlpExporter.protocol = config.transport == .grpc ? .grpc : .httpProtobuf
        configuration.traces.otlpExporter.headers = config.headers.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
        configuration.traces.otlpExporter.timeout = .milliseconds(config.exportTimeoutMilliseconds)
        let report = ExportReport(metrics: metrics, logger: logger)
        configuration.diagnosticLogger = .custom(Logger(label: "agentgateway.otel") { _ in ExportReportHandler(report: report) })
        configuration.diagnosticLogLevel = .debug
        let backend = try OTel.makeTracingBackend(configuration: configuration)
        return (RequestTracer(tracer: backend.factory, sampleRatio: config.sampleRatio), backend.service)
    }

    /// The trace of a request with these headers: nil when it is neither sampled nor carries a
    /// trace to pass on. A sampled one's server span starts when first needed, dated from now.
    func start(_ head: RequestHead, requestID: UInt64, operation: @autoclosure () -> String) -> RequestTrace? {
        let incoming = head.headers.first(name: "traceparent").flatMap(TraceParent.init)
        let sampled = incoming?.sampled ?? Sampling.admits(requestID, fraction: sampleRatio, salt: Sampling.tracingSalt)
        guard sampled || incoming != nil else { return nil }
        return RequestTrace(tracer: self, parent: incoming, tracestate: head.headers.first(name: "tracestate"), sampled: sampled,
                            operation: operation(), fromHeader: incoming != nil)
    }

    /// The trace of a request that named its parent only in its message (MCP's `params._meta`,
    /// after the head went without one).
    func start(parent: TraceParent, tracestate: String?, operation: String, startedAt: UInt64) -> RequestTrace {
        RequestTrace(tracer: self, parent: parent, tracestate: tracestate, sampled: parent.sampled, operation: operation,
                     fromHeader: false, startedAt: startedAt)
    }

    fileprivate func serverSpan(_ operation: String, parent: TraceParent?, tracestate: String?,
                                startedAt: UInt64) -> (span: any Span, traceparent: String, traceID: String)? {
        var context = ServiceContext.topLevel
        if let parent { tracer.extract(W3CHeaders(traceparent: parent.text, tracestate: tracestate), into: &context, using: W3CHeaders.Access()) }
        let span = tracer.startSpan(operation, context: context, ofKind: .server, at: Self.wallClock(fromUptime: startedAt))
        var outgoing = W3CHeaders()
        tracer.inject(span.context, into: &outgoing, using: W3CHeaders.Access())
        guard let traceparent = outgoing.traceparent, let parsed = TraceParent(traceparent) else {
            span.end()
            return nil
        }
        return (span, traceparent, parsed.traceID)
    }

    /// A client span for an upstream call of `trace` (sampled traces only), with the headers
    /// that carry it.
    func child(of trace: RequestTrace, _ operation: String) -> (span: any Span, traceparent: String, tracestate: String?)? {
        guard let parent = trace.span else { return nil }
        let span = tracer.startSpan(operation, context: parent.context, ofKind: .client)
        var outgoing = W3CHeaders()
        tracer.inject(span.context, into: &outgoing, using: W3CHeaders.Access())
        guard let traceparent = outgoing.traceparent else {
            span.end()
            return nil
        }
        return (span, traceparent, trace.tracestate)
    }

    /// The wall-clock instant of a monotonic reading taken earlier (a span dated from the
    /// request's arrival, started later).
    static func wallClock(fromUptime uptime: UInt64) -> DefaultTracerClock.Instant {
        let now = DefaultTracerClock().now
        let elapsed = NIODeadline.now().uptimeNanoseconds &- uptime
        return DefaultTracerClock.Instant(nanosecondsSinceEpoch: now.nanosecondsSinceEpoch &- elapsed)
    }
}

/// One request's trace, on its event loop: the parent it came with, whether it is sampled, its
/// server span once started, and what it passes upstream. The trace id is also read from other
/// threads (plugins' log lines), under a lock.
final class RequestTrace: @unchecked Sendable {
    private let tracer: RequestTracer
    private(set) var parent: TraceParent?
    private(set) var tracestate: String?
    private(set) var sampled: Bool
    /// The parent came in the request head (a message's `_meta` cannot replace it).
    let fromHeader: Bool
    private let operation: String
    private let startedAt: UInt64
    private var server: (span: any Span, traceparent: String)?
    private let knownTraceID: Mutex<String?>

    init(tracer: RequestTracer, parent: TraceParent?, tracestate: String?, sampled: Bool, operation: String, fromHeader: Bool,
         startedAt: UInt64 = NIODeadline.now().uptimeNanoseconds) {
        self.tracer = tracer
        self.parent = parent
        self.tracestate = tracestate
        self.sampled = sampled
        self.operation = operation
        self.fromHeader = fromHeader
        self.startedAt = startedAt
        knownTraceID = Mutex(parent?.traceID)
    }

    /// The server span (started now if it was not yet); nil when not sampled.
    var span: (any Span)? {
        if let server { return server.span }
        guard sampled, let started = tracer.serverSpan(operation, parent: parent, tracestate: tracestate, startedAt: startedAt) else {
            return nil
        }
        server = (started.span, started.traceparent)
        knownTraceID.withLock { $0 = started.traceID }
        return started.span
    }

    /// The span, if it was started (does not start it).
    var startedSpan: (any Span)? { server?.span }

    /// A parent named by the message (MCP's `params._meta.traceparent`), taken when the head
    /// named none and no span started yet. Returns whether it was taken.
    @discardableResult
    func adopt(parent newParent: TraceParent, tracestate newState: String?) -> Bool {
        guard !fromHeader, server == nil else { return false }
        parent = newParent
        tracestate = newState
        sampled = newParent.sampled
        knownTraceID.withLock { $0 = newParent.traceID }
        return true
    }

    /// What goes upstream: the span's context when sampled, else the parent's as it came.
    var outgoing: (traceparent: String, tracestate: String?)? {
        if sampled, span != nil, let server { return (server.traceparent, tracestate) }
        return parent.map { ($0.text, tracestate) }
    }

    /// 32 hex digits (nil for a sampled trace without a parent whose span has not started).
    var traceID: String? { knownTraceID.withLock { $0 } }

    /// The server span's id (16 hex digits), once started.
    var spanID: String? {
        guard let server else { return nil }
        let parts = server.traceparent.split(separator: "-")
        return parts.count == 4 ? String(parts[2]) : nil
    }
}

/// A W3C `traceparent` header (`00-<trace id>-<parent id>-<flags>`), validated.
struct TraceParent: Sendable {
    let text: String
    let traceID: String
    let sampled: Bool

    init?(_ text: String) {
        let bytes = Array(text.utf8)
        guard bytes.count >= 55, bytes[2] == UInt8(ascii: "-"), bytes[35] == UInt8(ascii: "-"), bytes[52] == UInt8(ascii: "-"),
              bytes.count == 55 || (bytes.count > 55 && bytes[55] == UInt8(ascii: "-")) else { return nil }
        func isHex(_ range: Range<Int>) -> Bool {
            bytes[range].allSatisfy { (0x30...0x39).contains($0) || (0x61...0x66).contains($0) }
        }
        guard isHex(0..<2), isHex(3..<35), isHex(36..<52), isHex(53..<55) else { return nil }
        let version = String(decoding: bytes[0..<2], as: UTF8.self)
        guard version != "ff", !(version == "00" && bytes.count != 55) else { return nil }
        traceID = String(decoding: bytes[3..<35], as: UTF8.self)
        guard traceID != String(repeating: "0", count: 32), bytes[36..<52].contains(where: { $0 != 0x30 }) else { return nil }
        let flags = UInt8(String(decoding: bytes[53..<55], as: UTF8.self), radix: 16) ?? 0
        sampled = flags & 1 == 1
        self.text = String(decoding: bytes[0..<55], as: UTF8.self)
    }
}

/// The two W3C headers as a carrier for swift-distributed-tracing's extract and inject.
struct W3CHeaders: Sendable {
    var traceparent: String?
    var tracestate: String?

    struct Access: Extractor, Injector {
        func extract(key: String, from carrier: W3CHeaders) -> String? {
            switch key.lowercased() {
            case "traceparent": carrier.traceparent
            case "tracestate": carrier.tracestate
            default: nil
            }
        }

        func inject(_ value: String, forKey key: String, into carrier: inout W3CHeaders) {
            switch key.lowercased() {
            case "traceparent": carrier.traceparent = value
            case "tracestate": carrier.tracestate = value
            default: break
            }
        }
    }
}

/// What swift-otel's exporter reports in its diagnostic log, as metrics: spans exported, spans
/// dropped because its queue was full, and spans lost with a batch that failed to export (a
/// dead collector). Its warnings are passed on to the gateway's log at most once a minute.
final class ExportReport: Sendable {
    let exported: Counter
    let droppedQueueFull: Counter
    let droppedExportFailed: Counter
    let logger: Logger
    private let lastWarning = Mutex<ContinuousClock.Instant?>(nil)

    init(metrics: MetricCatalog, logger: Logger) {
        self.logger = logger
        let exported = try? metrics.define(.counter, name: "agw_tracing_spans_exported_total", help: "Spans exported to the OTLP collector")
        let dropped = try? metrics.define(.counter, name: "agw_tracing_spans_dropped_total",
                                          help: "Spans lost: the export queue was full, or their batch failed to export", labels: ["reason"])
        guard let exported, let dropped else { preconditionFailure("tracing metrics defined twice") }
        self.exported = metrics.counter(exported)
        droppedQueueFull = metrics.counter(dropped, "queue_full")
        droppedExportFailed = metrics.counter(dropped, "export_failed")
    }

    func observe(_ message: String, level: Logger.Level, metadata: Logger.Metadata) {
        func count(_ key: String) -> Int64 { metadata[key].flatMap { Int64("\($0)") } ?? 0 }
        switch message {
        case "Exported batch.": exported.increment(by: count("batch_size"))
        case "Failed to export batch.": droppedExportFailed.increment(by: count("batch_size"))
        case let text where text.hasPrefix("Spans were dropped"): droppedQueueFull.increment(by: count("dropped_count"))
        default: break
        }
        guard level >= .warning else { return }
        let now = ContinuousClock.now
        let due = lastWarning.withLock { last in
            guard last.map({ now - $0 > .seconds(60) }) ?? true else { return false }
            last = now
            return true
        }
        if due { logger.warning("tracing export: \(message)", metadata: metadata) }
    }
}

/// The log handler swift-otel's diagnostic logger writes to.
struct ExportReportHandler: LogHandler {
    let report: ExportReport
    var logLevel: Logger.Level = .debug
    var metadata: Logger.Metadata = [:]

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        var merged = metadata.merging(event.metadata ?? [:]) { $1 }
        if let error = event.error { merged["error"] = "\(error)" }
        report.observe(event.message.description, level: event.level, metadata: merged)
    }
}
