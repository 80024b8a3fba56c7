import Foundation
import Logging
import NIOCore
import NIOPosix
import Synchronization

/// Everything built from one configuration: loaded plugins, configured filter instances, routes
/// and listeners. Building it runs every plugin's `config_new`, so a config that builds is a
/// config the gateway can serve (this is what `--validate` checks).
final class GatewayRuntime: Sendable {
    let config: GatewayConfig
    let services: HostServices
    let routes: RouteTable
    let listeners: [ListenerRuntime]
    let limits: Limits
    let inFlight = InFlightCounter()
    private let instances: [FilterInstance]
    private let backends: [BackendPool]

    init(config: GatewayConfig, services: HostServices, file: String) throws {
        self.config = config
        self.services = services
        self.limits = config.limits
        let registry = PluginRegistry(host: HostAPI.table, logger: services.logger)
        try registry.load(config.plugins, pluginDirectory: config.pluginDirectory ?? Self.executableDirectory())

        var instances: [FilterInstance] = []
        var backends: [BackendPool] = []
        var routes: [Route] = []
        for (routeIndex, route) in config.routes.enumerated() {
            func instantiate(_ filter: FilterConfig, keyPath: String, name: String, handler: Bool) throws -> FilterInstance {
                do {
                    let type = try registry.filterType(filter.plugin)
                    if type.isHandler != handler {
                        throw PluginLoadError(plugin: filter.plugin, message: handler
                            ? "'\(type.name)' is a filter, not a handler; put it under [[routes.filters]]"
                            : "'\(type.name)' is a handler; use it as [routes.handler], not in [[routes.filters]]")
                    }
                    let instance = FilterInstance(type: type, instanceName: name, homeLoop: services.group.next(),
                                                  configDirectory: config.directory)
                    try instance.create(configJSON: filter.configJSON)
                    instances.append(instance)
                    return instance
                } catch let error as PluginLoadError {
                    throw ConfigError(file: file, keyPath: keyPath, message: error.description)
                }
            }
            let filters = try route.filters.enumerated().map { index, filter in
                try instantiate(filter, keyPath: "routes[\(routeIndex)].filters[\(index)]", name: "\(route.name)/\(filter.plugin)#\(index)", handler: false)
            }
            let terminal: Route.Terminal
            switch route.terminal {
            case .backend(let backend):
                let pool = try BackendPool(config: backend, group: services.group)
                backends.append(pool)
                terminal = .backend(pool)
            case .handler(let handler):
                terminal = .handler(try instantiate(handler, keyPath: "routes[\(routeIndex)].handler", name: "\(route.name)/\(handler.plugin)", handler: true))
            }
            routes.append(Route(name: route.name, listeners: route.listeners, match: route.match, filters: filters,
                                terminal: terminal, limits: config.limits))
        }
        self.instances = instances
        self.backends = backends
        self.routes = RouteTable(routes: routes)
        self.listeners = try config.listeners.map { try ListenerRuntime(config: $0) }
    }

    /// A runtime from routes built already, without plugin files or a config (the handler's
    /// unit tests serve through it).
    init(services: HostServices, routes: [Route], listeners: [ListenerRuntime], limits: Limits = Limits()) {
        var config = GatewayConfig()
        config.limits = limits
        self.config = config
        self.services = services
        self.limits = limits
        self.instances = routes.flatMap(\.stages)
        self.backends = []
        self.routes = RouteTable(routes: routes)
        self.listeners = listeners
    }

    /// Destroys filter configs (after the last stream) and closes upstream pools.
    func shutdown() async {
        for instance in instances { await instance.destroy() }
        for backend in backends { await backend.shutdown() }
    }

    /// The directory of the running executable: the default plugin directory.
    static func executableDirectory() -> String {
        let path = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        return URL(fileURLWithPath: path).deletingLastPathComponent().path
    }
}

/// Requests in flight, for draining and for the admin endpoint.
final class InFlightCounter: Sendable {
    private let count = Atomic<Int>(0)
    func increment() { count.wrappingAdd(1, ordering: .relaxed) }
    func decrement() { count.wrappingSubtract(1, ordering: .relaxed) }
    var value: Int { count.load(ordering: .relaxed) }
}
