import Foundation

/// Turns a TOML document into a `GatewayConfig`, or a `ConfigError` that points at the problem.
///
/// Only checks the document itself; whether plugins load and accept their tables is checked by
/// `PluginRegistry` and `GatewayRuntime` (both also run by `--validate`).
enum ConfigLoader {
    static func load(file: String) throws -> GatewayConfig {
        let text: String
        do {
            text = try String(contentsOfFile: file, encoding: .utf8)
        } catch {
            throw ConfigError(file: file, message: "cannot read the config file: \(error.localizedDescription)")
        }
        var config = try parse(text, file: file)
        config.resolvePaths(relativeTo: URL(fileURLWithPath: file).deletingLastPathComponent().path)
        return config
    }

    static func parse(_ text: String, file: String = "<config>") throws -> GatewayConfig {
        let root: TOMLTable
        do {
            root = try TOMLTable(parsing: text)
        } catch {
            throw ConfigError(file: file, line: error.line, column: error.column, message: error.message)
        }
        var reader = TOMLReader(table: root, path: "", file: file)
        var config = GatewayConfig()

        if var gateway = try reader.table("gateway") {
            config.pluginDirectory = try gateway.string("plugin_dir")
            config.drainTimeoutSeconds = try gateway.double("drain_timeout_seconds") ?? config.drainTimeoutSeconds
            config.watchConfig = try gateway.bool("watch_config") ?? config.watchConfig
            if let loops = try gateway.int("event_loops") {
                guard (0...1024).contains(loops) else {
                    throw ConfigError(file: file, message: "gateway.event_loops = \(loops): use 0 (one per core) to 1024")
                }
                config.eventLoops = loops
            }
            try gateway.finish()
        }
        if var limits = try reader.table("limits") {
            config.limits.maxRequestLineBytes = try positive(&limits, "max_request_line_bytes") ?? config.limits.maxRequestLineBytes
            config.limits.maxRequestHeaderBytes = try positive(&limits, "max_request_header_bytes") ?? config.limits.maxRequestHeaderBytes
            config.limits.maxRequestHeaders = try positive(&limits, "max_request_headers") ?? config.limits.maxRequestHeaders
            config.limits.maxRequestBodyBytes = try positive(&limits, "max_request_body_bytes") ?? config.limits.maxRequestBodyBytes
            config.limits.maxBufferedResponseBytes = try positive(&limits, "max_buffered_response_bytes") ?? config.limits.maxBufferedResponseBytes
            config.limits.streamedContentTypes = try limits.strings("stream_content_types")?.map { $0.lowercased() } ?? config.limits.streamedContentTypes
            try limits.finish()
        }
        if var admin = try reader.table("admin") {
            config.admin = AdminConfig(address: try address(&admin, "address"), tokenFile: try admin.string("token_file"))
            try admin.finish()
        }
        if var xds = try reader.table("xds") {
            var bootstrap = XDSConfig(address: try address(&xds, "address"), nodeID: try xds.requiredString("node_id"))
            bootstrap.cluster = try xds.string("cluster") ?? ""
            bootstrap.delta = try xds.bool("delta") ?? true
            bootstrap.initialBackoffMilliseconds = try positive(&xds, "initial_backoff_ms") ?? bootstrap.initialBackoffMilliseconds
            bootstrap.maxBackoffMilliseconds = try positive(&xds, "max_backoff_ms") ?? bootstrap.maxBackoffMilliseconds
            config.xds = bootstrap
            try xds.finish()
        }
        if var table = try reader.table("access_log") {
            var log = try accessLog(&table)
            log.path = try table.string("path").flatMap { $0 == "-" ? nil : $0 }
            config.accessLog = log
            try table.finish()
        }
        if var table = try reader.table("tracing") {
            config.tracing = try TracingConfig(&table)
            try table.finish()
        }
        for var listener in try reader.tables("listeners") {
            var tls: TLSConfig?
            if var tlsTable = try listener.table("tls") {
                tls = TLSConfig(certificatePath: try tlsTable.requiredString("cert"),
                                privateKeyPath: try tlsTable.requiredString("key"),
                                clientCAPath: try tlsTable.string("client_ca"),
                                http2: try tlsTable.bool("http2") ?? true)
                try tlsTable.finish()
            }
            var parsed = ListenerConfig(name: try listener.requiredString("name"), address: try address(&listener, "address"), tls: tls)
            var timeouts = parsed.timeouts
            timeouts.requestHeadMilliseconds = try positive(&listener, "request_head_timeout_ms") ?? timeouts.requestHeadMilliseconds
            timeouts.requestBodyMilliseconds = try positive(&listener, "request_body_timeout_ms") ?? timeouts.requestBodyMilliseconds
            timeouts.idleMilliseconds = try positive(&listener, "idle_timeout_ms") ?? timeouts.idleMilliseconds
            timeouts.tlsHandshakeMilliseconds = try positive(&listener, "tls_handshake_timeout_ms") ?? timeouts.tlsHandshakeMilliseconds
            timeouts.http2IdleMilliseconds = try positive(&listener, "http2_idle_timeout_ms") ?? timeouts.http2IdleMilliseconds
            timeouts.http2PingMilliseconds = try positive(&listener, "http2_ping_interval_ms") ?? timeouts.http2PingMilliseconds
            parsed.timeouts = timeouts
            parsed.maxConnections = try positive(&listener, "max_connections")
            if let perClient = try listener.int("max_connections_per_client") {
                guard perClient >= 0 else { throw listener.error("max_connections_per_client", "must be 0 (no limit) or more") }
                parsed.maxConnectionsPerClient = perClient
            }
            config.listeners.append(parsed)
            try listener.finish()
        }
        if var plugins = try reader.table("plugins") {
            for name in plugins.table.keys.sorted() {
                guard var plugin = try plugins.table(name) else { continue }
                config.plugins.append(PluginConfig(name: name, path: try plugin.string("path")))
                try plugin.finish()
            }
        }
        for var route in try reader.tables("routes") {
            config.routes.append(try parseRoute(&route))
            try route.finish()
        }
        try reader.finish()
        try ConfigRules.validate(config, file: file)
        return config
    }

