import PluginKit

/// The MCP plugin: one handler type, `mcp`.
@c(agw_plugin_entry_v1)
public func entry(_ host: UnsafePointer<agw_host_api>?) -> UnsafePointer<agw_plugin>? {
    PluginExport.plugin(name: "mcp", version: MCPHandler.serverVersion, filters: [MCPHandler.self], host: host)
}
