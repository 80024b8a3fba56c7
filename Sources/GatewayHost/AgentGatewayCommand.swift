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

    func run() async throws {
        guard let level = Logger.Level(rawValue: logLevel) else {
            throw ValidationError("unknown log level '\(logLevel)'")
        }
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        let logger = Logger(label: "agentgateway")
        let runtime: GatewayRuntime
        do {
            let parsed = try ConfigLoader.load(file: config)
            let group: MultiThreadedEventLoopGroup = parsed.eventLoops == 0
                ? .singleton : MultiThreadedEventLoopGroup(numberOfThreads: parsed.eventLoops)
            let services = HostServices(group: group, logger: logger)
            runtime = try GatewayRuntime(config: parsed, services: services, file: config)
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
        let server = GatewayServer(runtime: runtime, logger: logger)
        let group = ServiceGroup(services: [server], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
        try await group.run()
    }
}
