#if canImport(Glibc)
import Glibc
#endif
import ABIInterop
import PluginABI

/// Builds the C descriptor for a Swift plugin. A plugin's entry target is one function, whose C
/// types (`const agw_host_api *` in, `const agw_plugin *` out) cross as opaque pointers, so the
/// plugin imports PluginKit only:
///
/// ```swift
/// @c(agw_plugin_entry_v1)
/// public func entry(_ host: UnsafeRawPointer?) -> UnsafeRawPointer? {
///     PluginExport.plugin(name: "header-stamp", version: "1.0.0", filters: [HeaderStamp.self], host: host)
/// }
/// ```
public enum PluginExport {
    /// Returns the descriptor (`const agw_plugin *`, allocated once, kept for the life of the
    /// process) for the host table `host` (`const agw_host_api *`), or nil when the host speaks
    /// another ABI major.
    public static func plugin(name: String, version: String, filters: [any Filter.Type], host: UnsafeRawPointer?) -> UnsafeRawPointer? {
        guard let host = host?.assumingMemoryBound(to: agw_host_api.self) else { return nil }
        return plugin(name: name, version: version, filters: filters, table: host).map(UnsafeRawPointer.init)
    }

    /// ``plugin(name:version:filters:host:)`` with the C types (for PluginKitTesting and hosts in Swift).
    static func plugin(name: String, version: String, filters: [any Filter.Type],
                       table host: UnsafePointer<agw_host_api>) -> UnsafePointer<agw_plugin>? {
        guard host.pointee.abi_major == AGW_ABI_MAJOR, !filters.isEmpty else { return nil }
        let types = UnsafeMutablePointer<UnsafePointer<agw_filter_type>?>.allocate(capacity: filters.count)
        for (index, filter) in filters.enumerated() {
            types[index] = UnsafePointer(makeType(filter, host: host))
        }
        let plugin = UnsafeMutablePointer<agw_plugin>.allocate(capacity: 1)
        plugin.initialize(to: agw_plugin(
            struct_size: UInt32(MemoryLayout<agw_plugin>.size),
            abi_major: UInt16(AGW_ABI_MAJOR), abi_minor: UInt16(AGW_ABI_MINOR),
            name: UnsafePointer(strdup(name)), version: UnsafePointer(strdup(version)),
            runtime: UnsafePointer(strdup(runtimeIdentity)),
            filter_type_count: filters.count, filter_types: UnsafePointer(types)))
        return UnsafePointer(plugin)
    }

    /// "swift:" + the compiler that built this code; the host refuses a mismatch.
    public static var runtimeIdentity: String { "swift:" + String(cString: agw_compiler_identity()) }

    private static func makeType<F: Filter>(_ filter: F.Type, host: UnsafePointer<agw_host_api>) -> UnsafeMutablePointer<agw_filter_type> {
        let registration = Registration(host: host) { try FilterBox(filter: F(configuration: $0), host: host) }
        var type = agw_filter_type()
        type.struct_size = UInt32(MemoryLayout<agw_filter_type>.size)
        type.abi_major = UInt16(AGW_ABI_MAJOR)
        type.abi_minor = UInt16(AGW_ABI_MINOR)
        type.name = UnsafePointer(strdup(F.name))
        type.kind = F.kind == .handler ? AGW_KIND_HANDLER : AGW_KIND_FILTER
        type.user_data = Unmanaged.passRetained(registration).toOpaque()

        type.config_new = { type, config, instanceName, json in
            guard let type, let config, let data = type.pointee.user_data else { return nil }
            let registration = Unmanaged<Registration>.fromOpaque(data).takeUnretainedValue()
            let scope = Scope(host: registration.host, handle: registration.host.pointee.config_scope(config), config: config)
            do {
                let box = try registration.make(FilterConfiguration(instanceName: instanceName.string, json: json.string, scope: scope))
                return Unmanaged.passRetained(box).toOpaque()
            } catch {
                "\(error)".withAGWString { registration.host.pointee.config_set_error(config, $0) }
                return nil
            }
        }
        type.config_destroy = { context in
            guard let context else { return }
            Unmanaged<AnyFilterBox>.fromOpaque(context).release()
        }
        type.on_config_event = { context, config, event in
            guard let context, let event else { return }
            let box = Unmanaged<AnyFilterBox>.fromOpaque(context).takeUnretainedValue()
            var delivered = PluginEvent(event)
            box.configurationEvent(delivered, scope: Scope(host: box.host, handle: box.host.pointee.config_scope(config)))
            delivered.callbackReturned()
        }
        type.stream_new = { context, _ in
            guard let context else { return nil }
            let box = Unmanaged<AnyFilterBox>.fromOpaque(context).takeUnretainedValue()
            return Unmanaged.passRetained(StreamBox(filter: box)).toOpaque()
        }
        type.stream_destroy = { context in
            guard let context else { return }
            Unmanaged<StreamBox>.fromOpaque(context).release()
        }
        type.on_request_headers = { context, stream, endOfStream in
            PluginExport.withStream(context, stream) { $0.filter.requestHeaders($1, endOfStream: endOfStream != 0) }
        }
        if F.implementedHooks.contains(.responseHeaders) {
            type.on_response_headers = { context, stream, endOfStream in
                PluginExport.withStream(context, stream) { $0.filter.responseHeaders($1, endOfStream: endOfStream != 0) }
            }
        }
        if F.self is any RequestBodyFilter.Type {
            type.on_request_body = { context, stream, _ in PluginExport.withStream(context, stream) { $0.filter.requestBody($1) } }
        }
        if F.self is any ResponseBodyFilter.Type {
            type.on_response_body = { context, stream, _ in PluginExport.withStream(context, stream) { $0.filter.responseBody($1) } }
        }
        if F.self is any RPCFilter.Type {
            type.on_rpc_message = { context, stream, message in
                guard let message, let context else { return AGW_STATUS_CONTINUE }
                let box = Unmanaged<StreamBox>.fromOpaque(context).takeUnretainedValue()
                let view = message.pointee
                guard box.filter.wantsRPCMessage(kind: RPCMessage.Kind(view.kind), fromClient: RPCMessage.Direction(view.direction) == .clientToServer) else {
                    return AGW_STATUS_CONTINUE
                }
                return PluginExport.withStream(context, stream) { $0.filter.rpcMessage(RPCMessage(message), $1) }
            }
        }
        if F.implementedHooks.contains(.streamComplete) {
            type.on_stream_complete = { context, stream in
                _ = PluginExport.withStream(context, stream) { box, stream in
                    box.filter.streamComplete(stream)
                    return AGW_STATUS_CONTINUE
                }
            }
        }
        type.on_event = { context, stream, event in
            guard let event else { return }
            _ = PluginExport.withStream(context, stream) { box, stream in
                var delivered = PluginEvent(event)
                box.filter.event(delivered, stream: stream)
                delivered.callbackReturned()
                return AGW_STATUS_CONTINUE
            }
        }
        let pointer = UnsafeMutablePointer<agw_filter_type>.allocate(capacity: 1)
        pointer.initialize(to: type)
        return pointer
    }

