import CPluginLoader
import Foundation
import Logging
import PluginABI

/// A plugin or filter could not be loaded or configured.
struct PluginLoadError: Error, CustomStringConvertible {
    /// The plugin's name in the config.
    var plugin: String
    /// What happened and what to do (the loader's message names the file).
    var message: String
    var description: String { "plugin '\(plugin)': \(message)" }
}

/// One filter type of a loaded plugin. `hooks` is a zero-extended copy, so members a plugin built
/// against an older minor does not have read as NULL.
struct FilterType: @unchecked Sendable {
    let pluginName: String
    let name: String
    let pointer: UnsafePointer<agw_filter_type>
    let hooks: agw_filter_type
    var isHandler: Bool { hooks.kind == AGW_KIND_HANDLER }
}

/// A loaded plugin image. Never unloaded.
struct LoadedPlugin: @unchecked Sendable {
    let name: String
    let path: String
    let version: String
    let types: [FilterType]
}

/// Loads the configured plugin images through CPluginLoader and resolves filter references.
///
/// Images are loaded once per path for the life of the process (`RTLD_NODELETE`, never `dlclose`).
final class PluginRegistry: @unchecked Sendable {
    private(set) var plugins: [String: LoadedPlugin] = [:]
    private let host: UnsafePointer<agw_host_api>
    private let logger: Logger

    init(host: UnsafePointer<agw_host_api>, logger: Logger) {
        self.host = host
        self.logger = logger
    }

    /// Loads every configured plugin; the first failure throws with the file and the reason.
    func load(_ configs: [PluginConfig], pluginDirectory: String) throws {
        for config in configs {
            let path = try Self.locate(config, in: pluginDirectory)
            plugins[config.name] = try Self.open(name: config.name, path: path, host: host)
            logger.info("loaded plugin", metadata: ["plugin": "\(config.name)", "path": "\(path)",
                                                    "version": "\(plugins[config.name]!.version)"])
        }
    }

    static func locate(_ config: PluginConfig, in directory: String) throws -> String {
        if let path = config.path {
            guard FileManager.default.fileExists(atPath: path) else {
                throw PluginLoadError(plugin: config.name, message: "no file at \(path)")
            }
            return path
        }
        let candidates = ["lib\(config.name).so", "\(config.name).so"].map { "\(directory)/\($0)" }
        guard let found = candidates.first(where: { FileManager.default.fileExists(atPath: $0) }) else {
            throw PluginLoadError(plugin: config.name, message:
                "not found: looked for \(candidates.joined(separator: " and ")); set path = \"…\" under [plugins.\(config.name)] or plugin_dir under [gateway]")
        }
        return found
    }

    static func open(name: String, path: String, host: UnsafePointer<agw_host_api>) throws -> LoadedPlugin {
        var loaded = agw_loaded_plugin()
        var message = [CChar](repeating: 0, count: 1024)
        let code = agw_loader_open(path, host, agw_loader_host_runtime(), &loaded, &message, message.count)
        guard code == AGW_LOAD_OK, let descriptor = loaded.plugin else {
            throw PluginLoadError(plugin: name, message: String(cString: message))
        }
        let version = descriptor.pointee.version.map { String(cString: $0) } ?? "?"
        return LoadedPlugin(name: name, path: path, version: version, types: types(of: descriptor, pluginName: name))
    }

    /// The filter types a plugin's descriptor lists, each zero-extended to the host's struct size.
    static func types(of descriptor: UnsafePointer<agw_plugin>, pluginName name: String) -> [FilterType] {
        var types: [FilterType] = []
        for index in 0..<descriptor.pointee.filter_type_count {
            guard let pointer = descriptor.pointee.filter_types[index] else { continue }
            var hooks = agw_filter_type()
            withUnsafeMutableBytes(of: &hooks) { target in
                let count = min(Int(pointer.pointee.struct_size), target.count)
                target.copyMemory(from: UnsafeRawBufferPointer(start: pointer, count: count))
            }
            types.append(FilterType(pluginName: name, name: String(cString: pointer.pointee.name), pointer: pointer, hooks: hooks))
        }
        return types
    }

    /// Resolves `plugin` or `plugin.type` to a filter type.
    func filterType(_ reference: String) throws -> FilterType {
        let parts = reference.split(separator: ".", maxSplits: 1).map(String.init)
        guard let plugin = plugins[parts[0]] else {
            throw PluginLoadError(plugin: parts[0], message: "is not declared under [plugins]")
        }
        guard parts.count == 2 else { return plugin.types[0] }
        guard let type = plugin.types.first(where: { $0.name == parts[1] }) else {
            throw PluginLoadError(plugin: parts[0], message:
                "has no filter type '\(parts[1])' (it has: \(plugin.types.map(\.name).joined(separator: ", ")))")
        }
        return type
    }
}
