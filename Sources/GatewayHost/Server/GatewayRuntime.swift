import Foundation
import Logging
import NIOCore
import NIOPosix
import Synchronization

/// One generation: everything built from one configuration — its plugins, configured filter
/// instances, routes and listeners. Building it runs every new instance's `config_new`, so a
/// config that builds is a config the gateway can serve (this is what `--validate` and a reload
/// check). A reload builds the next generation beside this one (`ConfigReloader`); instances it
/// configures the same way are shared through the `InstancePool` rather than created again.
final class GatewayRuntime: Sendable {
    let config: GatewayConfig
    let services: HostServices
    let routes: RouteTable
    let listeners: [ListenerRuntime]
    let limits: Limits
    let inFlight = InFlightCounter()
    /// 1 for the configuration the gateway started with, then one more per applied change.
    let generation: Int
    /// Instances this generation took over from the one before (not created again).
    let reusedInstances: Int
    private let instances: [FilterInstance]
    private let backends: [BackendPool]
    private let pool: InstancePool?
    private let isShutDown = Atomic<Bool>(false)

    private init(config: GatewayConfig, services: HostServices, routes: [Route], listeners: [ListenerRuntime], generation: Int,
                 reusedInstances: Int, instances: [FilterInstance], backends: [BackendPool], pool: InstancePool?) {
        self.config = config
        self.services = services
        self.limits = config.limits
        self.routes = RouteTable(routes: routes)
        self.listeners = listeners
        self.generation = generation
        self.reusedInstances = reusedInstances
        self.instances = instances
        self.backends = backends
        self.pool = pool
    }

    /// Builds a generation: loads (or finds loaded) its plugins, takes each instance from `pool`
    /// or creates it, builds routes, backends and listeners (TLS files read anew, so a rotated
    /// certificate is picked up). On failure, everything created for it is destroyed again and
    /// the error names the key (`ConfigError`).
    static func build(config: GatewayConfig, services: HostServices, file: String, registry: PluginRegistry,
                      pool: InstancePool, generation: Int = 1) async throws -> GatewayRuntime {
        var acquired: [FilterInstance] = []
        var backends: [BackendPool] = []
        do {
            let plugins: PluginSet
            do {
                plugins = try registry.load(config.plugins, pluginDirectory: config.pluginDirectory ?? executableDirectory())
            } catch let error as PluginLoadError {
                throw ConfigError(file: file, keyPath: "plugins.\(error.plugin)", message: error.message)
            }
            var reused = 0
            var routes: [Route] = []
            for (routeIndex, route) in config.routes.enumerated() {
                func instantiate(_ filter: FilterConfig, keyPath: String, name: String, handler: Bool) throws -> FilterInstance {
                    do {
                        let type = try plugins.filterType(filter.plugin)
                        if type.isHandler != handler {
                            throw PluginLoadError(plugin: filter.plugin, message: handler
                                ? "'\(type.name)' is a filter, not a handler; put it under [[routes.filters]]"
                                : "'\(type.name)' is a handler; use it as [routes.handler], not in [[routes.filters]]")
                        }
                        let key = InstancePool.Key(instanceName: name, typeAddress: UInt(bitPattern: type.pointer),
                                                   configJSON: filter.configJSON, configDirectory: config.directory)
                        let (instance, wasReused) = try pool.acquire(key) {
                            let instance = FilterInstance(type: type, instanceName: name, homeLoop: services.group.next(),
                                                          configDirectory: config.directory)
                            try instance.create(configJSON: filter.configJSON)
                            return instance
                        }
                        acquired.append(instance)
                        if wasReused { reused += 1 }
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
                    let pool = try BackendPool(config: backend, group: services.group, route: route.name, metrics: services.gatewayMetrics)
                    backends.append(pool)
                    terminal = .backend(pool)
                case .handler(let handler):
                    terminal = .handler(try instantiate(handler, keyPath: "routes[\(routeIndex)].handler", name: "\(route.name)/\(handler.plugin)", handler: true))
                }
                routes.append(Route(name: route.name, listeners: route.listeners, match: route.match, filters: filters,
                                    terminal: terminal, limits: config.limits, servedBy: config.listeners.map(\.name),
                                    metrics: services.gatewayMetrics,
                                    accessLog: AccessLogPolicy(global: config.accessLog, route: route.accessLog)))
            }
            let listeners = try config.listeners.map { try ListenerRuntime(config: $0) }
            return GatewayRuntime(config: config, services: services, routes: routes, listeners: listeners, generation: generation,
                                  reusedInstances: reused, instances: acquired, backends: backends, pool: pool)
        } catch {
            for instance in acquired where pool.release(instance) { await instance.destroy() }
            for backend in backends { await backend.shutdown() }
            throw error
        }
    }

    /// A runtime from routes built already, without plugin files or a config (the handler's
    /// unit tests serve through it).
    convenience init(services: HostServices, routes: [Route], listeners: [ListenerRuntime], limits: Limits = Limits()) {
        var config = GatewayConfig()
        config.limits = limits
        self.init(config: config, services: services, routes: routes, listeners: listeners, generation: 1,
                  reusedInstances: 0, instances: routes.flatMap(\.stages), backends: [], pool: nil)
    }

    /// Releases this generation's instances, destroying those no newer generation kept (their
    /// last stream is over), and closes its upstream pools.
    func shutdown() async {
        guard !isShutDown.exchange(true, ordering: .acquiringAndReleasing) else { return }
        for instance in instances where pool?.release(instance) ?? true { await instance.destroy() }
        for backend in backends { await backend.shutdown() }
    }


    /// The directory of the running executable: the default plugin directory.
    static func executableDirectory() -> String {
        let path = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        return URL(fileURLWithPath: path).deletingLastPathComponent().path
    }
}
