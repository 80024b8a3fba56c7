import A2APlugin
import PluginKit

/// The `a2a` plugin's entry point: its only exported symbol.
@c(agw_plugin_entry_v1)
public func entry(_ host: UnsafeRawPointer?) -> UnsafeRawPointer? {
    PluginExport.plugin(name: A2APluginExports.name, version: A2APluginExports.version, filters: A2APluginExports.filters, host: host)
}
