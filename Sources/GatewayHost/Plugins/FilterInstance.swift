import Logging
import NIOCore
import NIOConcurrencyHelpers
import PluginABI

/// One configured filter (or handler) of a route: a filter type plus the plugin's config context.
///
/// Created on the control thread by `config_new`; shared read-only by streams on every event loop.
/// Async work owned by the config (`config_scope`) runs on `homeLoop`.
final class FilterInstance: @unchecked Sendable {
    let type: FilterType
    /// `route/plugin#index`, shown in logs and given to the plugin.
    let instanceName: String
    let homeLoop: EventLoop
    private(set) var context: UnsafeMutableRawPointer?
    /// Set by `config_set_error` while `config_new` runs.
    var rejection: String?
    /// Config-scope async work; created on first use.
    private let scopeLock = NIOLock()
    private var _scope: AsyncScope?

    init(type: FilterType, instanceName: String, homeLoop: EventLoop) {
        self.type = type
        self.instanceName = instanceName
        self.homeLoop = homeLoop
    }

    var handle: OpaquePointer { OpaquePointer(Unmanaged.passUnretained(self).toOpaque()) }

    static func from(_ handle: OpaquePointer) -> FilterInstance {
        Unmanaged<FilterInstance>.fromOpaque(UnsafeRawPointer(handle)).takeUnretainedValue()
    }

    /// Calls the plugin's `config_new`. Throws with the plugin's own reason when it returns NULL.
    func create(configJSON: String) throws {
        var json = configJSON
        let created: UnsafeMutableRawPointer? = json.withUTF8 { bytes in
            let instance = instanceName.utf8CString
            return instance.withUnsafeBufferPointer { name in
                type.hooks.config_new(type.pointer, handle,
                                      agw_str(ptr: name.baseAddress, len: name.count - 1),
                                      agw_str(ptr: UnsafeRawPointer(bytes.baseAddress)?.assumingMemoryBound(to: CChar.self), len: bytes.count))
            }
        }
        guard let created else {
            throw PluginLoadError(plugin: type.pluginName, message:
                "filter '\(instanceName)' rejected its config: \(rejection ?? "config_new returned NULL without saying why")")
        }
        context = created
    }

    /// The scope for config-owned async work; events go to `on_config_event` on `homeLoop`.
    var scope: AsyncScope {
        scopeLock.withLock {
            if let scope = _scope { return scope }
            let scope = AsyncScope(eventLoop: homeLoop, owner: .config(self))
            _scope = scope
            return scope
        }
    }

    /// Cancels config-owned work and calls `config_destroy`. Control thread, after the last stream.
    func destroy() {
        scopeLock.withLock { _scope }?.close()
        if let context { type.hooks.config_destroy?(context) }
        context = nil
    }
}
