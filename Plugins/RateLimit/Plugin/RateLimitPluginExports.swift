import PluginKit

/// The rate-limit plugin: one filter type, `ratelimit`. Its entry point, the one exported symbol, is
/// `Plugins/RateLimit/Entry`; tests load these types into PluginKitTesting's fake host.
public enum RateLimitPluginExports {
    public static let name = "ratelimit"
    public static let version = "0.1.0"
    public static let filters: [any Filter.Type] = [RateLimitFilter.self]
}
