import MCPPlugin
import PluginKit

/// The `mcp` plugin's entry point: its only exported symbol.
@c(agw_plugin_entry_v1)
public func entry(_ host: UnsafeRawPointer?) -> UnsafeRawPointer? {
    PluginExport.plugin(name: MCPPluginExports.name, version: MCPPluginExports.version, filters: MCPPluginExports.filters, host: host)
}
