import PluginKit

/// The MCP plugin: one handler type, `mcp`.
@c(agw_plugin_entry_v1)
public func entry(_ host: UnsafeRawPointer?) -> UnsafeRawPointer? {
    PluginExport.plugin(name: "mcp", version: MCPHandler.serverVersion, filters: [MCPHandler.self], host: host)
}
