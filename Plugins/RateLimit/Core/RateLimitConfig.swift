import CEL
import PluginKit
import PolicyKit

/// The `ratelimit` filter's configuration: limits, each a token bucket per descriptor.
public struct RateLimitConfig: Sendable {
    /// One limit: requests it applies to (`when`) share a bucket per distinct `key`.
    public struct Limit: Sendable {
        public var name: String
        public var shape: TokenBucket.Shape
        /// CEL expressions whose values, together, name the bucket (e.g. `jwt.sub`); none = one bucket.
        public var key: [Program]
        /// Which requests count; nil = every one.
        public var when: Program?
        /// Whether it counts JSON-RPC messages (it reads `mcp` or `a2a`) rather than HTTP requests.
        public var perMessage: Bool
    }

    public var limits: [Limit]
    /// Buckets kept at most (per filter instance); the least recently used goes first.
    public var maxKeys: Int
    /// Send `RateLimit-Limit/Remaining/Reset` on admitted responses too (429s always carry them).
    public var responseHeaders: Bool

    public init(json: String) throws(ConfigTableError) {
        var reader = try ConfigTableReader(json: json)
        maxKeys = try reader.int("max_keys", range: 1...100_000_000) ?? 100_000
        responseHeaders = try reader.bool("response_headers") ?? false
        limits = []
        for (index, table) in (try reader.tables("limits") ?? []).enumerated() {
            let path = "limits[\(index)]"
            var limit = try ConfigTableReader(table: table, path: path)
            let name = try limit.string("name") ?? path
            guard let maxTokens = try limit.int("max_tokens", range: 1...1_000_000_000) else { throw ConfigTableError("\(path): 'max_tokens' is required") }
            let perFill = try limit.int("tokens_per_fill", range: 1...1_000_000_000) ?? maxTokens
            guard let intervalText = try limit.string("fill_interval") else {
                throw ConfigTableError("\(path): 'fill_interval' is required (a duration: \"500ms\", \"1s\", \"1m\", \"1h\")")
            }
            guard let interval = Self.nanoseconds(intervalText) else {
                throw ConfigTableError("\(path).fill_interval = \"\(intervalText)\": use a duration such as \"500ms\", \"1s\", \"1m\" or \"1h\" (at least 1ms)")
            }
            let keySources = try limit.strings("key") ?? []
            let whenSource = try limit.string("when")
            try limit.finish()
            func compile(_ source: String, _ what: String) throws(ConfigTableError) -> Program {
                do {
                    return try Program.compile(source, declarations: PolicyVariables.message)
                } catch {
                    throw ConfigTableError("\(path).\(what) ('\(name)'): \(error)")
                }
            }
            var key: [Program] = []
            for (keyIndex, source) in keySources.enumerated() { key.append(try compile(source, "key[\(keyIndex)]")) }
            let when = try whenSource.map { source throws(ConfigTableError) in try compile(source, "when") }
            if let when, when.resultType != .bool, when.resultType != .dyn {
                throw ConfigTableError("\(path).when ('\(name)'): must be a bool expression, this one is a \(when.resultType)")
            }
            let perMessage = (key + (when.map { [$0] } ?? [])).contains(where: PolicyVariables.needsMessage)
            limits.append(Limit(name: name, shape: .init(maxTokens: maxTokens, tokensPerFill: perFill, fillInterval: interval),
                                key: key, when: when, perMessage: perMessage))
        }
        try reader.finish()
        guard !limits.isEmpty else {
            throw ConfigTableError("no limits: add [[...config.limits]] with max_tokens, tokens_per_fill and fill_interval")
        }
    }

    /// "250ms", "1s", "1.5s", "2m", "1h" → nanoseconds.
    static func nanoseconds(_ text: String) -> UInt64? {
        let units: [(String, Double)] = [("ms", 1e6), ("s", 1e9), ("m", 60e9), ("h", 3600e9)]
        for (suffix, scale) in units where text.hasSuffix(suffix) {
            guard let number = Double(text.dropLast(suffix.count)), number.isFinite, number > 0 else { return nil }
            let value = number * scale
            return value >= 1e6 && value < 1e18 ? UInt64(value) : nil
        }
        return nil
    }
}
