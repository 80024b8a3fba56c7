import PluginKit

/// The RBAC plugin: one filter type, `rbac`.
@c(agw_plugin_entry_v1)
public func entry(_ host: UnsafeRawPointer?) -> UnsafeRawPointer? {
    PluginExport.plugin(name: "rbac", version: "0.1.0", filters: [RBACFilter.self], host: host)
}
