import Foundation

/// The checks every configuration passes, whether it comes from TOML (`ConfigLoader`) or from a
/// control plane (`XDSResources`): addresses, matches, upstream URLs, and the cross-references.
enum ConfigRules {
    /// `host:port` (IPv6 hosts in brackets; an empty host is 0.0.0.0), or nil.
    static func address(_ text: String) -> SocketAddressSpec? {
        guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]),
              (0...65535).contains(port) else { return nil }
        var host = String(text[..<colon])
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        return SocketAddressSpec(host: host.isEmpty ? "0.0.0.0" : host, port: port)
    }

    static func addressProblem(_ text: String) -> String { "'\(text)' is not host:port, e.g. \"127.0.0.1:8080\"" }

    /// What is wrong with a route's match (the key and why), or nil.
    static func problem(with match: RouteMatchConfig) -> (key: String, message: String)? {
        if match.pathPrefix != nil, match.path != nil {
            return ("path", "set either path (exact) or path_prefix, not both")
        }
        for key in ["path", "path_prefix"] {
            if let value = key == "path" ? match.path : match.pathPrefix, !value.hasPrefix("/") {
                return (key, "must start with '/'")
            }
        }
        return nil
    }

    /// Why `url` is not an upstream base URL, or nil.
    static func problem(withUpstream url: String) -> String? {
        guard let parsed = URL(string: url), let scheme = parsed.scheme, ["http", "https"].contains(scheme),
              parsed.host != nil else {
            return "'\(url)' is not an absolute http:// or https:// URL"
        }
        return nil
    }

    /// Cross-references: names unique, listeners and plugins that routes name exist.
    static func validate(_ config: GatewayConfig, file: String) throws {
        if config.listeners.isEmpty, config.xds == nil {
            throw ConfigError(file: file, keyPath: "listeners", message: "configure at least one [[listeners]]")
        }
        var listenerNames = Set<String>()
        for (index, listener) in config.listeners.enumerated() where !listenerNames.insert(listener.name).inserted {
            throw ConfigError(file: file, keyPath: "listeners[\(index)].name", message: "duplicate listener name '\(listener.name)'")
        }
        let pluginNames = Set(config.plugins.map(\.name))
        var routeNames = Set<String>()
        for (index, route) in config.routes.enumerated() {
            if !routeNames.insert(route.name).inserted {
                throw ConfigError(file: file, keyPath: "routes[\(index)].name", message: "duplicate route name '\(route.name)'")
            }
            for listener in route.listeners where !listenerNames.contains(listener) {
                throw ConfigError(file: file, keyPath: "routes[\(index)].listeners",
                                  message: "unknown listener '\(listener)' (known: \(listenerNames.sorted().joined(separator: ", ")))")
            }
            var references = route.filters.enumerated().map { ("routes[\(index)].filters[\($0.offset)].plugin", $0.element.plugin) }
            if case .handler(let handler) = route.terminal { references.append(("routes[\(index)].handler.plugin", handler.plugin)) }
            for (keyPath, reference) in references {
                let pluginName = String(reference.split(separator: ".", maxSplits: 1).first ?? "")
                if !pluginNames.contains(pluginName) {
                    throw ConfigError(file: file, keyPath: keyPath,
                                      message: "unknown plugin '\(pluginName)'; declare it under [plugins.\(pluginName)] (declared: \(pluginNames.sorted().joined(separator: ", ")))")
                }
            }
        }
    }
}
