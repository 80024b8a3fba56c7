import Foundation
import Prometheus

/// Where a configuration change came from.
enum ConfigSource: String, Sendable, CaseIterable {
    /// The file the gateway started with.
    case startup
    /// `SIGHUP`: the config file read again.
    case signal = "sighup"
    /// The config file changed on disk (inotify).
    case fileWatch = "file_watch"
    /// `PUT /config` on the admin listener.
    case admin
    /// A control plane, over xDS.
    case xds
}

/// One attempt to change the configuration, as `GET /config/generations` lists it.
struct ReloadRecord: Sendable, Equatable {
    enum Result: String, Sendable, CaseIterable {
        /// The new generation serves.
        case applied
        /// Refused: the old generation keeps serving; `error` says why.
        case rejected
        /// A dry run that would have been applied.
        case validated
        /// The file watch saw the same bytes again: nothing to do.
        case unchanged
    }

    /// The generation it created (applied) or the one that kept serving (otherwise).
    var generation: Int
    var time: Date
    var source: ConfigSource
    var result: Result
    /// The first problem found (file:line:column or key path, or the plugin's own text).
    var error: String?
    /// Plugin instances taken over from the previous generation, and created anew.
    var reusedInstances = 0
    var newInstances = 0
    var milliseconds = 0.0

    /// This record as a JSON object (the admin API's answers).
    var json: [String: Any] {
        var object: [String: Any] = [
            "generation": generation, "time": time.formatted(.iso8601),
            "source": source.rawValue, "result": result.rawValue,
            "milliseconds": (milliseconds * 10).rounded() / 10,
        ]
        if result == .applied || result == .validated {
            object["reused_instances"] = reusedInstances
            object["new_instances"] = newInstances
        }
        if let error { object["error"] = error }
        return object
    }
}

/// The most recent reload attempts, and the metrics that count them:
/// `agw_config_reload_total{source,result}` and `agw_config_generation`.
struct ReloadHistory {
    static let capacity = 64
    private(set) var records: [ReloadRecord] = []
    private let counters: [String: Counter]
    private let generation: Gauge

    init(metrics: MetricCatalog) {
        guard let reloads = try? metrics.define(.counter, name: "agw_config_reload_total",
                                                help: "Configuration changes attempted, by source and result", labels: ["source", "result"]),
              let generation = try? metrics.define(.gauge, name: "agw_config_generation", help: "The configuration generation serving new requests")
        else { preconditionFailure("reload metrics defined with another shape") }
        var counters: [String: Counter] = [:]
        for source in ConfigSource.allCases where source != .startup {
            for result in ReloadRecord.Result.allCases {
                counters["\(source.rawValue)/\(result.rawValue)"] = metrics.counter(reloads, source.rawValue, result.rawValue)
            }
        }
        self.counters = counters
        self.generation = metrics.gauge(generation)
    }

    mutating func append(_ record: ReloadRecord) {
        records.append(record)
        if records.count > Self.capacity { records.removeFirst(records.count - Self.capacity) }
        counters["\(record.source.rawValue)/\(record.result.rawValue)"]?.increment()
        if record.result == .applied || record.source == .startup { generation.set(Double(record.generation)) }
    }
}
