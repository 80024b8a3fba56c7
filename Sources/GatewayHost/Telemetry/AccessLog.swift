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

/// What one route logs: whether, how often and which fields. Built with its generation.
struct AccessLogPolicy: Sendable {
    let sample: Double
    private let included: Set<String>
    private let excluded: Set<String>
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
    static func isHostField(_ key: String) -> Bool { !key.utf8.contains(UInt8(ascii: ".")) && hostFieldSet.contains(key) }
    /// `"name":` of each host field, made once.
    static let hostFieldKeys: [[UInt8]] = hostFields.map { name in
        var key: [UInt8] = []
        JSONText.appendQuoted(name, to: &key)
        return key + [UInt8(ascii: ":")]
    }

    /// The policy of a route: its own settings over the gateway's. Nil when nothing is logged.
    init?(global: AccessLogConfig?, route: AccessLogConfig?) {
        guard let global, route?.enabled ?? true else { return nil }
        sample = min(1, max(0, route?.sample ?? global.sample ?? 1))
        let included = Set(global.include + (route?.include ?? []))
        let excluded = Set(global.exclude + (route?.exclude ?? []))
        self.included = included
        self.excluded = excluded
        hostFieldWanted = Self.hostFields.map { !excluded.contains($0) && (!Self.optInFields.contains($0) || included.contains($0)) }
    }

    func wants(_ field: String) -> Bool {
        if !excluded.isEmpty, excluded.contains(field) { return false }
        return !Self.isOptIn(field) || included.contains(field)
    }

    /// `optInFields.contains(field)`, by comparison (cheaper than hashing for two names).
    static func isOptIn(_ field: String) -> Bool { field == "query" || field == "mcp.request.arguments" }

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
    var subject: String?
    var authMethod: String?
    var upstream: String?
    var decidedBy: String?
    var annotations: [(key: String, value: String)]
}

/// Formats records as JSON lines (I/O-free; `AccessLogWriter` writes them).
enum AccessLogFormat {
    /// The line: the host's fields in `hostFields` order, numbers and the time written as bytes
    /// (no `String` made for them), then the annotations.
    static func line(_ record: AccessLogRecord, policy: AccessLogPolicy) -> [UInt8] {
        var out = JSONLineWriter()
        var index = 0
        func next() -> Bool {
            defer { index += 1 }
            return policy.wants(hostField: index)
        }
        func text(_ value: String?) {
            if next(), let value { out.hostField(index - 1, value) }
        }
        if next() { out.hostFieldBytes(index - 1, quoted: true) { writeTimestamp(record.unixNanoseconds, into: &$0) } }
        if next() { out.hostFieldBytes(index - 1, quoted: true) { writeHex(record.requestID, into: &$0) } }
        text(record.traceID)
        text(record.spanID)
        text(record.listener)
        text(record.route)
        text(record.httpVersion)
        text(record.method)
        let query = record.uri.utf8.firstIndex(of: UInt8(ascii: "?"))
        text(query.map { String(record.uri[..<$0]) } ?? record.uri)
        text(query.map { String(record.uri[record.uri.index(after: $0)...]) })
        if next() { out.hostFieldBytes(index - 1, quoted: false) { writeDecimal(UInt64(max(0, record.status)), into: &$0) } }
        if next() { out.hostFieldBytes(index - 1, quoted: false) { writeMilliseconds(record.durationNanoseconds, into: &$0) } }
        if next() { out.hostFieldBytes(index - 1, quoted: false) { writeDecimal(UInt64(record.requestBytes), into: &$0) } }
        if next() { out.hostFieldBytes(index - 1, quoted: false) { writeDecimal(UInt64(record.responseBytes), into: &$0) } }
        text(record.peer)
        text(record.userAgent)
        text(record.subject)
        text(record.authMethod)
        text(record.upstream)
        text(record.decidedBy)
        assert(index == AccessLogPolicy.hostFields.count)
        for (key, value) in record.annotations where policy.wants(key) && !AccessLogPolicy.isHostField(key) {
            out.string(key, value)
        }
        return out.finish()
    }

    /// RFC 3339 in UTC with milliseconds: `2026-12-02T02:40:01.123Z`.
    static func timestamp(_ unixNanoseconds: UInt64) -> String {
        var out: [UInt8] = []
        writeTimestamp(unixNanoseconds, into: &out)
        return String(decoding: out, as: UTF8.self)
    }

