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
}
