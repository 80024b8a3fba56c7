import Foundation

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

    /// Fields never logged unless a route includes them: the query string (it may carry keys)
    /// and the MCP tool arguments (`mcp.request.arguments`: user data).
    static let optInFields: Set<String> = ["query", "mcp.request.arguments"]

    /// The host's own fields, in line order; annotations from plugins follow.
    static let hostFields = ["time", "request_id", "trace_id", "span_id", "listener", "route", "protocol", "method", "path", "query",
                             "status", "duration_ms", "request_bytes", "response_bytes", "peer", "user_agent", "subject",
                             "auth_method", "upstream", "decided_by"]

    /// The policy of a route: its own settings over the gateway's. Nil when nothing is logged.
    init?(global: AccessLogConfig?, route: AccessLogConfig?) {
        guard let global, route?.enabled ?? true else { return nil }
        sample = min(1, max(0, route?.sample ?? global.sample ?? 1))
        included = Set(global.include + (route?.include ?? []))
        excluded = Set(global.exclude + (route?.exclude ?? []))
    }

    func wants(_ field: String) -> Bool {
        if excluded.contains(field) { return false }
        return !Self.optInFields.contains(field) || included.contains(field)
    }

    /// Whether this request is logged (`sample` of them, at random).
    func samples() -> Bool { sample >= 1 || (sample > 0 && Double.random(in: 0..<1) < sample) }
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
    static func line(_ record: AccessLogRecord, policy: AccessLogPolicy) -> [UInt8] {
        var out = JSONLineWriter()
        let query = record.uri.firstIndex(of: "?")
        func field(_ name: String, _ value: String?) {
            guard let value, policy.wants(name) else { return }
            out.string(name, value)
        }
        func number(_ name: String, _ value: String) {
            guard policy.wants(name) else { return }
            out.raw(name, value)
        }
        field("time", timestamp(record.unixNanoseconds))
        field("request_id", String(record.requestID, radix: 16))
        field("trace_id", record.traceID)
        field("span_id", record.spanID)
        field("listener", record.listener)
        field("route", record.route)
        field("protocol", record.httpVersion)
        field("method", record.method)
        field("path", query.map { String(record.uri[..<$0]) } ?? record.uri)
        field("query", query.map { String(record.uri[record.uri.index(after: $0)...]) })
        number("status", String(record.status))
        number("duration_ms", String(format: "%.3f", Double(record.durationNanoseconds) / 1e6))
        number("request_bytes", String(record.requestBytes))
        number("response_bytes", String(record.responseBytes))
        field("peer", record.peer)
        field("user_agent", record.userAgent)
        field("subject", record.subject)
        field("auth_method", record.authMethod)
        field("upstream", record.upstream)
        field("decided_by", record.decidedBy)
        for (key, value) in record.annotations where !AccessLogPolicy.hostFields.contains(key) { field(key, value) }
        return out.finish()
    }

    /// RFC 3339 in UTC with milliseconds: `2026-12-02T02:40:01.123Z`.
    static func timestamp(_ unixNanoseconds: UInt64) -> String {
        var seconds = time_t(unixNanoseconds / 1_000_000_000)
        var parts = tm()
        gmtime_r(&seconds, &parts)
        return String(format: "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", Int(parts.tm_year) + 1900, Int(parts.tm_mon) + 1, Int(parts.tm_mday),
                      Int(parts.tm_hour), Int(parts.tm_min), Int(parts.tm_sec), Int(unixNanoseconds / 1_000_000 % 1000))
    }
}

/// A JSON object written member by member into one byte array, ending in a newline.
struct JSONLineWriter {
    private var bytes: [UInt8] = [UInt8(ascii: "{")]

    init() { bytes.reserveCapacity(512) }

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

    private mutating func quoted(_ text: String) {
        bytes.append(UInt8(ascii: "\""))
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "\""): bytes.append(contentsOf: #"\""#.utf8)
            case UInt8(ascii: "\\"): bytes.append(contentsOf: #"\\"#.utf8)
            case UInt8(ascii: "\n"): bytes.append(contentsOf: #"\n"#.utf8)
            case UInt8(ascii: "\r"): bytes.append(contentsOf: #"\r"#.utf8)
            case UInt8(ascii: "\t"): bytes.append(contentsOf: #"\t"#.utf8)
            case 0..<0x20:
                let hex = Array("0123456789abcdef".utf8)
                bytes.append(contentsOf: #"\u00"#.utf8)
                bytes.append(hex[Int(byte >> 4)])
                bytes.append(hex[Int(byte & 0xF)])
            default: bytes.append(byte)
            }
        }
        bytes.append(UInt8(ascii: "\""))
    }
}
