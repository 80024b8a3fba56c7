import Foundation
import JWTAuthCore
import PluginKit
import PolicyKit
import Synchronization

/// The `jwt-auth` filter: verifies a bearer JWT (or an API key) and hands the caller's identity to
/// the filters after it through the stream's key–value store (``IdentityKeys``).
///
/// A token's signature is verified once: verified tokens are remembered (up to
/// `token_cache_size`, least recently used first out), and only their `exp`/`nbf` are checked
/// again on later requests. A new key set forgets them all.
final class JWTAuthFilter: Filter, @unchecked Sendable {
    static let name = "jwt-auth"
    /// Nothing to do on the response or at the end of a stream.
    static let implementedHooks: FilterHooks = []

    let config: JWTAuthConfig
    /// What the filter accepts, advertised on every stream (``IdentityKeys/securitySchemes``).
    private let securitySchemes: String
    let keys: KeyProvider
    let apiKeys: APIKeyStore
    private let verified: Mutex<LRUCache<TokenCacheKey, CachedToken>>
    private let metrics: Metrics

    private struct CachedToken {
        var token: VerifiedToken
        var generation: Int
    }

    /// Counters of outcomes, for `/metrics`.
    private struct Metrics {
        var accepted: Counter?
        var rejected: Counter?
    }

    init(configuration: FilterConfiguration) throws {
        do {
            var parsed = try JWTAuthConfig(json: configuration.json)
            if case .file(let path) = parsed.keySource { parsed.keySource = .file(configuration.resolve(path)) }
            config = parsed
            securitySchemes = parsed.securitySchemesJSON
            apiKeys = try APIKeyStore(keys: config.apiKeys)
        } catch let error as CustomStringConvertible {
            throw FilterConfiguration.Invalid(error.description)
        }
        keys = try KeyProvider(config: config, scope: configuration.scope)
        verified = Mutex(LRUCache(capacity: config.tokenCacheSize))
        metrics = Metrics(accepted: configuration.counter(name: "agw_jwt_auth_accepted_total", help: "Requests whose credentials verified"),
                          rejected: configuration.counter(name: "agw_jwt_auth_rejected_total", help: "Requests whose credentials did not verify"))
    }

    func configurationEvent(_ event: PluginEvent, scope: Scope) { keys.handle(event, scope: scope) }

    // MARK: - requests

    private enum Credentials {
        case none
        case token(String)
        /// The key, and the header it came in.
        case apiKey(String, header: String)
    }

    private func credentials(_ stream: FilterStream) -> Credentials {
        if !apiKeys.isEmpty, let key = stream.header(config.apiKeyHeader) { return .apiKey(key, header: config.apiKeyHeader) }
        // Read in place: only the credential itself becomes a String.
        let found: Credentials? = stream.withHeader(config.tokenHeader) { value in
            // Another scheme (Basic, say) is not ours: no credentials here, and it is left alone.
            guard value.count > 7, Self.isBearer(value) else { return .none }
            var start = 7
            while start < value.count, value[start] == UInt8(ascii: " ") { start += 1 }
            let credential = UnsafeRawBufferPointer(rebasing: value[start...])
            let text = String(decoding: credential, as: UTF8.self)
            // Not JWT-shaped: an API key sent as a bearer token.
            if !apiKeys.isEmpty, credential.reduce(0, { $0 + ($1 == UInt8(ascii: ".") ? 1 : 0) }) != 2 {
                return .apiKey(text, header: config.tokenHeader)
            }
            return .token(text)
        }
        return found ?? .none
    }

    /// `Bearer ` in any case at the start of `value`.
    private static func isBearer(_ value: UnsafeRawBufferPointer) -> Bool {
        let bearer: StaticString = "bearer "
        for index in 0..<7 where value[index] | 0x20 != bearer.utf8Start[index] { return false }
        return true
    }

    func requestHeaders(_ stream: FilterStream, endOfStream: Bool) -> FilterStatus {
        stream.setValue(securitySchemes, forKey: IdentityKeys.securitySchemes)
        switch credentials(stream) {
        case .none:
            guard config.mode == .strict, config.publicPaths.isEmpty || config.mode(forPath: stream.attribute(.path) ?? "/") == .strict else {
                return .continue
            }
            return refuse(stream, reason: "no credentials (expected '\(config.tokenHeader): Bearer <token>'\(apiKeys.isEmpty ? "" : " or '\(config.apiKeyHeader)'"))",
                          error: nil)
        case .apiKey(let presented, let header):
            guard let key = apiKeys.key(for: presented) else {
                return refuse(stream, reason: "unknown API key (sha256 \(APIKeyStore.digest(presented).prefix(12))…)", error: "invalid_token",
                              description: "the API key is not valid")
            }
            stream.setValue("api_key", forKey: IdentityKeys.method)
            stream.setValue(key.name, forKey: IdentityKeys.subject)
            stream.setValue(key.json, forKey: IdentityKeys.apiKey)
            accepted(stream, credentialsIn: header)
            return .continue
        case .token(let token):
            return verify(token, stream, mayWait: true)
        }
    }

