import CPluginLoader
import Crypto
import Foundation
import Logging
import PluginABI
import Synchronization

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

/// A plugin as one configuration names it: a loaded image (never unloaded) and its types.
struct LoadedPlugin: @unchecked Sendable {
    let name: String
    let path: String
    let version: String
    /// SHA-256 of the image's bytes (hex).
    let digest: String
    let types: [FilterType]
}

/// Loads plugin images through CPluginLoader, once per content, for the life of the process.
///
/// Shared by every generation. An image is never unloaded (`RTLD_NODELETE`, never `dlclose`:
/// see ARCHITECTURE.md). A reload that names a file whose bytes changed (a rebuilt `.so` renamed
/// into place, or rewritten) loads the new bytes as a new image beside the old one: `dlopen` of a
/// path it loaded already would hand back the old image, so the new content is loaded from a
/// private copy named after its SHA-256 (unlinked once mapped). A file whose bytes did not change
/// is not loaded again.
final class PluginRegistry: @unchecked Sendable {  // host: an immutable table; state: in a Mutex
    /// A loaded image's descriptor: static data of an image never unloaded.
    private struct Image: @unchecked Sendable {
        let path: String
        let descriptor: UnsafePointer<agw_plugin>
    }
    /// What a file looked like when its digest was taken: a changed stamp means hash it again.
    private struct Stamp: Equatable {
        var device: UInt64, inode: UInt64, size: Int64, modified: Int64, modifiedNanoseconds: Int64
    }
    private struct State {
        /// Loaded images by the SHA-256 of their bytes.
        var images: [String: Image] = [:]
        /// Paths dlopen has seen (they must not be dlopen'ed again for other bytes).
        var openedPaths: Set<String> = []
        var digests: [String: (stamp: Stamp, digest: String)] = [:]
    }
    private let state = Mutex(State())
    private let host: UnsafePointer<agw_host_api>
    private let logger: Logger

    init(host: UnsafePointer<agw_host_api>, logger: Logger) {
        self.host = host
        self.logger = logger
    }

    /// Loads (or finds loaded) every configured plugin; the first failure throws with the file
    /// and the reason. Serialized by the caller (one reload at a time).
    func load(_ configs: [PluginConfig], pluginDirectory: String) throws -> PluginSet {
        var plugins: [String: LoadedPlugin] = [:]
        for config in configs {
            let path = try Self.locate(config, in: pluginDirectory)
            let digest = try digest(of: path, plugin: config.name)
            let image: Image
            if let loaded = state.withLock({ $0.images[digest] }) {
                image = loaded
            } else {
                image = try open(name: config.name, path: path, digest: digest)
            }
            let version = image.descriptor.pointee.version.map { String(cString: $0) } ?? "?"
            plugins[config.name] = LoadedPlugin(name: config.name, path: path, version: version, digest: digest,
                                                types: Self.types(of: image.descriptor, pluginName: config.name))
        }
        return PluginSet(plugins: plugins)
    }

    /// Images loaded so far (distinct contents).
    var imageCount: Int { state.withLock { $0.images.count } }

    private func digest(of path: String, plugin: String) throws -> String {
        var info = stat()
        guard stat(path, &info) == 0 else {
            throw PluginLoadError(plugin: plugin, message: "cannot stat \(path): \(String(cString: strerror(errno)))")
        }
        let stamp = Stamp(device: UInt64(info.st_dev), inode: UInt64(info.st_ino), size: Int64(info.st_size),
                          modified: Int64(info.st_mtim.tv_sec), modifiedNanoseconds: Int64(info.st_mtim.tv_nsec))
        if let known = state.withLock({ $0.digests[path] }), known.stamp == stamp { return known.digest }
        // In 64 KiB pieces: a plugin with debug info is tens of MB, and one allocation that size
        // would raise malloc's mmap threshold and stay in the heap (idle RSS).
        guard let file = FileHandle(forReadingAtPath: path) else {
            throw PluginLoadError(plugin: plugin, message: "cannot read \(path)")
        }
        defer { try? file.close() }
        var hasher = SHA256()
        do {
            while let chunk = try file.read(upToCount: 64 * 1024), !chunk.isEmpty { hasher.update(data: chunk) }
        } catch {
            throw PluginLoadError(plugin: plugin, message: "cannot read \(path): \(error.localizedDescription)")
        }
        let digest = hasher.finalize().map { String(format: "%02x", $0) }.joined()
        state.withLock { $0.digests[path] = (stamp, digest) }
        return digest
    }

    private func open(name: String, path: String, digest: String) throws -> Image {
        let firstOpen = state.withLock { $0.openedPaths.insert(path).inserted }
        var loadPath = path
        if !firstOpen {
            // New bytes at a path loaded before: load them from a copy named after their digest.
            let copy = FileManager.default.temporaryDirectory
                .appendingPathComponent("agw-\(getpid())-\(digest.prefix(16))-\(URL(fileURLWithPath: path).lastPathComponent)").path
            do {
                try? FileManager.default.removeItem(atPath: copy)
                try FileManager.default.copyItem(atPath: path, toPath: copy)
            } catch {
                throw PluginLoadError(plugin: name, message: "cannot copy the changed \(path) to \(copy) to load it: \(error.localizedDescription)")
            }
            loadPath = copy
        }
        defer { if loadPath != path { try? FileManager.default.removeItem(atPath: loadPath) } }  // mapped already
        let descriptor = try Self.open(name: name, path: loadPath, host: host)
        let image = Image(path: path, descriptor: descriptor)
        state.withLock { $0.images[digest] = image }
        logger.info("loaded plugin", metadata: ["plugin": "\(name)", "path": "\(path)", "sha256": "\(digest.prefix(16))",
                                                "version": "\(descriptor.pointee.version.map { String(cString: $0) } ?? "?")",
                                                "image": "\(firstOpen ? "first" : "new content, loaded beside the old")"])
        return image
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

    static func open(name: String, path: String, host: UnsafePointer<agw_host_api>) throws -> UnsafePointer<agw_plugin> {
        var loaded = agw_loaded_plugin()
        var message = [CChar](repeating: 0, count: 1024)
        let code = agw_loader_open(path, host, agw_loader_host_runtime(), &loaded, &message, message.count)
        guard code == AGW_LOAD_OK, let descriptor = loaded.plugin else {
            throw PluginLoadError(plugin: name, message: String(cString: message))
        }
        return descriptor
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
}

/// The plugins one configuration declared, by name.
struct PluginSet: Sendable {
    let plugins: [String: LoadedPlugin]

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