    static func writeTimestamp(_ unixNanoseconds: UInt64, into out: inout [UInt8]) {
        var seconds = time_t(unixNanoseconds / 1_000_000_000)
        var parts = tm()
        gmtime_r(&seconds, &parts)
        func digits(_ value: Int, _ width: Int) {
            var divisor = 1
            for _ in 1..<width { divisor *= 10 }
            var rest = value
            while divisor > 0 {
                out.append(UInt8(ascii: "0") + UInt8(rest / divisor % 10))
                rest %= divisor
                divisor /= 10
            }
        }
        digits(Int(parts.tm_year) + 1900, 4); out.append(UInt8(ascii: "-"))
        digits(Int(parts.tm_mon) + 1, 2); out.append(UInt8(ascii: "-"))
        digits(Int(parts.tm_mday), 2); out.append(UInt8(ascii: "T"))
        digits(Int(parts.tm_hour), 2); out.append(UInt8(ascii: ":"))
        digits(Int(parts.tm_min), 2); out.append(UInt8(ascii: ":"))
        digits(Int(parts.tm_sec), 2); out.append(UInt8(ascii: "."))
        digits(Int(unixNanoseconds / 1_000_000 % 1000), 3); out.append(UInt8(ascii: "Z"))
    }

    static func writeDecimal(_ value: UInt64, into out: inout [UInt8]) {
        guard value >= 10 else {
            out.append(UInt8(ascii: "0") + UInt8(value))
            return
        }
        writeDecimal(value / 10, into: &out)
        out.append(UInt8(ascii: "0") + UInt8(value % 10))
    }

    static func writeHex(_ value: UInt64, into out: inout [UInt8]) {
        if value >= 16 { writeHex(value >> 4, into: &out) }
        let digit = UInt8(value & 0xF)
        out.append(digit < 10 ? UInt8(ascii: "0") + digit : UInt8(ascii: "a") + digit - 10)
    }

    /// Nanoseconds as milliseconds with three decimals (`1.500`).
    static func writeMilliseconds(_ nanoseconds: UInt64, into out: inout [UInt8]) {
        let micros = (nanoseconds + 500) / 1000
        writeDecimal(micros / 1000, into: &out)
        out.append(UInt8(ascii: "."))
        let fraction = micros % 1000
        out.append(UInt8(ascii: "0") + UInt8(fraction / 100))
        out.append(UInt8(ascii: "0") + UInt8(fraction / 10 % 10))
        out.append(UInt8(ascii: "0") + UInt8(fraction % 10))
    }

    static func milliseconds(_ nanoseconds: UInt64) -> String {
        var out: [UInt8] = []
        writeMilliseconds(nanoseconds, into: &out)
        return String(decoding: out, as: UTF8.self)
    }
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

/// A JSON object written member by member into one byte array, ending in a newline.
struct JSONLineWriter {
    private var bytes: [UInt8] = [UInt8(ascii: "{")]

    init() { bytes.reserveCapacity(1024) }

    /// One of the host's string fields, its key bytes made once.
    mutating func hostField(_ index: Int, _ value: String) {
        if bytes.count > 1 { bytes.append(UInt8(ascii: ",")) }
        bytes.append(contentsOf: AccessLogPolicy.hostFieldKeys[index])
        JSONText.appendQuoted(value, to: &bytes)
    }

    /// One of the host's fields whose value `write` appends as bytes (a number, the time: no
    /// escape needed), quoted or not.
    mutating func hostFieldBytes(_ index: Int, quoted: Bool, _ write: (inout [UInt8]) -> Void) {
        if bytes.count > 1 { bytes.append(UInt8(ascii: ",")) }
        bytes.append(contentsOf: AccessLogPolicy.hostFieldKeys[index])
        if quoted { bytes.append(UInt8(ascii: "\"")) }
        write(&bytes)
        if quoted { bytes.append(UInt8(ascii: "\"")) }
    }

    mutating func string(_ name: String, _ value: String) {
        key(name)
        quoted(value)
    }

    /// A member whose value is already JSON (a number).
    mutating func raw(_ name: String, _ json: String) {
        key(name)
        bytes.append(contentsOf: json.utf8)
    }

    mutating func finish() -> [UInt8] {
        bytes.append(contentsOf: "}\n".utf8)
        return bytes
    }

    private mutating func key(_ name: String) {
        if bytes.count > 1 { bytes.append(UInt8(ascii: ",")) }
        quoted(name)
        bytes.append(UInt8(ascii: ":"))
    }

    private mutating func quoted(_ text: String) { JSONText.appendQuoted(text, to: &bytes) }
}
