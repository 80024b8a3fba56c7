import Logging
import NIOCore
import ServiceLifecycle

/// Accepts connections on every configured listener (and the admin listener) until shutdown.
///
/// The sockets are `ListenerSet`'s and follow reloads; this service binds the first
/// generation's and, on graceful shutdown (SIGTERM/SIGINT), stops accepting, lets in-flight
/// requests finish (idle keep-alive connections close, HTTP/2 gets GOAWAY), gives up after
/// `drain_timeout_seconds`, and destroys every generation's plugin instances.
final class GatewayServer: Service {
    private let live: LiveRuntime
    private let listeners: ListenerSet
    private let logger: Logger
    private let file: String

    init(live: LiveRuntime, listeners: ListenerSet, logger: Logger, file: String) {
        self.live = live
        self.listeners = listeners
        self.logger = logger
        self.file = file
    }

    func run() async throws {
        try await listeners.bind(for: live.runtime, file: file)
        let loop = live.runtime.services.group.next()
        let drained = loop.makePromise(of: Void.self)
        let logger = self.logger
        let live = self.live
        let listeners = self.listeners
        try await withGracefulShutdownHandler {
            try await drained.futureResult.get()
        } onGracefulShutdown: {
            let drainTimeout = TimeAmount.milliseconds(Int64(live.runtime.config.drainTimeoutSeconds * 1000))
            logger.notice("draining", metadata: ["in_flight": "\(live.requestsInFlight)", "timeout_s": "\(drainTimeout.nanoseconds / 1_000_000_000)"])
            let timeout = loop.scheduleTask(in: drainTimeout) {
                logger.warning("drain timeout reached; closing remaining connections", metadata: ["in_flight": "\(live.requestsInFlight)"])
                drained.succeed()
            }
            Task {
                let closed = await listeners.quiesceAll()
                EventLoopFuture.andAllComplete(closed, on: loop).whenComplete { _ in
                    timeout.cancel()
                    logger.notice("drained")
                    drained.succeed()
                }
            }
        }
        for runtime in live.drainingGenerations { await runtime.shutdown() }
        await live.runtime.shutdown()
    }
}
