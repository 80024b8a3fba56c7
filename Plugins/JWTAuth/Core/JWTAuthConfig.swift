import Foundation
import PluginKit

/// The `jwt-auth` filter's configuration (its `[routes.filters] config` table), read strictly:
/// an unknown key, a wrong type or a contradiction is an error naming the key.
public struct JWTAuthConfig: Sendable {
    /// What happens to a request without valid credentials.
    public enum Mode: String, Sendable {
        /// 401 without valid credentials.
        case strict
        /// Anonymous requests pass; presented credentials must be valid (else 401).
        case optional
        /// Everything passes; failures are only logged. For rolling auth out.
        case permissive
    }

    /// Where the verification keys come from.
    public enum KeySource: Sendable, Equatable {
        case none
        /// A JWKS document on disk, read when the configuration loads.
        case file(String)
        /// A JWKS document fetched over HTTP(S), cached and refreshed.
        case url(String)
    }

    public var mode = Mode.strict
    public var policy = TokenPolicy()
    public var keySource = KeySource.none
    public var hmacSecret: String?
    /// How often a JWKS URL is fetched again.
    public var refreshSeconds = 300
    /// A token with an unknown `kid` triggers a fetch at most this often.
    public var minRefreshSeconds = 10
    public var fetchTimeoutMilliseconds = 5000
    /// The header carrying `Bearer <token>`.
    public var tokenHeader = "authorization"
    /// The header carrying an API key.
    public var apiKeyHeader = "x-api-key"
    public var apiKeys: [(sha256: String, key: APIKey)] = []
    /// Leave the credentials on the request for the upstream (removed by default).
    public var forwardCredentials = false
    public var realm = "agentgateway"
    /// Verified tokens remembered (so a token's signature is checked once, not per request).
    public var tokenCacheSize = 10_000
    /// RFC 9728: when set, a 401 names the protected-resource metadata so MCP clients can start OAuth.
    public var oauth: OAuthChallenge?
    /// Paths served as in `optional` mode whatever `mode` says: without credentials a request
    /// passes anonymously, presented ones must verify (an A2A agent card, a catalog).
    public var publicPaths: [PathPattern] = []

    /// What a 401 tells an OAuth client (RFC 9728 §5.1).
    public struct OAuthChallenge: Sendable, Equatable {
        /// The metadata document's URL; nil = derived from the request:
        /// `{scheme}://{host}/.well-known/oauth-protected-resource{path}`.
        public var resourceMetadata: String?
        /// Scopes the resource needs (`scope="…"` on the challenge).
        public var scopes: [String] = []
    }

    public init() {}

