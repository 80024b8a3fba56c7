import Logging
import NIOCore
import NIOExtras
import NIOHTTP1
import NIOPosix

/// The sockets the gateway accepts on, by configured address, kept across generations.
///
/// A reload first binds what the new configuration adds (`bind(for:)`: a port already in use
/// fails the reload before anything changed), then, once the new generation serves, stops
/// accepting on what it dropped (`close(unusedBy:)`): those sockets close, their idle keep-alive
/// connections close, and requests in flight on them finish. A listener whose address stays is
/// not rebound: its connections pick up the current generation's listener (and TLS context) as
/// they are accepted.
actor ListenerSet {
    enum Kind: Hashable, Sendable { case traffic, admin }

    /// What identifies a socket: a traffic listener or the admin listener, at a configured
    /// address; for port 0 (any free port) also the listener's name, since each such listener
    /// is a socket of its own.
    struct Key: Hashable, Sendable, CustomStringConvertible {
        var kind: Kind
        var address: SocketAddressSpec
        var name: String?

        init(kind: Kind, address: SocketAddressSpec, name: String) {
            self.kind = kind
            self.address = address
            self.name = address.port == 0 ? name : nil
        }

        var description: String { kind == .admin ? "admin \(address)" : name.map { "\($0) \(address)" } ?? "\(address)" }

        /// Whether `listener` is served on this socket.
        func serves(_ listener: ListenerRuntime) -> Bool {
            listener.address == address && (name == nil || name == listener.name)
        }
    }

    private struct Bound {
        let channel: Channel
        let quiesce: ServerQuiescingHelper
    }

    private var bound: [Key: Bound] = [:]
    private let group: EventLoopGroup
    private let live: LiveRuntime
    private let logger: Logger
    /// The admin listener's connection handler (given the remote address).
    private let makeAdminHandler: @Sendable (Channel) -> ChannelHandler

    init(group: EventLoopGroup, live: LiveRuntime, logger: Logger, makeAdminHandler: @escaping @Sendable (Channel) -> ChannelHandler) {
        self.group = group
        self.live = live
        self.logger = logger
        self.makeAdminHandler = makeAdminHandler
    }

    /// The sockets `runtime` needs.
    static func keys(of runtime: GatewayRuntime) -> [Key] {
        runtime.listeners.map { Key(kind: .traffic, address: $0.address, name: $0.name) }
            + (runtime.config.admin.map { [Key(kind: .admin, address: $0.address, name: "admin")] } ?? [])
    }

    /// Binds every socket `runtime` needs that is not bound yet. On failure, closes the ones it
    /// bound and throws a `ConfigError` naming the listener.
    func bind(for runtime: GatewayRuntime, file: String) async throws -> [Key] {
        var added: [Key] = []
        for key in Self.keys(of: runtime) where bound[key] == nil {
            do {
                bound[key] = try await open(key, runtime: runtime)
                added.append(key)
            } catch {
                for key in added { bound.removeValue(forKey: key).map { _ = $0.channel.close() } }
                let index = runtime.listeners.firstIndex { key.serves($0) }
                throw ConfigError(file: file, keyPath: key.kind == .admin ? "admin.address" : "listeners[\(index ?? 0)].address",
                                  message: "cannot listen on \(key.address): \(Self.reason(error))")
            }
        }
        return added
    }

    /// Closes sockets `bind(for:file:)` just opened and nothing served yet (a dry run's).
    func unbind(_ keys: [Key]) async {
        for key in keys {
            try? await bound.removeValue(forKey: key)?.channel.close()
        }
    }

    /// Stops accepting on the sockets `runtime` does not need; connections on them close once
    /// idle (requests in flight finish first).
    func close(unusedBy runtime: GatewayRuntime) {
        let needed = Set(Self.keys(of: runtime))
        for (key, socket) in bound where !needed.contains(key) {
            bound.removeValue(forKey: key)
            socket.quiesce.initiateShutdown(promise: nil)
            logger.notice("stopped listening", metadata: ["listener": "\(key)"])
        }
    }

    /// Closes every socket (graceful shutdown); the futures complete when their connections have.
    func quiesceAll() -> [EventLoopFuture<Void>] {
        let closing = bound.values.map { socket in
            let promise = socket.channel.eventLoop.makePromise(of: Void.self)
            socket.quiesce.initiateShutdown(promise: promise)
            return promise.futureResult
        }
        bound.removeAll()
        return closing
    }

    /// The address a socket is bound to (a configured port 0 becomes a real one).
    func boundAddress(_ key: Key) -> SocketAddress? { bound[key]?.channel.localAddress }

    private func open(_ key: Key, runtime: GatewayRuntime) async throws -> Bound {
        let quiesce = ServerQuiescingHelper(group: group)
        let channel: Channel
        switch key.kind {
        case .traffic:
            let live = self.live
            // Accepted before the generation that added it serves: the listener it was bound for.
            let fallback = runtime.listeners.first { key.serves($0) }!
            let gate = ConnectionGate()
            let logger = self.logger
            channel = try await ServerBootstrap(group: group)
                .serverChannelOption(.backlog, value: 1024)
                .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
                .serverChannelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        let sync = channel.pipeline.syncOperations
                        try sync.addHandler(AcceptErrorWatcher(logger: logger, listener: fallback.name) { reason in
                            (live.runtime.listeners.first { key.serves($0) } ?? fallback).metrics.acceptError(reason).increment()
                        })
                        try sync.addHandler(quiesce.makeServerChannelHandler(channel: channel))
                    }
                }
                .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
                .childChannelOption(.maxMessagesPerRead, value: 16)
                .childChannelInitializer { channel in
                    let listener = live.runtime.listeners.first { key.serves($0) } ?? fallback
                    let address = channel.remoteAddress
                    let perClient = listener.maxConnectionsPerClient
                    if let refusal = gate.admit(address, maxConnections: listener.maxConnections, perClient: perClient) {
                        listener.metrics.refused(refusal).increment()
                        return ConnectionGate.refuse(channel, refusal, isTLS: listener.isTLS)
                    }
                    channel.closeFuture.whenComplete { _ in gate.release(address, perClient: perClient) }
                    return listener.configure(channel, live: live)
                }
                .bind(host: key.address.host, port: key.address.port).get()
            logger.notice("listening", metadata: ["listener": "\(fallback.name)", "address": "\(channel.localAddress?.formatted ?? "?")",
                                                 "tls": "\(fallback.isTLS)"])
        case .admin:
            let makeAdminHandler = self.makeAdminHandler
            channel = try await ServerBootstrap(group: group)
                .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
                .serverChannelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHandler(quiesce.makeServerChannelHandler(channel: channel))
                    }
                }
                .childChannelInitializer { channel in
                    channel.pipeline.configureHTTPServerPipeline(withErrorHandling: true).flatMapThrowing {
                        try channel.pipeline.syncOperations.addHandler(makeAdminHandler(channel))
                    }
                }
                .bind(host: key.address.host, port: key.address.port).get()
            logger.notice("listening", metadata: ["listener": "admin", "address": "\(channel.localAddress?.formatted ?? "?")"])
        }
        return Bound(channel: channel, quiesce: quiesce)
    }

    private static func reason(_ error: Error) -> String {
        if let error = error as? IOError {
            return error.errnoCode == EADDRINUSE ? "the address is already in use" : "\(error)"
        }
        return "\(error)"
    }
}
