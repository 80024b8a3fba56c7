import Atomics

/// A Prometheus histogram recorded with atomics only: a bucket count and the sum, each one
/// relaxed atomic add (the sum a compare-and-swap on its bits).
///
/// Written here rather than taken from swift-prometheus because its `Histogram` takes a lock per
/// observation, and the gateway records several per request (the request's duration, each plugin
/// hook's time, the tool call's). The catalog writes these in the text format after the
/// registry's counters and gauges (`MetricCatalog.emitHistograms`).
final class AtomicHistogram: @unchecked Sendable {
    /// Upper bounds, ascending; a last `+Inf` bucket is implied.
    let upperBounds: [Double]
    let labels: [(String, String)]
    /// `upperBounds.count + 1` bucket counts (not cumulative), then the sum's bits.
    private let storage: UnsafeMutablePointer<UnsafeAtomic<UInt64>.Storage>
    private let slots: Int

    init(upperBounds: [Double], labels: [(String, String)]) {
        self.upperBounds = upperBounds
        self.labels = labels
        slots = upperBounds.count + 2
        storage = .allocate(capacity: slots)
        for index in 0..<slots { (storage + index).initialize(to: .init(0)) }
    }

    deinit {
        storage.deinitialize(count: slots)
        storage.deallocate()
    }

    /// Records one observation (seconds, by convention).
    @inline(__always)
    func record(_ value: Double) {
        var bucket = 0
        let bounds = upperBounds.count
        while bucket < bounds, value > upperBounds[bucket] { bucket += 1 }
        UnsafeAtomic<UInt64>(at: storage + bucket).wrappingIncrement(ordering: .relaxed)
        let sum = UnsafeAtomic<UInt64>(at: storage + slots - 1)
        var old = sum.load(ordering: .relaxed)
        while true {
            let (exchanged, original) = sum.weakCompareExchange(expected: old, desired: (Double(bitPattern: old) + value).bitPattern,
                                                                 ordering: .relaxed)
            if exchanged { return }
            old = original
        }
    }

    /// The bucket counts (not cumulative, `+Inf` last) and the sum, as of now.
    func snapshot() -> (counts: [UInt64], sum: Double) {
        let counts = (0..<(slots - 1)).map { UnsafeAtomic<UInt64>(at: storage + $0).load(ordering: .relaxed) }
        return (counts, Double(bitPattern: UnsafeAtomic<UInt64>(at: storage + slots - 1).load(ordering: .relaxed)))
    }

    /// The series in the text format: cumulative `_bucket` lines, `_sum`, `_count`.
    func emit(name: String, into out: inout [UInt8]) {
        let (counts, sum) = snapshot()
        var cumulative: UInt64 = 0
        for (index, count) in counts.enumerated() {
            cumulative += count
            let bound = index < upperBounds.count ? "\(upperBounds[index])" : "+Inf"
            Self.line(name + "_bucket", labels + [("le", bound)], "\(cumulative)", into: &out)
        }
        Self.line(name + "_sum", labels, "\(sum)", into: &out)
        Self.line(name + "_count", labels, "\(cumulative)", into: &out)
    }

    private static func line(_ name: String, _ labels: [(String, String)], _ value: String, into out: inout [UInt8]) {
        out.append(contentsOf: name.utf8)
        if !labels.isEmpty {
            out.append(UInt8(ascii: "{"))
            for (index, (label, text)) in labels.enumerated() {
                if index > 0 { out.append(UInt8(ascii: ",")) }
                out.append(contentsOf: label.utf8)
                out.append(contentsOf: "=\"".utf8)
                for byte in text.utf8 {
                    switch byte {
                    case UInt8(ascii: "\\"): out.append(contentsOf: #"\\"#.utf8)
                    case UInt8(ascii: "\""): out.append(contentsOf: #"\""#.utf8)
                    case UInt8(ascii: "\n"): out.append(contentsOf: #"\n"#.utf8)
                    default: out.append(byte)
                    }
                }
                out.append(UInt8(ascii: "\""))
            }
            out.append(UInt8(ascii: "}"))
        }
        out.append(UInt8(ascii: " "))
        out.append(contentsOf: value.utf8)
        out.append(UInt8(ascii: "\n"))
    }
}