    private static func parseRoute(_ route: inout TOMLReader) throws -> RouteConfig {
        let name = try route.requiredString("name")
        var match = RouteMatchConfig()
        if var table = try route.table("match") {
            match.host = try table.string("host")?.lowercased()
            match.pathPrefix = try table.string("path_prefix")
            match.path = try table.string("path")
            match.methods = try table.strings("methods")?.map { $0.uppercased() } ?? []
            if var headers = try table.table("headers") {
                for key in headers.table.keys {
                    match.headers[key.lowercased()] = try headers.requiredString(key)
                }
                try headers.finish()
            }
            if let problem = ConfigRules.problem(with: match) { throw table.error(problem.key, problem.message) }
            try table.finish()
        }
        var filters: [FilterConfig] = []
        for var filter in try route.tables("filters") {
            filters.append(FilterConfig(plugin: try filter.requiredString("plugin"), configJSON: try filter.json("config")))
            try filter.finish()
        }
        let backend = try route.table("backend")
        let handler = try route.table("handler")
        let terminal: TerminalConfig
        switch (backend, handler) {
        case (var backend?, nil):
            guard let urls = try backend.strings("urls") ?? backend.strings("url"), !urls.isEmpty else {
                throw backend.error("urls", "list at least one upstream URL, e.g. urls = [\"http://127.0.0.1:9000\"]")
            }
            for (index, url) in urls.enumerated() {
                if let problem = ConfigRules.problem(withUpstream: url) { throw backend.error("urls[\(index)]", problem) }
            }
            var config = BackendConfig(urls: urls)
            config.connectTimeoutMilliseconds = try backend.int("connect_timeout_ms") ?? config.connectTimeoutMilliseconds
            config.requestTimeoutMilliseconds = try backend.int("request_timeout_ms") ?? config.requestTimeoutMilliseconds
            try backend.finish()
            terminal = .backend(config)
        case (nil, var handler?):
            terminal = .handler(FilterConfig(plugin: try handler.requiredString("plugin"), configJSON: try handler.json("config")))
            try handler.finish()
        case (nil, nil):
            throw route.error(nil, "route '\(name)' needs a [routes.backend] or a [routes.handler]")
        case (_?, _?):
            throw route.error(nil, "route '\(name)' has both a backend and a handler; keep one")
        }
        var accessLog: AccessLogConfig?
        if var table = try route.table("access_log") {
            accessLog = try Self.accessLog(&table)
            accessLog?.enabled = try table.bool("enabled") ?? true
            try table.finish()
        }
        return RouteConfig(name: name, listeners: try route.strings("listeners") ?? [], match: match,
                           filters: filters, terminal: terminal, accessLog: accessLog)
    }

    /// The keys `[access_log]` and `[routes.access_log]` share.
    private static func accessLog(_ table: inout TOMLReader) throws -> AccessLogConfig {
        var log = AccessLogConfig()
        if let sample = try table.double("sample") {
            guard (0...1).contains(sample) else { throw table.error("sample", "a fraction from 0 (none) to 1 (every request)") }
            log.sample = sample
        }
        log.include = try table.strings("include") ?? []
        log.exclude = try table.strings("exclude") ?? []
        return log
    }

    private static func positive(_ reader: inout TOMLReader, _ key: String) throws -> Int? {
        guard let value = try reader.int(key) else { return nil }
        guard value > 0 else { throw reader.error(key, "must be greater than 0") }
        return value
    }

    private static func address(_ reader: inout TOMLReader, _ key: String) throws -> SocketAddressSpec {
        let text = try reader.requiredString(key)
        guard let address = ConfigRules.address(text) else { throw reader.error(key, ConfigRules.addressProblem(text)) }
        return address
    }
}

extension GatewayConfig {
    /// Makes file paths in the config absolute, relative to the config file's directory.
    mutating func resolvePaths(relativeTo directory: String) {
        self.directory = URL(fileURLWithPath: directory + "/").standardizedFileURL.path
        func resolve(_ path: String) -> String {
            path.hasPrefix("/") ? path : URL(fileURLWithPath: path, relativeTo: URL(fileURLWithPath: directory + "/")).standardizedFileURL.path
        }
        pluginDirectory = pluginDirectory.map(resolve)
        if let tokenFile = admin?.tokenFile { admin?.tokenFile = resolve(tokenFile) }
        if let path = accessLog?.path { accessLog?.path = resolve(path) }
        for index in plugins.indices { plugins[index].path = plugins[index].path.map(resolve) }
        for index in listeners.indices {
            guard var tls = listeners[index].tls else { continue }
            tls.certificatePath = resolve(tls.certificatePath)
            tls.privateKeyPath = resolve(tls.privateKeyPath)
            tls.clientCAPath = tls.clientCAPath.map(resolve)
            listeners[index].tls = tls
        }
    }
}
