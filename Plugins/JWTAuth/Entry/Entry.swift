import JWTAuthPlugin
import PluginKit

/// The `jwt_auth` plugin's entry point: its only exported symbol.
@c(agw_plugin_entry_v1)
public func entry(_ host: UnsafeRawPointer?) -> UnsafeRawPointer? {
    PluginExport.plugin(name: JWTAuthPluginExports.name, version: JWTAuthPluginExports.version, filters: JWTAuthPluginExports.filters, host: host)
}
