import ArgumentParser
import Foundation
import Logging
import NIOPosix
import ServiceLifecycle

/// `agentgateway --config FILE [--validate] [--log-level LEVEL]`.
@main
struct AgentGatewayCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "agentgateway",
        abstract: "One secure, observable front door for AI agents' tools (MCP), agents (A2A) and HTTP APIs.",
        version: GatewayVersion.current
    )

    @Option(name: .shortAndLong, help: "The TOML configuration file.")
    var config: String

    @Flag(help: "Check the configuration (syntax, plugins, plugin configs, TLS files) and exit: 0 if usable, 1 if not.")
    var validate = false

    @Option(help: "trace, debug, info, notice, warning, error or critical.")
    var logLevel: String = "info"

    @Option(help: "The gateway's own log lines: text, or json (one object per line).")
    var logFormat: String = "text"

    func run() async throws {
        guard let level = Logger.Level(rawValue: logLevel) else {
            throw ValidationError("unknown log level '\(logLevel)'")
        }
        switch logFormat {
        case "text":
            LoggingSystem.bootstrap { label in
                var handler = StreamLogHandler.standardError(label: label)
                handler.logLevel = level
                return handler
            }
        case "json":
            LoggingSystem.bootstrap { label in
                var handler = JSONLogHandler(label: label)
                handler.logLevel = level
                return handler
            }
        default:
            throw ValidationError("unknown log format '\(logFormat)' (use text or json)")
        }
        let logger = Logger(label: "agentgateway")
        if !validate { FileDescriptorLimit.raise(logger: logger) }
        let services: HostServices
        let registry: PluginRegistry
        let pool = InstancePool()
        let runtime: GatewayRuntime
        let text: String
        var traceExporter: (any Service)?
        do {
            do {
                text = try String(contentsOfFile: config, encoding: .utf8)
            } catch {
                throw ConfigError(file: config, message: "cannot read the config file: \(error.localizedDescription)")
            }
            var parsed = try ConfigLoader.parse(text, file: config)
            parsed.resolvePaths(relativeTo: URL(fileURLWithPath: config).deletingLastPathComponent().path)
            let group: MultiThreadedEventLoopGroup = parsed.eventLoops == 0
                ? .singleton : MultiThreadedEventLoopGroup(numberOfThreads: parsed.eventLoops)
            var tracing: (tracer: RequestTracer, exporter: any Service)?
            if let config = parsed.tracing {
                do {
                    tracing = try RequestTracer.make(config, metrics: ProcessWide.metricCatalog, logger: logger)
                } catch {
                    throw ConfigError(file: self.config, keyPath: "tracing", message: "cannot set up the OTLP exporter: \(error)")
                }
            }
            traceExporter = tracing?.exporter
            services = HostServices(group: group, logger: logger, tracer: tracing?.tracer)
            registry = PluginRegistry(host: HostAPI.table, logger: logger)
            runtime = try await GatewayRuntime.build(config: parsed, services: services, file: config, registry: registry, pool: pool)
            if let problem = services.accessLog.use(path: parsed.accessLog?.path) {
                throw ConfigError(file: config, keyPath: "access_log.path", message: problem)
            }
        } catch {
            FileHandle.standardError.write(Data("error: \(error)\n".utf8))
            throw ExitCode(1)
        }
        if validate {
            let summary = "configuration OK: \(runtime.listeners.count) listener(s), \(runtime.routes.routes.count) route(s), \(runtime.config.plugins.count) plugin(s)\n"
            FileHandle.standardOutput.write(Data(summary.utf8))
            await runtime.shutdown()
            return
        }
        let live = LiveRuntime(runtime)
        // The admin API needs the reloader, which needs the listener set, which makes admin
        // connections: tied through a box filled right below.
        let apiBox = AdminAPIBox()
        let listeners = ListenerSet(group: services.group, live: live, logger: logger) { _ in AdminHandler(api: apiBox.api!) }
        let reloader = ConfigReloader(live: live, listeners: listeners, registry: registry, pool: pool, services: services,
                                      file: config, runningText: text)
        apiBox.api = AdminAPI(metrics: services.metrics, live: live, reloader: reloader)
        let server = GatewayServer(live: live, listeners: listeners, logger: logger, file: config)
        let triggers = ReloadTriggers(reloader: reloader, watch: runtime.config.watchConfig, logger: logger)
        var running: [any Service] = [server, triggers, AccessLogReopener(writer: services.accessLog, logger: logger)]
        if let xds = runtime.config.xds { running.append(XDSClient(config: xds, reloader: reloader, logger: logger)) }
        // First in, last out: the exporter stops after the server drained, with the last spans.
        if let traceExporter { running.insert(traceExporter, at: 0) }
        let group = ServiceGroup(services: running, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
        try await group.run()
        services.accessLog.drain() // the last lines (the writer holds up to 100 ms of them)
    }
}

/// Set once at startup, before the first admin connection; read-only after.
private final class AdminAPIBox: @unchecked Sendable {
    var api: AdminAPI?
}
