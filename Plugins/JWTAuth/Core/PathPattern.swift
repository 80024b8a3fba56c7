import PluginKit

/// A path pattern of `public_paths`: `*` matches any characters within one path segment, `**`
/// any characters at all (segments included); everything else matches itself. The query is not
/// part of the path.
///
/// `/agents/*/.well-known/*` matches `/agents/travel/.well-known/agent-card.json`;
/// `/docs/**` matches everything below `/docs/`.
public struct PathPattern: Sendable, Equatable, CustomStringConvertible {
    public let description: String
    private let pattern: [UInt8]

    public init(_ pattern: String) throws(ConfigTableError) {
        guard pattern.hasPrefix("/") else { throw ConfigTableError("public_paths: \"\(pattern)\" must start with /") }
        description = pattern
        self.pattern = Array(pattern.utf8)
    }

    /// Whether `path` (with or without a query) matches.
    public func matches(_ path: String) -> Bool {
        let bytes = Array(path.utf8.prefix { $0 != UInt8(ascii: "?") })
        return Self.match(pattern[...], bytes[...])
    }

    private static func match(_ pattern: ArraySlice<UInt8>, _ path: ArraySlice<UInt8>) -> Bool {
        var pattern = pattern, path = path
        while let head = pattern.first {
            guard head == UInt8(ascii: "*") else {
                guard path.first == head else { return false }
                pattern = pattern.dropFirst()
                path = path.dropFirst()
                continue
            }
            let crossesSegments = pattern.dropFirst().first == UInt8(ascii: "*")
            let rest = pattern.dropFirst(crossesSegments ? 2 : 1)
            // Try every split point the wildcard may take (patterns are short: this stays cheap).
            var candidate = path
            while true {
                if match(rest, candidate) { return true }
                guard let next = candidate.first, crossesSegments || next != UInt8(ascii: "/") else { return false }
                candidate = candidate.dropFirst()
            }
        }
        return path.isEmpty
    }
}
