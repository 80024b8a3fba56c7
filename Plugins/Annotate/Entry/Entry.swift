import AnnotatePlugin
import PluginKit

/// The `annotate` plugin's entry point: its only exported symbol.
@c(agw_plugin_entry_v1)
public func entry(_ host: UnsafeRawPointer?) -> UnsafeRawPointer? {
    PluginExport.plugin(name: AnnotatePluginExports.name, version: AnnotatePluginExports.version, filters: AnnotatePluginExports.filters, host: host)
}
