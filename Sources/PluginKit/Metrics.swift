import PluginABI

/// A Prometheus counter a filter defined in `init(configuration:)` with
/// ``FilterConfiguration/counter(name:help:)``. Served on the gateway's `/metrics`; safe to use
/// from any thread. Two instances that define the same name share it.
public struct Counter: @unchecked Sendable {
    let host: UnsafePointer<agw_host_api>
    let id: UInt32

    /// Adds `amount` (not negative).
    public func increment(by amount: Int64 = 1) { _ = host.pointee.metric_add(id, amount) }
}

/// A Prometheus gauge (``FilterConfiguration/gauge(name:help:)``): a value that goes up and down.
public struct Gauge: @unchecked Sendable {
    let host: UnsafePointer<agw_host_api>
    let id: UInt32

    /// Adds `delta` (may be negative).
    public func add(_ delta: Int64) { _ = host.pointee.metric_add(id, delta) }
    /// Sets the value.
    public func set(_ value: Double) { _ = host.pointee.metric_record(id, value) }
}

/// A Prometheus histogram (``FilterConfiguration/histogram(name:help:)``), with the gateway's
/// buckets from 1 ms to 1000 s.
public struct Histogram: @unchecked Sendable {
    let host: UnsafePointer<agw_host_api>
    let id: UInt32

    /// Records one observation (in seconds, by Prometheus convention).
    public func record(_ value: Double) { _ = host.pointee.metric_record(id, value) }
}

extension FilterConfiguration {
    /// Defines a counter (in `init(configuration:)` only). Nil if the name is not a valid
    /// Prometheus name or another kind of metric already has it.
    public func counter(name: String, help: String) -> Counter? {
        scope.defineMetric(AGW_METRIC_COUNTER, name: name, help: help).map { Counter(host: scope.host, id: $0) }
    }

    /// Defines a gauge (in `init(configuration:)` only); nil as for ``counter(name:help:)``.
    public func gauge(name: String, help: String) -> Gauge? {
        scope.defineMetric(AGW_METRIC_GAUGE, name: name, help: help).map { Gauge(host: scope.host, id: $0) }
    }

    /// Defines a histogram (in `init(configuration:)` only); nil as for ``counter(name:help:)``.
    public func histogram(name: String, help: String) -> Histogram? {
        scope.defineMetric(AGW_METRIC_HISTOGRAM, name: name, help: help).map { Histogram(host: scope.host, id: $0) }
    }
}
