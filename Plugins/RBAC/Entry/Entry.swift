import RBACPlugin
import PluginKit

/// The `rbac` plugin's entry point: its only exported symbol.
@c(agw_plugin_entry_v1)
public func entry(_ host: UnsafeRawPointer?) -> UnsafeRawPointer? {
    PluginExport.plugin(name: RBACPluginExports.name, version: RBACPluginExports.version, filters: RBACPluginExports.filters, host: host)
}