    private func verify(_ token: String, _ stream: FilterStream, mayWait: Bool) -> FilterStatus {
        let now = Date().timeIntervalSince1970
        let snapshot = keys.current
        let cached = verified.withLock { $0.value(forKey: TokenCacheKey(token)) }
        if let cached, cached.generation == snapshot.generation {
            if let rejection = TokenVerifier.checkTime(cached.token, policy: config.policy, now: now) {
                return refuse(stream, reason: rejection.description, error: "invalid_token", description: rejection.clientDescription)
            }
            return accept(cached.token, stream)
        }
        guard let current = snapshot.keys else {
            if mayWait, wait(for: token, stream, generation: snapshot.generation, now: now) { return .stop }
            stream.log(.warning, "jwt-auth: cannot verify tokens: no keys from \(config.keySource) yet")
            stream.sendLocalReply(status: 503, headers: [("content-type", "application/json"), ("retry-after", "1")],
                                  body: #"{"error":"temporarily_unavailable","error_description":"the gateway has no keys to verify tokens with yet"}"#)
            return .replied
        }
        switch TokenVerifier.verify(token, keys: current, policy: config.policy, now: now) {
        case .success(let verifiedToken):
            verified.withLock { _ = $0.set(CachedToken(token: verifiedToken, generation: snapshot.generation), forKey: TokenCacheKey(token)) }
            return accept(verifiedToken, stream)
        case .failure(.unknownKey(let kid)) where mayWait:
            if wait(for: token, stream, generation: snapshot.generation, now: now) { return .stop }
            return refuse(stream, reason: TokenRejection.unknownKey(kid).description, error: "invalid_token",
                          description: TokenRejection.unknownKey(kid).clientDescription)
        case .failure(let rejection):
            return refuse(stream, reason: rejection.description, error: "invalid_token", description: rejection.clientDescription)
        }
    }

    /// Pauses the stream until the keys being fetched arrive. False when no fetch may start now.
    private func wait(for token: String, _ stream: FilterStream, generation: Int, now: Double) -> Bool {
        guard let scheduler = stream.makeScheduler(), keys.awaitRefresh(scheduler, now: now, seenGeneration: generation) else { return false }
        stream.state = Waiting(token: token, scheduler: scheduler)
        return true
    }

    private final class Waiting {
        let token: String
        let scheduler: Scheduler
        init(token: String, scheduler: Scheduler) {
            self.token = token
            self.scheduler = scheduler
        }
    }

    func event(_ event: PluginEvent, stream: FilterStream) {
        guard event.kind == .scheduled, event.id == KeyProvider.keysChangedEventID, let waiting = stream.state as? Waiting else { return }
        stream.state = nil
        if verify(waiting.token, stream, mayWait: false) == .continue { stream.resume() }
    }

    // MARK: - outcomes

    private func accept(_ token: VerifiedToken, _ stream: FilterStream) -> FilterStatus {
        stream.setValue("jwt", forKey: IdentityKeys.method)
        if let subject = token.subject { stream.setValue(subject, forKey: IdentityKeys.subject) }
        stream.setValue(token.claims, forKey: IdentityKeys.jwtClaims)
        accepted(stream, credentialsIn: config.tokenHeader)
        return .continue
    }

    /// The credentials stay at the gateway unless the route forwards them.
    private func accepted(_ stream: FilterStream, credentialsIn header: String) {
        if !config.forwardCredentials { stream.removeHeader(header) }
        metrics.accepted?.increment()
    }

    /// 401 with the challenge RFC 6750 and RFC 9728 describe (or only a log line when permissive).
    private func refuse(_ stream: FilterStream, reason: String, error: String?, description: String? = nil) -> FilterStatus {
        metrics.rejected?.increment()
        let peer = stream.attribute(.peerAddress) ?? "?"
        let route = stream.attribute(.routeName) ?? "?"
        guard config.mode != .permissive else {
            stream.log(.info, "jwt-auth: would reject (permissive): \(reason) [route \(route), client \(peer)]")
            return .continue
        }
        stream.log(.info, "jwt-auth: rejected: \(reason) [route \(route), client \(peer)]")
        var challenge = "Bearer realm=\"\(config.realm)\""
        if let error { challenge += ", error=\"\(error)\"" }
        if let description { challenge += ", error_description=\"\(description)\"" }
        if let oauth = config.oauth {
            challenge += ", resource_metadata=\"\(oauth.resourceMetadata ?? Self.metadataURL(for: stream))\""
            if !oauth.scopes.isEmpty { challenge += ", scope=\"\(oauth.scopes.joined(separator: " "))\"" }
        }
        let body = error.map { #"{"error":"\#($0)","error_description":"\#(description ?? "")"}"# }
            ?? #"{"error":"unauthorized","error_description":"credentials are required"}"#
        stream.sendLocalReply(status: 401, headers: [("www-authenticate", challenge), ("content-type", "application/json")], body: body)
        return .replied
    }

    /// RFC 9728 §3.1: the metadata of `https://host/path` is at `https://host/.well-known/oauth-protected-resource/path`.
    static func metadataURL(for stream: FilterStream) -> String {
        let path = (stream.attribute(.path) ?? "/").split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init) ?? "/"
        return "\(stream.attribute(.scheme) ?? "http")://\(stream.attribute(.host) ?? "localhost")/.well-known/oauth-protected-resource\(path == "/" ? "" : path)"
    }
}
