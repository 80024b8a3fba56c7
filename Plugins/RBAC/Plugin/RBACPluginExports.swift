import PluginKit

/// The RBAC plugin: one filter type, `rbac`. Its entry point, the one exported symbol, is
/// `Plugins/RBAC/Entry`; tests load these types into PluginKitTesting's fake host.
public enum RBACPluginExports {
    public static let name = "rbac"
    public static let version = "0.1.0"
    public static let filters: [any Filter.Type] = [RBACFilter.self]
}
