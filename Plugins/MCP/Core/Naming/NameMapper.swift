/// Maps a target's names to the names clients see and back. Tools and prompts become
/// `{target}_{name}`; resource URIs and templates become `{target}+{uri}` (still a valid URI: `+`
/// is allowed in a scheme), so the mapping is reversible without a table.
public struct NameMapper: Sendable {
    public let targetNames: [String]
    public let prefixes: Bool

    public init(targetNames: [String], prefixes: Bool) {
        // Longest first, so "db-prod" wins over "db" for "db-prod_query".
        self.targetNames = targetNames.sorted { $0.count > $1.count }
        self.prefixes = prefixes
    }

    public func clientName(target: String, name: String, uri: Bool) -> String {
        guard prefixes else { return name }
        return target + (uri ? "+" : "_") + name
    }

    /// The target and its own name for a prefixed client name; nil when no prefix matches (or
    /// prefixes are off: then the caller looks the name up).
    public func resolve(_ clientName: String, uri: Bool) -> (target: String, name: String)? {
        guard prefixes else { return nil }
        let separator: Character = uri ? "+" : "_"
        for target in targetNames {
            guard clientName.count > target.count + 1, clientName.hasPrefix(target) else { continue }
            let rest = clientName.dropFirst(target.count)
            if rest.first == separator { return (target, String(rest.dropFirst())) }
        }
        return nil
    }
}
