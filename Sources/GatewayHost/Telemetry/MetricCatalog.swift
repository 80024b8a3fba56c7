import Atomics
import PluginABI
import Prometheus
import Synchronization

/// Every metric on `/metrics`, the gateway's own and those plugins define, is created here.
///
/// It stands between its callers and the Prometheus registry, which stops the process on a
/// conflicting definition (a name reused with another kind, help text, buckets or label names):
/// the catalog refuses those with an error instead. It bounds cardinality: a metric keeps at
/// most `maxSeries` label sets, and any further one is folded into the series whose every label
/// is `other`. And it gives each series a small integer id that plugins pass to `metric_add` /
/// `metric_record`, looked up without a lock (``SeriesTable``).
///
/// Series are created once (when a route is built, or the first time a plugin names a label
/// set) and recorded into many times, with atomics only: counters and gauges are the Prometheus
/// library's, histograms the gateway's own (``AtomicHistogram``: the library's lock per
/// observation is what the request path avoids), written after the library's in `/metrics`.
final class MetricCatalog: Sendable {
    enum Kind: Sendable, Equatable {
        case counter, gauge, histogram

        init?(_ abi: agw_metric_kind) {
            switch abi {
            case AGW_METRIC_COUNTER: self = .counter
            case AGW_METRIC_GAUGE: self = .gauge
            case AGW_METRIC_HISTOGRAM: self = .histogram
            default: return nil
            }
        }
    }

    /// One recordable series.
    enum Series: Sendable {
        case counter(Counter)
        case gauge(Gauge)
        case histogram(AtomicHistogram)
    }

    /// A defined metric (a family of series sharing a name and label names).
    struct Family: Sendable, Equatable {
        let index: Int
        let kind: Kind
        let name: String
        let labelNames: [String]
    }

    struct DefinitionError: Error, CustomStringConvertible {
        let description: String
    }

    /// The value a label takes once its metric has `maxSeries` series.
    static let overflowValue = "other"

    let registry: PrometheusCollectorRegistry
    /// Series per metric before new label sets fold into `other` (the `other` series is extra).
    let maxSeries: Int
    let ids = SeriesTable()

    private struct Definition {
        let family: Family
        let help: String
        let buckets: [Double]
        var series: [[String]: UInt32] = [:]
    }

    private let definitions = Mutex<(byName: [String: Int], all: [Definition], histograms: [(family: Int, series: AtomicHistogram)])>(
        ([:], [], []))

    init(registry: PrometheusCollectorRegistry, maxSeries: Int = 1000) {
        self.registry = registry
        self.maxSeries = maxSeries
    }

    /// Defines a metric, or returns the existing one when the definition is the same (a second
    /// instance of a filter, a reloaded route). A different kind or label names is an error; a
    /// different help text keeps the first.
    func define(_ kind: Kind, name: String, help: String, labels: [String] = [],
                buckets: [Double] = MetricCatalog.secondsBuckets) throws(DefinitionError) -> Family {
        guard Self.isValidName(name) else {
            throw DefinitionError(description: "'\(name)' is not a valid metric name ([a-zA-Z_:][a-zA-Z0-9_:]*)")
        }
        for label in labels where !Self.isValidLabelName(label) {
            throw DefinitionError(description: "'\(label)' is not a valid label name for \(name) ([a-zA-Z_][a-zA-Z0-9_]*, not starting with __)")
        }
        guard Set(labels).count == labels.count else { throw DefinitionError(description: "\(name) names a label twice") }
        let result: Result<Family, DefinitionError> = definitions.withLock { state in
            if let index = state.byName[name] {
                let existing = state.all[index].family
                guard existing.kind == kind, existing.labelNames == labels else {
                    return .failure(DefinitionError(description:
                        "metric \(name) is already defined as a \(existing.kind) with labels [\(existing.labelNames.joined(separator: ", "))]"))
                }
                return .success(existing)
            }
            let family = Family(index: state.all.count, kind: kind, name: name, labelNames: labels)
            state.all.append(Definition(family: family, help: help, buckets: buckets))
            state.byName[name] = family.index
            return .success(family)
        }
        return try result.get()
    }

    /// The family with this index (the id `metric_define_labelled` handed out).
    func family(at index: Int) -> Family? {
        definitions.withLock { index >= 0 && index < $0.all.count ? $0.all[index].family : nil }
    }

    /// The series of `family` with these label values (one per label name), created on first
    /// use; past `maxSeries`, the `other` series. Returns its id and the series.
    func series(_ family: Family, values: [String]) -> (id: UInt32, series: Series)? {
        guard values.count == family.labelNames.count else { return nil }
        return definitions.withLock { state in
            var definition = state.all[family.index]
            var key = values
            if definition.series[key] == nil, definition.series.count >= maxSeries {
                key = Array(repeating: Self.overflowValue, count: values.count)
            }
            if let id = definition.series[key], let series = ids.series(id) { return (id, series) }
            let labels = Array(zip(family.labelNames, key))
            let descriptor = MetricNameDescriptor(metricName: family.name, unitName: "", helpText: definition.help)
            let series: Series
            switch family.kind {
            case .counter:
                series = .counter(labels.isEmpty ? registry.makeCounter(descriptor: descriptor)
                                                 : registry.makeCounter(descriptor: descriptor, labels: labels))
            case .gauge:
                series = .gauge(labels.isEmpty ? registry.makeGauge(descriptor: descriptor)
                                               : registry.makeGauge(descriptor: descriptor, labels: labels))
            case .histogram:
                let histogram = AtomicHistogram(upperBounds: definition.buckets, labels: labels)
                series = .histogram(histogram)
                state.histograms.append((family.index, histogram))
            }
            guard let id = ids.append(series) else { return nil }
            definition.series[key] = id
            state.all[family.index] = definition
            return (id, series)
        }
    }

