import Logging
import NIOCore
import NIOExtras
import NIOHTTP1
import NIOPosix
import ServiceLifecycle

/// Accepts connections on every configured listener (and the admin listener) until shutdown.
///
/// On graceful shutdown (SIGTERM/SIGINT) it stops accepting, lets in-flight requests finish
/// (idle keep-alive connections close, HTTP/2 gets GOAWAY), and gives up after `drain_timeout_seconds`.
final class GatewayServer: Service {
    private let runtime: GatewayRuntime
    private let logger: Logger
    private let group: EventLoopGroup

    init(runtime: GatewayRuntime, logger: Logger) {
        self.runtime = runtime
        self.logger = logger
        self.group = runtime.services.group
    }

    func run() async throws {
        var quiescers: [ServerQuiescingHelper] = []
        for listener in runtime.listeners {
            let quiesce = ServerQuiescingHelper(group: group)
            let runtime = self.runtime
            let channel = try await ServerBootstrap(group: group)
                .serverChannelOption(.backlog, value: 1024)
                .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
                .serverChannelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHandler(quiesce.makeServerChannelHandler(channel: channel))
                    }
                }
                .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
                .childChannelOption(.maxMessagesPerRead, value: 16)
                .childChannelInitializer { channel in listener.configure(channel, runtime: runtime) }
                .bind(host: listener.address.host, port: listener.address.port).get()
            quiescers.append(quiesce)
            logger.notice("listening", metadata: ["listener": "\(listener.name)", "address": "\(channel.localAddress.map(HTTPServerHandler.format) ?? "?")",
                                                 "tls": "\(listener.isTLS)"])
        }
        if let admin = runtime.config.admin {
            let quiesce = ServerQuiescingHelper(group: group)
            let registry = runtime.services.metrics
            let inFlight = runtime.inFlight
            let channel = try await ServerBootstrap(group: group)
                .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
                .serverChannelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHandler(quiesce.makeServerChannelHandler(channel: channel))
                    }
                }
                .childChannelInitializer { channel in
                    channel.pipeline.configureHTTPServerPipeline(withErrorHandling: true).flatMapThrowing {
                        try channel.pipeline.syncOperations.addHandler(AdminHandler(registry: registry, inFlight: inFlight))
                    }
                }
                .bind(host: admin.address.host, port: admin.address.port).get()
            quiescers.append(quiesce)
            logger.notice("listening", metadata: ["listener": "admin", "address": "\(channel.localAddress.map(HTTPServerHandler.format) ?? "?")"])
        }

        let allQuiescers = quiescers
        let loop = group.next()
        let drained = loop.makePromise(of: Void.self)
        let drainTimeout = TimeAmount.milliseconds(Int64(runtime.config.drainTimeoutSeconds * 1000))
        let logger = self.logger
        let inFlight = runtime.inFlight
        try await withGracefulShutdownHandler {
            try await drained.futureResult.get()
        } onGracefulShutdown: {
            logger.notice("draining", metadata: ["in_flight": "\(inFlight.value)", "timeout_s": "\(drainTimeout.nanoseconds / 1_000_000_000)"])
            let closed = allQuiescers.map { quiesce in
                let promise = loop.makePromise(of: Void.self)
                quiesce.initiateShutdown(promise: promise)
                return promise.futureResult
            }
            let timeout = loop.scheduleTask(in: drainTimeout) {
                logger.warning("drain timeout reached; closing remaining connections", metadata: ["in_flight": "\(inFlight.value)"])
                drained.succeed()
            }
            EventLoopFuture.andAllComplete(closed, on: loop).whenComplete { _ in
                timeout.cancel()
                logger.notice("drained")
                drained.succeed()
            }
        }
        await runtime.shutdown()
    }
}
