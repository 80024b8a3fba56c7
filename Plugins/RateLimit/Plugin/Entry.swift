import PluginKit

/// The rate-limit plugin: one filter type, `ratelimit`.
@c(agw_plugin_entry_v1)
public func entry(_ host: UnsafeRawPointer?) -> UnsafeRawPointer? {
    PluginExport.plugin(name: "ratelimit", version: "0.1.0", filters: [RateLimitFilter.self], host: host)
}
