import PluginKit

/// The authentication plugin: the `jwt-auth` filter and the `protected-resource` metadata handler.
@c(agw_plugin_entry_v1)
public func entry(_ host: UnsafeRawPointer?) -> UnsafeRawPointer? {
    PluginExport.plugin(name: "jwt_auth", version: "0.1.0", filters: [JWTAuthFilter.self, ProtectedResourceMetadata.self], host: host)
}
