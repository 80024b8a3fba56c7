import Foundation
import JSON

/// `[access_log]` (the gateway's default) and `[routes.access_log]` (a route's own).
struct AccessLogConfig: Sendable, Equatable {
    /// Global only: a file (relative to the config file), or nil for stdout. `SIGUSR1` reopens it.
    var path: String?
    /// A route's: false turns its lines off.
    var enabled = true
    /// The fraction of requests logged (decided when a request starts).
    var sample: Double?
    /// Fields to add that are off by default (``AccessLogPolicy/optInFields``).
    var include: [String] = []
    /// Fields to leave out.
    var exclude: [String] = []
}

/// What one route logs: whether, how often and which fields. Built with its generation (a
/// class: a request reads it through one reference).
final class AccessLogPolicy: Sendable {
    let sample: Double
    private let included: Set<String>
    private let excluded: Set<String>
    /// The route or the gateway includes or excludes fields (else no key needs hashing).
    private let filters: Bool
    /// `wants` for each of `hostFields`, worked out once.
    private let hostFieldWanted: [Bool]

    /// Fields never logged unless a route includes them: the query string (it may carry keys)
    /// and the MCP tool arguments (`mcp.request.arguments`: user data).
    static let optInFields: Set<String> = ["query", "mcp.request.arguments"]

    /// The host's own fields, in line order; annotations from plugins follow.
    static let hostFields = ["time", "request_id", "trace_id", "span_id", "listener", "route", "protocol", "method", "path", "query",
                             "status", "duration_ms", "request_bytes", "response_bytes", "peer", "user_agent", "subject",
                             "auth_method", "upstream", "decided_by"]
    static let hostFieldSet = Set(hostFields)

    /// Whether an annotation's key is one of the host's fields (which it cannot replace); plugins'
    /// keys have dots, the host's none, so most are answered without hashing.
    static func isHostField(_ key: UnsafeRawBufferPointer) -> Bool {
        guard let base = key.baseAddress, memchr(base, Int32(UInt8(ascii: ".")), key.count) == nil else { return false }
        return hostFieldSet.contains(String(decoding: key, as: UTF8.self))
    }
    /// `"name":` of each host field, made once.
    static let hostFieldKeys: [[UInt8]] = hostFields.map { name in
        var key: [UInt8] = []
        JSONText.appendQuoted(name, to: &key)
        return key + [UInt8(ascii: ":")]
    }
    /// The longest of `hostFieldKeys`.
    static let longestHostFieldKey = hostFieldKeys.map(\.count).max()!

    /// The policy of a route: its own settings over the gateway's. Nil when nothing is logged.
    init?(global: AccessLogConfig?, route: AccessLogConfig?) {
        guard let global, route?.enabled ?? true else { return nil }
        sample = min(1, max(0, route?.sample ?? global.sample ?? 1))
        let included = Set(global.include + (route?.include ?? []))
        let excluded = Set(global.exclude + (route?.exclude ?? []))
        self.included = included
        self.excluded = excluded
        filters = !included.isEmpty || !excluded.isEmpty
        hostFieldWanted = Self.hostFields.map { Self.wants($0, included: included, excluded: excluded) }
    }

    func wants(_ field: String) -> Bool { Self.wants(field, included: included, excluded: excluded) }

    private static func wants(_ field: String, included: Set<String>, excluded: Set<String>) -> Bool {
        if !excluded.isEmpty, excluded.contains(field) { return false }
        return !optInFields.contains(field) || included.contains(field)
    }

    /// Whether the line takes an annotation with this key: one the route wants that is not a
    /// host field. Answered from the bytes unless the route includes or excludes fields.
    func logs(annotation key: UnsafeRawBufferPointer) -> Bool {
        if Self.isHostField(key) { return false }
        guard filters else { return !Self.isOptIn(key) }
        return wants(String(decoding: key, as: UTF8.self))
    }

    /// Whether a sampled request's span takes an annotation with this key: every key but the
    /// opt-in ones, which only a route's log can ask for.
    func tracesAnnotation(_ key: UnsafeRawBufferPointer) -> Bool {
        guard Self.isOptIn(key) else { return true }
        return !included.isEmpty && wants(String(decoding: key, as: UTF8.self))
    }

    private static let optInKeys = optInFields.map { Array($0.utf8) }

    /// `optInFields.contains(key)`, by length first (no hashing, no `String`).
    static func isOptIn(_ key: UnsafeRawBufferPointer) -> Bool {
        guard key.count == 5 || key.count == 21 else { return false } // "query", "mcp.request.arguments"
        return optInKeys.contains { $0.count == key.count && $0.withUnsafeBytes { memcmp($0.baseAddress!, key.baseAddress!, key.count) == 0 } }
    }

    /// `wants(hostFields[index])`.
    func wants(hostField index: Int) -> Bool { hostFieldWanted[index] }

    /// Whether the request with this id is logged (`sample` of them).
    func samples(requestID: UInt64) -> Bool { Sampling.admits(requestID, fraction: sample, salt: Sampling.accessLogSalt) }
}

/// One finished request, as the access log sees it.
struct AccessLogRecord {
    var unixNanoseconds: UInt64
    var requestID: UInt64
    var traceID: String?
    var spanID: String?
    var listener: String
    var route: String
    var httpVersion: String
    var method: String
    var uri: String
    var status: Int
    var durationNanoseconds: UInt64
    var requestBytes: Int
    var responseBytes: Int
    var peer: String
    var userAgent: String?
    /// The identity filters' `agw.auth.sub` and `agw.auth.method`, as they stored them.
    var subject: [UInt8]?
    var authMethod: [UInt8]?
    var upstream: String?
    var decidedBy: String?
    var annotations: Annotations
}

/// Sampling decisions without a random-number syscall per request: the request's id mixed with a
/// per-process salt (splitmix64) is uniform enough to admit a fraction of requests, and two
/// decisions with different salts (the access log's, tracing's) are independent.
enum Sampling {
    static let accessLogSalt = UInt64.random(in: .min ... .max)
    static let tracingSalt = UInt64.random(in: .min ... .max)

    static func admits(_ id: UInt64, fraction: Double, salt: UInt64) -> Bool {
        if fraction >= 1 { return true }
        if fraction <= 0 { return false }
        var z = id &+ salt &+ 0x9E37_79B9_7F4A_7C15
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        z ^= z >> 31
        return Double(z >> 11) / Double(1 << 53) < fraction
    }
}

/// A JSON object written member by member into one byte array, ending in a newline (the
/// gateway's own log lines; access-log lines are `AccessLogFormat`'s).
struct JSONLineWriter {
    private var bytes: [UInt8] = [UInt8(ascii: "{")]

    mutating func string(_ name: String, _ value: String) {
        if bytes.count > 1 { bytes.append(UInt8(ascii: ",")) }
        JSONText.appendQuoted(name, to: &bytes)
        bytes.append(UInt8(ascii: ":"))
        JSONText.appendQuoted(value, to: &bytes)
    }

    mutating func finish() -> [UInt8] {
        bytes.append(contentsOf: "}\n".utf8)
        return bytes
    }
}