    @inline(__always)
    static func withStream(_ context: UnsafeMutableRawPointer?, _ stream: OpaquePointer?,
                                   _ body: (StreamBox, FilterStream) -> agw_status) -> agw_status {
        guard let context, let stream else { return AGW_STATUS_CONTINUE }
        let box = Unmanaged<StreamBox>.fromOpaque(context).takeUnretainedValue()
        return body(box, FilterStream(host: box.filter.host, handle: stream, box: box))
    }
}

/// How to make one filter type's instances; hangs off `agw_filter_type.user_data`.
final class Registration {
    let host: UnsafePointer<agw_host_api>
    let make: (FilterConfiguration) throws -> AnyFilterBox
    init(host: UnsafePointer<agw_host_api>, make: @escaping (FilterConfiguration) throws -> AnyFilterBox) {
        self.host = host
        self.make = make
    }
}

/// A configured filter behind the C callbacks, with its type erased.
class AnyFilterBox {
    let host: UnsafePointer<agw_host_api>
    init(host: UnsafePointer<agw_host_api>) { self.host = host }
    func requestHeaders(_ stream: FilterStream, endOfStream: Bool) -> agw_status { AGW_STATUS_CONTINUE }
    func requestBody(_ stream: FilterStream) -> agw_status { AGW_STATUS_CONTINUE }
    func responseHeaders(_ stream: FilterStream, endOfStream: Bool) -> agw_status { AGW_STATUS_CONTINUE }
    func responseBody(_ stream: FilterStream) -> agw_status { AGW_STATUS_CONTINUE }
    func rpcMessage(_ message: RPCMessage, _ stream: FilterStream) -> agw_status { AGW_STATUS_CONTINUE }
    func wantsRPCMessage(kind: RPCMessage.Kind, fromClient: Bool) -> Bool { false }
    func streamComplete(_ stream: FilterStream) {}
    func event(_ event: PluginEvent, stream: FilterStream) {}
    func configurationEvent(_ event: PluginEvent, scope: Scope) {}
}

final class FilterBox<F: Filter>: AnyFilterBox {
    let filter: F
    private let requestBodyFilter: (any RequestBodyFilter)?
    private let responseBodyFilter: (any ResponseBodyFilter)?
    private let rpcFilter: (any RPCFilter)?

    init(filter: F, host: UnsafePointer<agw_host_api>) {
        self.filter = filter
        self.requestBodyFilter = filter as? any RequestBodyFilter
        self.responseBodyFilter = filter as? any ResponseBodyFilter
        self.rpcFilter = filter as? any RPCFilter
        super.init(host: host)
    }

    override func requestHeaders(_ stream: FilterStream, endOfStream: Bool) -> agw_status {
        filter.requestHeaders(stream, endOfStream: endOfStream).raw
    }
    override func requestBody(_ stream: FilterStream) -> agw_status { requestBodyFilter?.requestBody(stream).raw ?? AGW_STATUS_CONTINUE }
    override func responseHeaders(_ stream: FilterStream, endOfStream: Bool) -> agw_status {
        filter.responseHeaders(stream, endOfStream: endOfStream).raw
    }
    override func responseBody(_ stream: FilterStream) -> agw_status { responseBodyFilter?.responseBody(stream).raw ?? AGW_STATUS_CONTINUE }
    override func rpcMessage(_ message: RPCMessage, _ stream: FilterStream) -> agw_status {
        rpcFilter?.rpcMessage(message, stream: stream).raw ?? AGW_STATUS_CONTINUE
    }
    override func wantsRPCMessage(kind: RPCMessage.Kind, fromClient: Bool) -> Bool {
        rpcFilter?.wantsRPCMessage(kind: kind, fromClient: fromClient) ?? false
    }
    override func streamComplete(_ stream: FilterStream) { filter.streamComplete(stream) }
    override func event(_ event: PluginEvent, stream: FilterStream) { filter.event(event, stream: stream) }
    override func configurationEvent(_ event: PluginEvent, scope: Scope) { filter.configurationEvent(event, scope: scope) }
}
