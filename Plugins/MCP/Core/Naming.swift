import JSON
/// The four lists a federated server merges.
public enum ListKind: Sendable, CaseIterable {
    case tools, prompts, resources, resourceTemplates

    public init?(method: String) {
        switch method {
        case "tools/list": self = .tools
        case "prompts/list": self = .prompts
        case "resources/list": self = .resources
        case "resources/templates/list": self = .resourceTemplates
        default: return nil
        }
    }

    public var method: String {
        switch self {
        case .tools: return "tools/list"
        case .prompts: return "prompts/list"
        case .resources: return "resources/list"
        case .resourceTemplates: return "resources/templates/list"
        }
    }

    /// The result member that holds the items.
    public var arrayKey: String {
        switch self {
        case .tools: return "tools"
        case .prompts: return "prompts"
        case .resources: return "resources"
        case .resourceTemplates: return "resourceTemplates"
        }
    }

    /// The item member that names it.
    public var keyField: String {
        switch self {
        case .tools, .prompts: return "name"
        case .resources: return "uri"
        case .resourceTemplates: return "uriTemplate"
        }
    }

    /// The capability a server must declare to be asked.
    public var capability: String {
        switch self {
        case .tools: return "tools"
        case .prompts: return "prompts"
        case .resources, .resourceTemplates: return "resources"
        }
    }

    /// What a filter sees as the target kind of one item.
    public var targetKind: String {
        switch self {
        case .tools: return "tool"
        case .prompts: return "prompt"
        case .resources: return "resource"
        case .resourceTemplates: return "resource_template"
        }
    }

    public var namesAreURIs: Bool { self == .resources || self == .resourceTemplates }
}

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

/// Gateway-owned pagination of a merged list: the cursor is an offset into the merged, filtered
/// list, opaque to clients.
public enum ListCursor {
    public static func encode(offset: Int) -> String { "agw1.\(offset)" }

    /// Nil for a cursor the gateway did not issue (answer -32602).
    public static func decode(_ cursor: String) -> Int? {
        guard cursor.hasPrefix("agw1."), let offset = Int(cursor.dropFirst(5)), offset >= 0 else { return nil }
        return offset
    }
}

/// Rewrites a client's params for the upstream: the routed name or URI (top level or inside
/// `ref`), the progress token (so tokens from different clients cannot collide upstream), and the
/// 2026-07-28 `_meta` keys that a handshake-era upstream must not see.
public struct ParamsRewrite: Sendable {
    /// Replace the top-level member (`name` or `uri`) with this string.
    public var member: (key: String, value: String)?
    /// Replace `ref.name` / `ref.uri` (completion/complete) with this string.
    public var refMember: (key: String, value: String)?
    /// Replace `_meta.progressToken` with this raw JSON value.
    public var progressToken: String?
    /// Members (raw JSON values) to set, replacing any of the same name: e.g. `inputResponses` and
    /// `requestState` when the gateway retries a request for a handshake-era client.
    public var extraMembers: [(String, [UInt8])] = []
    /// `_meta` members (raw JSON values) to add: the 2026-07-28 request envelope for a modern upstream.
    public var metaMembers: [(String, [UInt8])] = []

    public init(member: (key: String, value: String)? = nil, refMember: (key: String, value: String)? = nil, progressToken: String? = nil) {
        self.member = member
        self.refMember = refMember
        self.progressToken = progressToken
    }

    /// Keys of `_meta` that belong to the stateless era's request envelope.
    static let modernMetaPrefix = "io.modelcontextprotocol/"

    public func apply(to params: JSONValue) -> [UInt8] {
        guard let members = params.members else { return Array(params.raw) }
        if isIdentity(on: members) { return Array(params.raw) }
        var out: [(String, [UInt8])] = []
        let replaced = Set(extraMembers.map(\.0))
        var sawMeta = false
        for (name, value) in members where !replaced.contains(name) {
            if let member, name == member.key {
                out.append((name, Array(JSONText.quoted(member.value).utf8)))
            } else if let refMember, name == "ref", let refMembers = value.members {
                out.append((name, JSONText.object(refMembers.map {
                    ($0.name, $0.name == refMember.key ? Array(JSONText.quoted(refMember.value).utf8) : Array($0.value.raw))
                })))
            } else if name == "_meta", let clientMeta = value.members {
                sawMeta = true
                let kept = clientMeta.compactMap { meta -> (String, [UInt8])? in
                    if meta.name.hasPrefix(Self.modernMetaPrefix) { return nil }
                    if meta.name == "progressToken", let progressToken { return (meta.name, Array(progressToken.utf8)) }
                    return (meta.name, Array(meta.value.raw))
                } + metaMembers
                if !kept.isEmpty { out.append((name, JSONText.object(kept))) }
            } else {
                out.append((name, Array(value.raw)))
            }
        }
        if !sawMeta, !metaMembers.isEmpty { out.append(("_meta", JSONText.object(metaMembers))) }
        return JSONText.object(out + extraMembers)
    }

    /// True when applying would change nothing (the common single-target call): no copy then.
    private func isIdentity(on members: [(name: String, value: JSONValue)]) -> Bool {
        guard refMember == nil, progressToken == nil, extraMembers.isEmpty, metaMembers.isEmpty else { return false }
        for (name, value) in members {
            if let member, name == member.key, value.string != member.value { return false }
            if name == "_meta", value.members?.contains(where: { $0.name.hasPrefix(Self.modernMetaPrefix) }) ?? true { return false }
        }
        return true
    }

    /// The raw `_meta.progressToken` of params, if any.
    public static func progressToken(in params: JSONValue) -> String? {
        params["_meta"]?["progressToken"].map { $0.text.trimmingWhitespace }
    }
}
