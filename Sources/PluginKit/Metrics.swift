import Synchronization
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

/// A metric with labels (``FilterConfiguration/counter(name:help:labels:)`` and its kin): resolve
/// the series of one label set once with ``series(_:)-([String])`` and record through it from any thread.
///
/// Label values must come from a bounded set (tool names from a target's own list, route names,
/// an enum) — never from unchecked client input; past 1,000 label sets the gateway records new
/// ones as `other`.
public struct MetricFamily<Series: Sendable>: @unchecked Sendable {
    let host: UnsafePointer<agw_host_api>
    let id: UInt32
    let labelCount: Int
    let make: @Sendable (UnsafePointer<agw_host_api>, UInt32) -> Series

    /// The series with these label values (one per label name, in order). Nil when the count is
    /// wrong. The same values give the same series: keep it rather than resolving per request.
    public func series(_ values: [String]) -> Series? {
        guard values.count == labelCount, let resolve = host.pointee.metric_series else { return nil }
        var metricID: UInt32 = 0
        let result = values.map { Array($0.utf8) }.withAGWStrings { resolve(id, $0, values.count, &metricID) }
        return result == AGW_OK ? make(host, metricID) : nil
    }

    /// ``series(_:)-([String])`` with the values as arguments.
    public func series(_ values: String...) -> Series? { series(values) }
}

extension FilterConfiguration {
    /// Defines a counter with labels (in `init(configuration:)` only). Nil on a host before ABI
    /// 1.5, for invalid names, or when the name is taken with another kind or other labels.
    public func counter(name: String, help: String, labels: [String]) -> MetricFamily<Counter>? {
        scope.defineLabelledMetric(AGW_METRIC_COUNTER, name: name, help: help, labels: labels) { Counter(host: $0, id: $1) }
    }

    /// Defines a gauge with labels; nil as for ``counter(name:help:labels:)``.
    public func gauge(name: String, help: String, labels: [String]) -> MetricFamily<Gauge>? {
        scope.defineLabelledMetric(AGW_METRIC_GAUGE, name: name, help: help, labels: labels) { Gauge(host: $0, id: $1) }
    }

    /// Defines a histogram with labels, buckets from 0.5 ms to 60 s (record seconds); nil as for
    /// ``counter(name:help:labels:)``.
    public func histogram(name: String, help: String, labels: [String]) -> MetricFamily<Histogram>? {
        scope.defineLabelledMetric(AGW_METRIC_HISTOGRAM, name: name, help: help, labels: labels) { Histogram(host: $0, id: $1) }
    }
}

extension Scope {
    func defineLabelledMetric<Series>(_ kind: agw_metric_kind, name: String, help: String, labels: [String],
                                      make: @escaping @Sendable (UnsafePointer<agw_host_api>, UInt32) -> Series) -> MetricFamily<Series>? {
        guard let config, host.pointee.has(\.metric_series), let define = host.pointee.metric_define_labelled else { return nil }
        var familyID: UInt32 = 0
        let result = name.withAGWString { n in
            help.withAGWString { h in labels.map { Array($0.utf8) }.withAGWStrings { define(config, kind, n, h, $0, labels.count, &familyID) } }
        }
        return result == AGW_OK ? MetricFamily(host: host, id: familyID, labelCount: labels.count, make: make) : nil
    }
}

/// Keeps the series a filter resolved from a ``MetricFamily``, so each label set is resolved
/// once (a lookup under a lock after that). For label values known only at request time but
/// from a bounded set (a policy's rule names, a limit's name).
///
/// `series` is inlinable: a plugin's call is specialized for its `Series` type in the plugin's
/// own module, rather than run as unspecialized generic code here (~3k instructions a lookup).
public final class MetricSeriesCache<Series: Sendable>: Sendable {
    @usableFromInline let family: MetricFamily<Series>?
    @usableFromInline let resolved = Mutex<[[String]: Series]>([:])

    /// A cache of `family`'s series (records nothing when the family is nil: an older host).
    public init(_ family: MetricFamily<Series>?) { self.family = family }

    /// The series with these label values.
    @inlinable
    public func series(_ values: String...) -> Series? {
        guard let family else { return nil }
        return resolved.withLock { cache in
            if let series = cache[values] { return series }
            let series = family.series(values)
            if let series { cache[values] = series }
            return series
        }
    }
}