    // MARK: Typed conveniences for the host's own metrics

    func counter(_ family: Family, _ values: String...) -> Counter {
        guard case .counter(let counter) = series(family, values: values)?.series else { preconditionFailure("\(family.name) is not a counter") }
        return counter
    }

    func gauge(_ family: Family, _ values: String...) -> Gauge {
        guard case .gauge(let gauge) = series(family, values: values)?.series else { preconditionFailure("\(family.name) is not a gauge") }
        return gauge
    }

    func histogram(_ family: Family, _ values: String...) -> AtomicHistogram {
        guard case .histogram(let histogram) = series(family, values: values)?.series else { preconditionFailure("\(family.name) is not a histogram") }
        return histogram
    }

    /// Every histogram series in the text format, grouped by family (`# HELP`, `# TYPE`, then
    /// each series' buckets, sum and count), for `/metrics` after the registry's output.
    func emitHistograms(into out: inout [UInt8]) {
        let (families, histograms) = definitions.withLock { state in
            (state.all.map { ($0.family.name, $0.help) }, state.histograms)
        }
        var byFamily: [Int: [AtomicHistogram]] = [:]
        var order: [Int] = []
        for (family, series) in histograms {
            if byFamily[family] == nil { order.append(family) }
            byFamily[family, default: []].append(series)
        }
        for family in order {
            let (name, help) = families[family]
            if !help.isEmpty {
                out.append(contentsOf: "# HELP \(name) \(help.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\n", with: " "))\n".utf8)
            }
            out.append(contentsOf: "# TYPE \(name) histogram\n".utf8)
            for series in byFamily[family]! { series.emit(name: name, into: &out) }
        }
    }

    // MARK: Recording by id (the ABI)

    func add(id: UInt32, delta: Int64) -> agw_result {
        switch ids.series(id) {
        case .counter(let counter)?:
            guard delta >= 0 else { return AGW_ERR_INVALID_ARGUMENT }
            counter.increment(by: delta)
        case .gauge(let gauge)?: gauge.increment(by: Double(delta))
        case .histogram?: return AGW_ERR_INVALID_ARGUMENT
        case nil: return AGW_ERR_NOT_FOUND
        }
        return AGW_OK
    }

    func record(id: UInt32, value: Double) -> agw_result {
        switch ids.series(id) {
        case .histogram(let histogram)?: histogram.record(value)
        case .gauge(let gauge)?: gauge.set(to: value)
        case .counter?: return AGW_ERR_INVALID_ARGUMENT
        case nil: return AGW_ERR_NOT_FOUND
        }
        return AGW_OK
    }

    // MARK: Names

    /// Latency buckets in seconds, 0.5 ms to 60 s.
    static let secondsBuckets: [Double] = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60]

    static func isValidName(_ name: String) -> Bool {
        guard let first = name.utf8.first, !isDigit(first) else { return false }
        return name.utf8.allSatisfy { isLetter($0) || isDigit($0) || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: ":") }
    }

    static func isValidLabelName(_ name: String) -> Bool {
        guard let first = name.utf8.first, !isDigit(first), !name.hasPrefix("__") else { return false }
        return name.utf8.allSatisfy { isLetter($0) || isDigit($0) || $0 == UInt8(ascii: "_") }
    }

    private static func isDigit(_ byte: UInt8) -> Bool { (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) }
    private static func isLetter(_ byte: UInt8) -> Bool {
        (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte)
    }
}

/// Series by id, appended under the catalog's lock and read from any thread without one: a
/// fixed directory of lazily created chunks, each slot set once (`ManagedAtomicLazyReference`).
final class SeriesTable: Sendable {
    private final class Box: Sendable {
        let series: MetricCatalog.Series
        init(_ series: MetricCatalog.Series) { self.series = series }
    }

    private final class Chunk: Sendable {
        let slots: [ManagedAtomicLazyReference<Box>] = (0..<SeriesTable.chunkSize).map { _ in ManagedAtomicLazyReference() }
    }

    static let chunkSize = 256
    static let capacity = chunkSize * chunkSize
    private let chunks: [ManagedAtomicLazyReference<Chunk>] = (0..<SeriesTable.chunkSize).map { _ in ManagedAtomicLazyReference() }
    /// Written only under the catalog's lock.
    private let count = ManagedAtomic<Int>(0)

    /// Call under the catalog's lock. Nil once the table is full.
    func append(_ series: MetricCatalog.Series) -> UInt32? {
        let id = count.load(ordering: .relaxed)
        guard id < Self.capacity else { return nil }
        let chunk = chunks[id / Self.chunkSize].storeIfNilThenLoad(Chunk())
        _ = chunk.slots[id % Self.chunkSize].storeIfNilThenLoad(Box(series))
        count.store(id + 1, ordering: .releasing)
        return UInt32(id)
    }

    func series(_ id: UInt32) -> MetricCatalog.Series? {
        let index = Int(id)
        guard index < Self.capacity, let chunk = chunks[index / Self.chunkSize].load() else { return nil }
        return chunk.slots[index % Self.chunkSize].load()?.series
    }
}
