import SwiftProtobuf
import XDSProto

/// The configuration a control plane sent, decoded: listeners, routes and plugins by resource
/// name, in the same types the TOML file becomes. `GatewayConfig.merging(_:)` adds them to the
/// file's configuration; on a name conflict the file wins.
struct XDSSnapshot: Sendable, Equatable {
    var listeners: [String: ListenerConfig] = [:]
    /// Routes with their `order` (xDS routes are tried after the file's, by order, then name).
    var routes: [String: OrderedRoute] = [:]
    var plugins: [String: PluginConfig] = [:]

    struct OrderedRoute: Sendable, Equatable {
        var order: Int
        var route: RouteConfig
    }

    var isEmpty: Bool { listeners.isEmpty && routes.isEmpty && plugins.isEmpty }
    var count: Int { listeners.count + routes.count + plugins.count }
}

/// One xDS resource type of the gateway's (`Protos/agentgateway/config/v1/resources.proto`).
enum XDSResourceType: String, CaseIterable, Sendable {
    case plugin = "type.googleapis.com/agentgateway.config.v1.Plugin"
    case listener = "type.googleapis.com/agentgateway.config.v1.Listener"
    case route = "type.googleapis.com/agentgateway.config.v1.Route"

    /// The message name in errors and logs.
    var kind: String {
        switch self {
        case .plugin: return "Plugin"
        case .listener: return "Listener"
        case .route: return "Route"
        }
    }
}

/// A resource the gateway cannot use, named for the control plane's NACK.
struct XDSResourceError: Error, CustomStringConvertible, Equatable {
    var type: XDSResourceType
    var name: String
    var message: String
    var description: String { "\(type.kind) '\(name)': \(message)" }
}

extension XDSSnapshot {
    /// Decodes one resource into the snapshot (replacing one of the same name).
    mutating func insert(_ type: XDSResourceType, name: String, resource: Google_Protobuf_Any) throws(XDSResourceError) {
        func fail(_ message: String) -> XDSResourceError { XDSResourceError(type: type, name: name, message: message) }
        guard resource.typeURL == type.rawValue else {
            throw fail("the resource is a \(resource.typeURL), not a \(type.rawValue)")
        }
        do {
            switch type {
            case .plugin:
                let plugin = try Agentgateway_Config_V1_Plugin(unpackingAny: resource)
                guard plugin.name == name else { throw fail("its name is '\(plugin.name)', not the resource name") }
                plugins[name] = PluginConfig(name: name, path: plugin.path.isEmpty ? nil : plugin.path)
            case .listener:
                let listener = try Agentgateway_Config_V1_Listener(unpackingAny: resource)
                guard listener.name == name else { throw fail("its name is '\(listener.name)', not the resource name") }
                listeners[name] = try Self.listener(listener, fail: fail)
            case .route:
                let route = try Agentgateway_Config_V1_Route(unpackingAny: resource)
                guard route.name == name else { throw fail("its name is '\(route.name)', not the resource name") }
                routes[name] = OrderedRoute(order: Int(route.order), route: try Self.route(route, fail: fail))
            }
        } catch let error as XDSResourceError {
            throw error
        } catch {
            throw fail("cannot decode it: \(error)")
        }
    }

    mutating func remove(_ type: XDSResourceType, name: String) {
        switch type {
        case .plugin: plugins.removeValue(forKey: name)
        case .listener: listeners.removeValue(forKey: name)
        case .route: routes.removeValue(forKey: name)
        }
    }

    /// The names of one type's resources.
    func names(_ type: XDSResourceType) -> [String] {
        switch type {
        case .plugin: return Array(plugins.keys)
        case .listener: return Array(listeners.keys)
        case .route: return Array(routes.keys)
        }
    }

    private static func listener(_ listener: Agentgateway_Config_V1_Listener, fail: (String) -> XDSResourceError) throws(XDSResourceError) -> ListenerConfig {
        guard let address = ConfigRules.address(listener.address) else { throw fail("address: \(ConfigRules.addressProblem(listener.address))") }
        var config = ListenerConfig(name: listener.name, address: address)
        if listener.hasTls {
            let tls = listener.tls
            guard !tls.cert.isEmpty, !tls.key.isEmpty else { throw fail("tls: needs cert and key (PEM files on the gateway's machine)") }
            config.tls = TLSConfig(certificatePath: tls.cert, privateKeyPath: tls.key,
                                   clientCAPath: tls.clientCa.isEmpty ? nil : tls.clientCa, http2: tls.hasHTTP2 ? tls.http2 : true)
        }
        return config
    }

