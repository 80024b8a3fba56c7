/// `[tracing]`: OpenTelemetry traces exported with OTLP. Read at startup (a reload keeps the
/// exporter it started with; the sampling ratio applies per generation). The standard `OTEL_*`
/// environment variables (`OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`, `OTEL_SERVICE_NAME`,
/// `OTEL_RESOURCE_ATTRIBUTES`, `OTEL_EXPORTER_OTLP_HEADERS`, …) override these, as the
/// OpenTelemetry SDKs do.
struct TracingConfig: Sendable, Equatable {
    enum Transport: String, Sendable {
        case httpProtobuf = "http/protobuf"
        case grpc
    }

    /// The collector: `http://host:4318/v1/traces` (HTTP) or `http://host:4317` (gRPC).
    var endpoint = "http://127.0.0.1:4318/v1/traces"
    var transport = Transport.httpProtobuf
    /// The fraction of new traces sampled (a request whose `traceparent` says sampled or not
    /// follows its parent).
    var sampleRatio = 1.0
    var serviceName = "agentgateway"
    var headers: [String: String] = [:]
    var resourceAttributes: [String: String] = [:]
    /// Spans waiting for export before new ones are dropped (counted).
    var maxQueueSize = 2048
    var exportTimeoutMilliseconds = 10_000
    var batchDelayMilliseconds = 1_000

    init() {}

    init(_ table: inout TOMLReader) throws {
        endpoint = try table.string("endpoint") ?? endpoint
        guard endpoint.hasPrefix("http://") || endpoint.hasPrefix("https://") else {
            throw table.error("endpoint", "an http:// or https:// URL of an OTLP collector, e.g. \"http://127.0.0.1:4318/v1/traces\"")
        }
        if let name = try table.string("protocol") {
            guard let kind = Transport(rawValue: name) else { throw table.error("protocol", "\"http/protobuf\" or \"grpc\"") }
            transport = kind
        }
        if let ratio = try table.double("sample_ratio") {
            guard (0...1).contains(ratio) else { throw table.error("sample_ratio", "a fraction from 0 to 1") }
            sampleRatio = ratio
        }
        serviceName = try table.string("service_name") ?? serviceName
        headers = try table.stringTable("headers") ?? [:]
        resourceAttributes = try table.stringTable("resource") ?? [:]
        for (key, name) in [(\TracingConfig.maxQueueSize, "max_queue_size"), (\.exportTimeoutMilliseconds, "export_timeout_ms"),
                            (\.batchDelayMilliseconds, "batch_delay_ms")] {
            guard let value = try table.int(name) else { continue }
            guard value > 0 else { throw table.error(name, "must be greater than 0") }
            self[keyPath: key] = value
        }
    }
}
