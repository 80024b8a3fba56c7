/// The per-stream key–value entries through which an authentication filter hands the caller's
/// identity to later filters (RBAC, rate limits) on the same stream. Any plugin may write them;
/// the gateway's `jwt_auth` plugin does, and the MCP handler binds sessions and what it relays
/// to the caller they name.
public enum IdentityKeys {
    /// How the caller proved who it is: `jwt` or `api_key`.
    public static let method = "agw.auth.method"
    /// The subject: the token's `sub`, or the API key's name. (Keys of at most 15 bytes are
    /// stored without an allocation.)
    public static let subject = "agw.auth.sub"
    /// The verified token's claims, as the JSON text of its payload.
    public static let jwtClaims = "agw.jwt.claims"
    /// The matched API key's metadata as a JSON object (`name`, `groups`, and what the config adds).
    public static let apiKey = "agw.apikey"

    /// What credentials the route's authentication filter accepts, for a handler that describes
    /// its route to clients (the A2A handler's agent cards): a JSON object of OpenAPI 3 security
    /// schemes by name, e.g. `{"bearer":{"type":"http","scheme":"bearer","bearerFormat":"JWT"}}`.
    /// Set on every stream the filter sees, whether or not the request carried credentials.
    public static let securitySchemes = "agw.auth.schemes"

    /// The caller an authentication filter identified, as `<method>:<subject>` (`jwt:alice`,
    /// `api_key:ci`); nil when neither is set. What a handler binds per-caller state to.
    public static func caller(method: String?, subject: String?) -> String? {
        guard method != nil || subject != nil else { return nil }
        return (method ?? "unknown") + ":" + (subject ?? "")
    }
}

extension FilterStream {
    /// The authenticated caller of this stream (``IdentityKeys/caller(method:subject:)``), nil
    /// when no authentication filter identified one.
    public var authenticatedCaller: String? {
        IdentityKeys.caller(method: value(forKey: IdentityKeys.method), subject: value(forKey: IdentityKeys.subject))
    }
}
