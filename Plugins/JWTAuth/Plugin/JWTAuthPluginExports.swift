import PluginKit

/// The authentication plugin: the `jwt-auth` filter and the `protected-resource` metadata handler. Its entry point, the one exported symbol, is
/// `Plugins/JWTAuth/Entry`; tests load these types into PluginKitTesting's fake host.
public enum JWTAuthPluginExports {
    public static let name = "jwt_auth"
    public static let version = "0.1.0"
    public static let filters: [any Filter.Type] = [JWTAuthFilter.self, ProtectedResourceMetadata.self]
}
