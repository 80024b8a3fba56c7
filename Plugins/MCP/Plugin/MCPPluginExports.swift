import PluginKit

/// The MCP plugin: one handler type, `mcp`. Its entry point, the one exported symbol, is
/// `Plugins/MCP/Entry`; tests load these types into PluginKitTesting's fake host.
public enum MCPPluginExports {
    public static let name = "mcp"
    public static let version = MCPHandler.serverVersion
    public static let filters: [any Filter.Type] = [MCPHandler.self]
}