    public init(json: String, environment: [String: String] = ProcessInfo.processInfo.environment) throws(ConfigTableError) {
        var reader = try ConfigTableReader(json: json)
        if let mode = try reader.string("mode") {
            guard let parsed = Mode(rawValue: mode) else { throw ConfigTableError("mode = \"\(mode)\": use \"strict\", \"optional\" or \"permissive\"") }
            self.mode = parsed
        }
        let issuer = try reader.string("issuer"), audience = try reader.string("audience")
        policy.issuers = try reader.strings("issuers") ?? issuer.map { [$0] } ?? []
        policy.audiences = try reader.strings("audiences") ?? audience.map { [$0] } ?? []
        policy.clockSkewSeconds = try reader.int("clock_skew_seconds", range: 0...3600) ?? 30
        policy.requireExpiration = try reader.bool("require_exp") ?? true

        let file = try reader.string("jwks_file"), url = try reader.string("jwks_url")
        switch (file, url) {
        case (let file?, nil): keySource = .file(file)
        case (nil, let url?):
            guard url.hasPrefix("http://") || url.hasPrefix("https://") else { throw ConfigTableError("jwks_url must be an http:// or https:// URL") }
            keySource = .url(url)
        case (nil, nil): keySource = .none
        default: throw ConfigTableError("set jwks_file or jwks_url, not both")
        }
        refreshSeconds = try reader.int("jwks_refresh_seconds", range: 10...86_400) ?? 300
        minRefreshSeconds = try reader.int("jwks_min_refresh_seconds", range: 0...3600) ?? 10
        fetchTimeoutMilliseconds = try reader.int("jwks_timeout_ms", range: 100...60_000) ?? 5000

        if let secret = try reader.string("hmac_secret") {
            hmacSecret = secret
        }
        if let variable = try reader.string("hmac_secret_env") {
            guard hmacSecret == nil else { throw ConfigTableError("set hmac_secret or hmac_secret_env, not both") }
            guard let secret = environment[variable], !secret.isEmpty else {
                throw ConfigTableError("hmac_secret_env = \"\(variable)\": that environment variable is not set")
            }
            hmacSecret = secret
        }
        if let secret = hmacSecret, secret.utf8.count < 32 {
            throw ConfigTableError("the HMAC secret must be at least 32 bytes (RFC 7518 §3.2 asks for a key as long as the hash)")
        }

        let supported = TokenPolicy.asymmetricAlgorithms.union(TokenPolicy.hmacAlgorithms)
        if let algorithms = try reader.strings("algorithms") {
            for algorithm in algorithms where !supported.contains(algorithm) {
                throw ConfigTableError("algorithms: \"\(algorithm)\" is not supported (use \(supported.sorted().joined(separator: ", ")))")
            }
            policy.algorithms = Set(algorithms)
            if hmacSecret == nil, let hmac = algorithms.first(where: { TokenPolicy.hmacAlgorithms.contains($0) }) {
                throw ConfigTableError("algorithms lists \(hmac), which needs hmac_secret or hmac_secret_env")
            }
        } else {
            policy.algorithms = TokenPolicy.asymmetricAlgorithms.union(hmacSecret == nil ? [] : ["HS256"])
        }

        tokenHeader = (try reader.string("token_header") ?? "authorization").lowercased()
        apiKeyHeader = (try reader.string("api_key_header") ?? "x-api-key").lowercased()
        for (index, table) in (try reader.tables("api_keys") ?? []).enumerated() {
            var key = try ConfigTableReader(table: table, path: "api_keys[\(index)]")
            guard let name = try key.string("name"), !name.isEmpty else { throw ConfigTableError("api_keys[\(index)]: 'name' is required") }
            guard let digest = try key.string("sha256") else {
                throw ConfigTableError("api_keys[\(index)] ('\(name)'): 'sha256' is required: the hex SHA-256 of the key, e.g. `printf %s KEY | sha256sum`")
            }
            apiKeys.append((digest, APIKey(name: name, groups: try key.strings("groups") ?? [], metadata: try key.stringTable("metadata") ?? [:])))
            try key.finish()
        }
        publicPaths = try (try reader.strings("public_paths") ?? []).map { pattern throws(ConfigTableError) in try PathPattern(pattern) }
        forwardCredentials = try reader.bool("forward_credentials") ?? false
        realm = try reader.string("realm") ?? "agentgateway"
        tokenCacheSize = try reader.int("token_cache_size", range: 1...10_000_000) ?? 10_000
        if let table = try reader.table("oauth") {
            var oauthReader = try ConfigTableReader(table: table, path: "oauth")
            oauth = OAuthChallenge(resourceMetadata: try oauthReader.string("resource_metadata"), scopes: try oauthReader.strings("scopes") ?? [])
            try oauthReader.finish()
        }
        try reader.finish()
        guard keySource != .none || hmacSecret != nil || !apiKeys.isEmpty else {
            throw ConfigTableError("nothing to verify credentials with: set jwks_file, jwks_url, hmac_secret(_env) or api_keys")
        }
    }
}

extension JWTAuthConfig {
    /// The mode that applies to a request for `path`: `optional` on a public path (unless the
    /// filter is permissive anyway).
    public func mode(forPath path: String) -> Mode {
        guard mode == .strict, publicPaths.contains(where: { $0.matches(path) }) else { return mode }
        return .optional
    }

    /// What the filter accepts, as OpenAPI 3 security schemes by name (``IdentityKeys/securitySchemes``):
    /// a bearer JWT when keys or a secret are configured, an API key in its header when keys are.
    public var securitySchemesJSON: String {
        var schemes: [String] = []
        if keySource != .none || hmacSecret != nil {
            schemes.append(#""bearer":{"type":"http","scheme":"bearer","bearerFormat":"JWT"}"#)
        }
        if !apiKeys.isEmpty {
            schemes.append(#""apiKey":{"type":"apiKey","in":"header","name":"\#(apiKeyHeader)"}"#)
        }
        return "{" + schemes.joined(separator: ",") + "}"
    }
}
