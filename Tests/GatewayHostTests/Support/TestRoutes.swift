@testable import GatewayHost
import NIOCore
import PluginABI
import PluginKit

/// Routes built from ``TestPlugin``'s filters, loaded through the host's real `agw_host_api`
/// table the way a `.so` is (minus `dlopen`).
enum TestRoutes {
    /// The test plugin's filter types, from its descriptor.
    static let types: [FilterType] = {
        guard let descriptor = PluginExport.plugin(name: "test", version: "0", filters: TestPlugin.filters,
                                                   host: UnsafeRawPointer(HostAPI.table)) else { preconditionFailure("the host's ABI major") }
        return PluginRegistry.types(of: descriptor.assumingMemoryBound(to: agw_plugin.self), pluginName: "test")
    }()

    static func instance(_ type: String, route: String, loop: EventLoop) throws -> FilterInstance {
        guard let filterType = types.first(where: { $0.name == type }) else { preconditionFailure("no test filter '\(type)'") }
        let instance = FilterInstance(type: filterType, instanceName: "\(route)/\(type)", homeLoop: loop)
        try instance.create(configJSON: "{}")
        return instance
    }

    /// A route at `path` with these filters and the `length` handler.
    static func route(_ name: String, path: String, filters: [String], limits: Limits = Limits(), loop: EventLoop) throws -> Route {
        var match = RouteMatchConfig()
        match.path = path
        return Route(name: name, listeners: [], match: match, filters: try filters.map { try instance($0, route: name, loop: loop) },
                     terminal: .handler(try instance("length", route: name, loop: loop)), limits: limits)
    }
}
