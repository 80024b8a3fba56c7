import RateLimitPlugin
import PluginKit

/// The `ratelimit` plugin's entry point: its only exported symbol.
@c(agw_plugin_entry_v1)
public func entry(_ host: UnsafeRawPointer?) -> UnsafeRawPointer? {
    PluginExport.plugin(name: RateLimitPluginExports.name, version: RateLimitPluginExports.version, filters: RateLimitPluginExports.filters, host: host)
}
