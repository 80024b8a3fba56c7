import PluginKit

/// The A2A plugin: one handler type, `a2a`. Its entry point, the one exported symbol, is
/// `Plugins/A2A/Entry`; tests load these types into PluginKitTesting's fake host.
public enum A2APluginExports {
    public static let name = "a2a"
    public static let version = "0.1.0"
    public static let filters: [any Filter.Type] = [A2AHandler.self]
}
