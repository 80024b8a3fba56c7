import JSON

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
    /// `_meta` members (raw JSON values) to set, replacing the client's of the same name: the
    /// 2026-07-28 request envelope for a modern upstream, the gateway's trace context.
    public var metaMembers: [(String, [UInt8])] = []

    public init(member: (key: String, value: String)? = nil, refMember: (key: String, value: String)? = nil, progressToken: String? = nil) {
        self.member = member
        self.refMember = refMember
        self.progressToken = progressToken
    }

    /// Keys of `_meta` that belong to the stateless era's request envelope.
    static let modernMetaPrefix = "io.modelcontextprotocol/"

    public func apply(to params: JSONValue) -> [UInt8] {
        if isIdentity(on: params) { return Array(params.raw) }
        guard let members = params.members else { return Array(params.raw) }
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
                    if meta.name.hasPrefix(Self.modernMetaPrefix) || metaMembers.contains(where: { $0.0 == meta.name }) { return nil }
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
    /// Every member is checked, so a duplicate of the replaced member (`{"name":"a","name":"b"}`,
    /// where an upstream may read the last) is rewritten too. Names are compared as bytes.
    private func isIdentity(on params: JSONValue) -> Bool {
        guard refMember == nil, progressToken == nil, extraMembers.isEmpty, metaMembers.isEmpty else { return false }
        if let plain = Self.plainIdentity(on: params, member) { return plain }
        let changes = params.containsMember { name, value in
            if let member, Self.name(name, is: member.key), !value.isString(member.value) { return true }
            if Self.name(name, is: "_meta") {
                return value.members?.contains(where: { $0.name.hasPrefix(Self.modernMetaPrefix) }) ?? true
            }
            return false
        }
        return changes == false
    }

    /// The common case without a walk: params with no backslash have every name in its own
    /// bytes, so when `"_meta"` is nowhere in them and the replaced name stands in quotes at most
    /// once (so it has no duplicate), that one member decides. Nil: walk every member.
    private static func plainIdentity(on params: JSONValue, _ member: (key: String, value: String)?) -> Bool? {
        let meta: StaticString = "_meta"
        let plain: Int? = params.bytes.withUnsafeBytes { all in
            let text = UnsafeRawBufferPointer(rebasing: all[params.range])
            guard !text.containsByte(UInt8(ascii: "\\")), !text.isEmpty,
                  !text.containsQuoted(UnsafeRawBufferPointer(start: meta.utf8Start, count: meta.utf8CodeUnitCount)) else {
                return nil
            }
            guard var key = member?.key else { return 0 }
            return key.withUTF8 { text.quotedOccurrences(of: UnsafeRawBufferPointer($0), upTo: 2) }
        }
        switch plain {
        case 0?: return true // no member to replace
        case 1?: return member.map { params[$0.key]?.isString($0.value) ?? true } // the name may stand in a value instead
        default: return nil
        }
    }

    private static func name(_ bytes: UnsafeRawBufferPointer, is key: String) -> Bool {
        bytes.elementsEqual(key.utf8)
    }

    /// The raw `_meta.progressToken` of params, if any.
    public static func progressToken(in params: JSONValue) -> String? {
        params["_meta"]?["progressToken"].map { $0.text.trimmingWhitespace }
    }
}
