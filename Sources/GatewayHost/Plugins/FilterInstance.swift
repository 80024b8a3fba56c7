import Logging
import NIOCore
import PluginABI
import Synchronization

/// One configured filter (or handler) of a route: a filter type plus the plugin's config context.
///
/// Created on the control thread by `config_new`; shared read-only by streams on every event loop.
/// Async work owned by the config (`config_scope`) runs on `homeLoop`.
final class FilterInstance: @unchecked Sendable {
    let type: FilterType
    /// `route/plugin#index`, shown in logs and given to the plugin.
    let instanceName: String
    let homeLoop: EventLoop
    /// Its `agw_plugin_hook_duration_seconds` series.
    let hookMetrics: HookMetrics
    private(set) var context: UnsafeMutableRawPointer?
    /// Set by `config_set_error` while `config_new` runs.
    var rejection: String?
    /// Set (release) once `config_new` returned a context; events may be delivered from then on.
    private let configured = Atomic<Bool>(false)
    var isConfigured: Bool { configured.load(ordering: .acquiring) }
    /// Config-scope events that arrived while `config_new` was still running (e.g. a scheduler
    /// post made inside it). Home loop only.
    var eventsBeforeConfigured: [HostEvent] = []
    /// Config-scope async work; created on first use.
    private let configScope = Mutex<AsyncScope?>(nil)

    /// The config file's directory, for the plugin's relative paths (`config_directory`).
    let configDirectory: String
    /// `configDirectory`'s bytes, kept for the instance's life so plugins can hold the view.
    private let configDirectoryBytes: UnsafeMutableBufferPointer<UInt8>
    var configDirectoryView: agw_str {
        agw_str(ptr: UnsafeRawPointer(configDirectoryBytes.baseAddress).map { $0.assumingMemoryBound(to: CChar.self) },
                len: configDirectory.utf8.count)
    }

    init(type: FilterType, instanceName: String, homeLoop: EventLoop, configDirectory: String = "/",
         metrics: GatewayMetrics = ProcessWide.gatewayMetrics) {
        self.type = type
        self.instanceName = instanceName
        self.hookMetrics = HookMetrics(metrics: metrics, filter: instanceName)
        self.homeLoop = homeLoop
        self.configDirectory = configDirectory
        let bytes = Array(configDirectory.utf8)
        configDirectoryBytes = .allocate(capacity: max(bytes.count, 1))
        _ = configDirectoryBytes.initialize(from: bytes)
    }

    deinit { configDirectoryBytes.deallocate() }

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
        configured.store(true, ordering: .releasing)
        homeLoop.execute { [self] in
            let early = eventsBeforeConfigured
            eventsBeforeConfigured = []
            for event in early { scope.deliver(event) }
        }
    }

    /// The scope for config-owned async work; events go to `on_config_event` on `homeLoop`.
    var scope: AsyncScope {
        configScope.withLock { existing in
            if let scope = existing { return scope }
            let scope = AsyncScope(eventLoop: homeLoop, owner: .config(self))
            existing = scope
            return scope
        }
    }

    /// Stops config-owned work (waiting for its child processes to exit) and calls
    /// `config_destroy`. Control thread, after the last stream.
    func destroy() async {
        await configScope.withLock { $0 }?.closeAndWait(graceMilliseconds: 500)
        if let context { type.hooks.config_destroy?(context) }
        context = nil
    }
}