    private static func route(_ route: Agentgateway_Config_V1_Route, fail: (String) -> XDSResourceError) throws(XDSResourceError) -> RouteConfig {
        var match = RouteMatchConfig()
        if route.hasMatch {
            let given = route.match
            match.host = given.host.isEmpty ? nil : given.host.lowercased()
            match.pathPrefix = given.pathPrefix.isEmpty ? nil : given.pathPrefix
            match.path = given.path.isEmpty ? nil : given.path
            match.methods = given.methods.map { $0.uppercased() }
            match.headers = Dictionary(uniqueKeysWithValues: given.headers.map { ($0.key.lowercased(), $0.value) })
            if let problem = ConfigRules.problem(with: match) { throw fail("match.\(problem.key): \(problem.message)") }
        }
        func filter(_ filter: Agentgateway_Config_V1_Filter, at key: String) throws(XDSResourceError) -> FilterConfig {
            guard !filter.plugin.isEmpty else { throw fail("\(key).plugin: is required") }
            let json: String
            do {
                json = filter.hasConfig ? try filter.config.jsonString() : "{}"
            } catch {
                throw fail("\(key).config: \(error)")
            }
            return FilterConfig(plugin: filter.plugin, configJSON: json)
        }
        var filters: [FilterConfig] = []
        for (index, given) in route.filters.enumerated() { filters.append(try filter(given, at: "filters[\(index)]")) }
        let terminal: TerminalConfig
        switch route.terminal {
        case .backend(let backend):
            guard !backend.urls.isEmpty else { throw fail("backend.urls: list at least one upstream URL") }
            for (index, url) in backend.urls.enumerated() {
                if let problem = ConfigRules.problem(withUpstream: url) { throw fail("backend.urls[\(index)]: \(problem)") }
            }
            var config = BackendConfig(urls: backend.urls)
            if backend.connectTimeoutMs > 0 { config.connectTimeoutMilliseconds = Int(backend.connectTimeoutMs) }
            if backend.hasRequestTimeoutMs { config.requestTimeoutMilliseconds = Int(backend.requestTimeoutMs) }
            terminal = .backend(config)
        case .handler(let handler):
            terminal = .handler(try filter(handler, at: "handler"))
        case nil:
            throw fail("needs a backend or a handler")
        }
        return RouteConfig(name: route.name, listeners: route.listeners, match: match, filters: filters, terminal: terminal)
    }
}

extension GatewayConfig {
    /// This (the file's) configuration with a control plane's resources added after its own:
    /// listeners and plugins whose names the file does not use, and routes (sorted by order,
    /// then name) likewise. Returns the merged configuration, the xDS resources the file
    /// shadowed, and which merged route index came from which xDS route (for error messages).
    func merging(_ snapshot: XDSSnapshot) -> (config: GatewayConfig, shadowed: [String], routeOrigins: [Int: String]) {
        var merged = self
        var shadowed: [String] = []
        let listenerNames = Set(listeners.map(\.name))
        for name in snapshot.listeners.keys.sorted() {
            if listenerNames.contains(name) { shadowed.append("Listener '\(name)'") } else { merged.listeners.append(snapshot.listeners[name]!) }
        }
        let pluginNames = Set(plugins.map(\.name))
        for name in snapshot.plugins.keys.sorted() {
            if pluginNames.contains(name) { shadowed.append("Plugin '\(name)'") } else { merged.plugins.append(snapshot.plugins[name]!) }
        }
        let routeNames = Set(routes.map(\.name))
        var origins: [Int: String] = [:]
        let ordered = snapshot.routes.values.sorted { ($0.order, $0.route.name) < ($1.order, $1.route.name) }
        for entry in ordered {
            if routeNames.contains(entry.route.name) {
                shadowed.append("Route '\(entry.route.name)'")
            } else {
                origins[merged.routes.count] = entry.route.name
                merged.routes.append(entry.route)
            }
        }
        return (merged, shadowed, origins)
    }
}
