import Foundation

import PluginKit

/// The `protected-resource` handler: serves OAuth 2.0 Protected Resource Metadata (RFC 9728) at
/// `/.well-known/oauth-protected-resource[/<path>]`, naming the authorization servers and scopes
/// an MCP client needs to start its OAuth flow for the resource at `<path>`.
final class ProtectedResourceMetadata: Filter, @unchecked Sendable {
    static let name = "protected-resource"
    static let kind = FilterKind.handler
    static let wellKnownPrefix = "/.well-known/oauth-protected-resource"

    let authorizationServers: [String]
    let scopes: [String]
    /// The resource identifier; nil = derived from the request (`{scheme}://{host}{path}`).
    let resource: String?
    let resourceName: String?
    let documentation: String?

    init(configuration: FilterConfiguration) throws {
        do {
            var reader = try ConfigTableReader(json: configuration.json)
            guard let servers = try reader.strings("authorization_servers"), !servers.isEmpty else {
                throw ConfigTableError("authorization_servers must list at least one issuer URL (e.g. [\"https://auth.example.com\"])")
            }
            authorizationServers = servers
            scopes = try reader.strings("scopes_supported") ?? []
            resource = try reader.string("resource")
            resourceName = try reader.string("resource_name")
            documentation = try reader.string("resource_documentation")
            try reader.finish()
        } catch {
            throw FilterConfiguration.Invalid("\(error)")
        }
    }

    func requestHeaders(_ stream: FilterStream, endOfStream: Bool) -> FilterStatus {
        guard ["GET", "HEAD"].contains(stream.attribute(.method) ?? "") else {
            stream.sendLocalReply(status: 405, headers: [("allow", "GET, HEAD")])
            return .replied
        }
        let path = (stream.attribute(.path) ?? "").split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init) ?? ""
        guard path.hasPrefix(Self.wellKnownPrefix) else {
            stream.sendLocalReply(status: 404, body: "not a protected-resource metadata path (\(Self.wellKnownPrefix)[/<resource path>])\n")
            return .replied
        }
        let resourcePath = String(path.dropFirst(Self.wellKnownPrefix.count))
        let identifier = resource ?? "\(stream.attribute(.scheme) ?? "http")://\(stream.attribute(.host) ?? "localhost")\(resourcePath.isEmpty ? "" : resourcePath)"
        var document: [String: Any] = [
            "resource": identifier,
            "authorization_servers": authorizationServers,
            "bearer_methods_supported": ["header"],
        ]
        if !scopes.isEmpty { document["scopes_supported"] = scopes }
        if let resourceName { document["resource_name"] = resourceName }
        if let documentation { document["resource_documentation"] = documentation }
        let body = (try? JSONSerialization.data(withJSONObject: document, options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data()
        stream.sendLocalReply(status: 200, headers: [("content-type", "application/json"), ("cache-control", "max-age=300")],
                              body: String(decoding: body, as: UTF8.self))
        return .replied
    }
}
