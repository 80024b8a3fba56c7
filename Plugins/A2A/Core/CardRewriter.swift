import JSON

/// Rewrites an agent's card (or extended card) for the gateway's clients:
/// - every interface URL (1.0 `supportedInterfaces[].url`, 0.3 `url` and
///   `additionalInterfaces[].url`) points at the gateway, so no client call goes around it;
///   interfaces the gateway cannot proxy (gRPC) are left out;
/// - `securitySchemes` and `securityRequirements` (0.3: `security`) say what the gateway's own
///   filters on the route require, not what the agent does (its credential is the gateway's);
/// - `signatures` are dropped (they signed the agent's URLs, not these);
/// - skills the caller may not use are left out.
/// Everything else is copied as the agent wrote it, in its order.
public struct CardRewriter {
    /// The agent's base on the gateway, `https://gw.example.com/agents/travel`.
    public var agentBaseURL: String
    public var interfaces: AgentInterfaces
    /// The route's authentication, as OpenAPI 3 security schemes by name (what `jwt_auth`
    /// advertises); nil or empty: the route asks for none.
    public var securitySchemes: JSONValue?
    /// Whether the caller may see a skill (its JSON).
    public var keepsSkill: (JSONValue) -> Bool

    public init(agentBaseURL: String, interfaces: AgentInterfaces, securitySchemes: JSONValue?,
                keepsSkill: @escaping (JSONValue) -> Bool = { _ in true }) {
        self.agentBaseURL = agentBaseURL
        self.interfaces = interfaces
        self.securitySchemes = securitySchemes
        self.keepsSkill = keepsSkill
    }

    /// The URL of an interface on the gateway.
    public func gatewayURL(_ interface: AgentInterfaces.Interface) -> String { agentBaseURL + "/" + interface.slug }

    /// The rewritten card; nil when `card` is not a JSON object.
    public func rewrite(_ card: JSONValue) -> [UInt8]? {
        guard let members = card.members else { return nil }
        let isV1 = card["supportedInterfaces"] != nil
        let legacyVersion = A2AVersion(interface: card["protocolVersion"]?.string ?? "0.3")
        let schemes = securitySchemes?.members ?? []
        var out: [(String, [UInt8])] = []
        var wroteSecurity = false
        func writeSecurity() {
            guard !wroteSecurity, !schemes.isEmpty else { return }
            wroteSecurity = true
            if isV1 {
                out.append(("securitySchemes", JSONText.object(schemes.map { ($0.name, Self.v1Scheme($0.value)) })))
                out.append(("securityRequirements", JSONText.array(schemes.map { scheme in
                    Array("{\"schemes\":{\(JSONText.quoted(scheme.name)):{\"list\":[]}}}".utf8)
                })))
            } else {
                out.append(("securitySchemes", JSONText.object(schemes.map { ($0.name, Array($0.value.raw)) })))
                out.append(("security", JSONText.array(schemes.map { Array("{\(JSONText.quoted($0.name)):[]}".utf8) })))
            }
        }
        for (name, value) in members {
            switch name {
            case "supportedInterfaces":
                out.append((name, JSONText.array((value.elements ?? []).compactMap { element in
                    guard let url = element["url"]?.string,
                          let interface = interfaces.interface(url: url, binding: element["protocolBinding"]?.string,
                                                               version: A2AVersion(interface: element["protocolVersion"]?.string)) else { return nil }
                    return Self.replacingURL(in: element, with: gatewayURL(interface))
                })))
            case "url":
                let preferred = card["preferredTransport"]?.string
                let interface = value.string.flatMap { interfaces.interface(url: $0, binding: preferred, version: legacyVersion) }
                    ?? interfaces.interfaces.first { $0.version == legacyVersion } ?? interfaces.interfaces.first
                guard let interface else { continue }
                out.append((name, Array(JSONText.quoted(gatewayURL(interface)).utf8)))
            case "preferredTransport":
                // Follows `url` when that one could not be proxied as it was.
                let url = card["url"]?.string
                let proxied = url.flatMap { interfaces.interface(url: $0, binding: value.string, version: legacyVersion) }
                let fallback = interfaces.interfaces.first { $0.version == legacyVersion } ?? interfaces.interfaces.first
                out.append((name, proxied != nil || fallback == nil ? Array(value.raw) : Array(JSONText.quoted(fallback!.binding.rawValue).utf8)))
            case "additionalInterfaces":
                out.append((name, JSONText.array((value.elements ?? []).compactMap { element in
                    guard let url = element["url"]?.string,
                          let interface = interfaces.interface(url: url, binding: element["transport"]?.string, version: legacyVersion) else { return nil }
                    return Self.replacingURL(in: element, with: gatewayURL(interface))
                })))
            case "securitySchemes", "securityRequirements", "security":
                writeSecurity()
            case "signatures":
                continue
            case "skills":
                out.append((name, JSONText.array((value.elements ?? []).filter(keepsSkill).map { Array($0.raw) })))
            default:
                out.append((name, Array(value.raw)))
            }
        }
        writeSecurity()
        return JSONText.object(out)
    }

