// A filter that does nothing: the baseline for measuring a plugin hook crossing (bench/).
import PluginKit

struct NoopFilter: Filter {
    static let name = "noop"
    init(configuration: FilterConfiguration) throws {}
}

@c(agw_plugin_entry_v1)
public func entry(_ host: UnsafeRawPointer?) -> UnsafeRawPointer? {
    PluginExport.plugin(name: "noop", version: "1.0.0", filters: [NoopFilter.self], host: host)
}