    /// An OpenAPI 3 security scheme in the 1.0 card's form (a `oneof` by kind).
    static func v1Scheme(_ scheme: JSONValue) -> [UInt8] {
        func member(_ name: String) -> String? { scheme[name]?.string }
        switch member("type") {
        case "http":
            var fields: [(String, [UInt8])] = [("scheme", Array(JSONText.quoted(Self.capitalized(member("scheme") ?? "bearer")).utf8))]
            if let format = member("bearerFormat") { fields.append(("bearerFormat", Array(JSONText.quoted(format).utf8))) }
            if let description = member("description") { fields.append(("description", Array(JSONText.quoted(description).utf8))) }
            return JSONText.object([("httpAuthSecurityScheme", JSONText.object(fields))])
        case "apiKey":
            return JSONText.object([("apiKeySecurityScheme", JSONText.object([
                ("location", Array(JSONText.quoted(member("in") ?? "header").utf8)),
                ("name", Array(JSONText.quoted(member("name") ?? "").utf8)),
            ]))])
        case "openIdConnect":
            return JSONText.object([("openIdConnectSecurityScheme", JSONText.object([
                ("openIdConnectUrl", Array(JSONText.quoted(member("openIdConnectUrl") ?? "").utf8)),
            ]))])
        case "oauth2":
            return JSONText.object([("oauth2SecurityScheme", JSONText.object(scheme["flows"].map { [("flows", Array($0.raw))] } ?? []))])
        case "mutualTLS":
            return JSONText.object([("mtlsSecurityScheme", Array("{}".utf8))])
        default:
            return Array(scheme.raw)
        }
    }

    private static func capitalized(_ scheme: String) -> String {
        guard let first = scheme.first else { return scheme }
        return first.uppercased() + scheme.dropFirst().lowercased()
    }

    private static func replacingURL(in element: JSONValue, with url: String) -> [UInt8] {
        guard let members = element.members else { return Array(element.raw) }
        return JSONText.object(members.map { ($0.name, $0.name == "url" ? Array(JSONText.quoted(url).utf8) : Array($0.value.raw)) })
    }

    /// A strong `ETag` for a body: FNV-1a, 64 bits, in hex (identifies a representation; not a MAC).
    public static func etag(_ body: [UInt8]) -> String {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in body {
            hash ^= UInt64(byte)
            hash = hash &* 0x0000_0100_0000_01b3
        }
        let hex = String(hash, radix: 16)
        return "\"" + String(repeating: "0", count: 16 - hex.count) + hex + "\""
    }

    /// Whether an `If-None-Match` header names `etag` (or is `*`); weak comparison (RFC 9110 §13.1.2).
    public static func matches(ifNoneMatch header: String, etag: String) -> Bool {
        let wanted = etag.hasPrefix("W/") ? String(etag.dropFirst(2)) : etag
        for candidate in header.split(separator: ",") {
            var tag = String(candidate).trimmingWhitespace
            if tag == "*" { return true }
            if tag.hasPrefix("W/") { tag = String(tag.dropFirst(2)) }
            if tag == wanted { return true }
        }
        return false
    }
}
