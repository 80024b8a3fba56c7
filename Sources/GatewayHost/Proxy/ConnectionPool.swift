import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL

/// Whoever uses an upstream connection for one request: the proxy (`BackendCall`) or a plugin's
/// `http_call` (`HTTPCall`).
protocol ResponseReceiver: AnyObject {
    func receive(_ part: HTTPClientResponsePart)
    /// One read from the upstream was processed.
    func readBatchComplete()
    func connectionClosed(error: Error?)
}

/// Keep-alive HTTP/1.1 connections to one upstream origin, owned by one event loop.
///
/// Loop-local on purpose: an exchange and its upstream connection share a thread, so proxying
/// needs no locks and no thread hops. (async-http-client's shared pool hops between loops and
/// cost ~135 µs of CPU per proxied request here, and opened a connection per plugin call.)
final class ConnectionPool {
    struct Origin: Hashable, Sendable {
        let scheme: String
        let host: String
        let port: Int
    }

    let origin: Origin
    private let eventLoop: EventLoop
    private let connectTimeout: TimeAmount
    private let sslContext: NIOSSLContext?
    private var idle: [PooledConnection] = []
    /// Idle connections beyond this are closed rather than kept.
    private let maxIdle = 512
    static let idleTimeout = TimeAmount.seconds(55)

    /// Response-head deadlines of calls through this pool (nil: no request timeout).
    let headTimeouts: HeadTimeouts?

    init(origin: Origin, eventLoop: EventLoop, connectTimeout: TimeAmount, requestTimeout: TimeAmount?, sslContext: NIOSSLContext?) {
        self.origin = origin
        self.eventLoop = eventLoop
        self.connectTimeout = connectTimeout
        self.sslContext = sslContext
        self.headTimeouts = requestTimeout.map { HeadTimeouts(eventLoop: eventLoop, timeout: $0) }
    }

    /// An idle connection if there is one (most recently used first), else a new one.
    func acquire() -> EventLoopFuture<PooledConnection> {
        while let connection = idle.popLast() {
            if connection.channel.isActive {
                connection.leave()
                return eventLoop.makeSucceededFuture(connection)
            }
        }
        return connect()
    }

    /// A fresh connection, for a retry after an idle one turned out to be closed.
    func connect() -> EventLoopFuture<PooledConnection> {
        let origin = self.origin
        let sslContext = self.sslContext
        return ClientBootstrap(group: eventLoop)
            .connectTimeout(connectTimeout)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let sync = channel.pipeline.syncOperations
                    if let sslContext {
                        try sync.addHandler(try NIOSSLClientHandler(context: sslContext, serverHostname: origin.host.isIPAddress ? nil : origin.host))
                    }
                    // Header validation is the host's own (HeaderValidation), where plugins hand headers in.
                    try sync.addHTTPClientHandlers(leftOverBytesStrategy: .fireError, enableOutboundHeaderValidation: false)
                    try sync.addHandler(PooledConnection.Handler())
                }
            }
            .connect(host: origin.host, port: origin.port)
            .flatMapThrowing { channel in
                let handler = try channel.pipeline.syncOperations.handler(type: PooledConnection.Handler.self)
                return PooledConnection(channel: channel, handler: handler, pool: self)
            }
    }

    /// Takes a connection back after a complete response on a keep-alive connection.
    func release(_ connection: PooledConnection) {
        guard connection.channel.isActive, idle.count < maxIdle else {
            connection.channel.close(promise: nil)
            return
        }
        connection.park(timeout: Self.idleTimeout)
        idle.append(connection)
    }

    func remove(_ connection: PooledConnection) {
        idle.removeAll { $0 === connection }
    }

    func closeAll() {
        for connection in idle { connection.channel.close(promise: nil) }
        idle = []
    }
}

/// One upstream connection and the exchange currently using it.
final class PooledConnection {
    let channel: Channel
    let handler: Handler
    private unowned let pool: ConnectionPool
    private var idleTimer: Scheduled<Void>?

    init(channel: Channel, handler: Handler, pool: ConnectionPool) {
        self.channel = channel
        self.handler = handler
        self.pool = pool
        handler.connection = self
    }

    func park(timeout: TimeAmount) {
        handler.call = nil
        idleTimer = channel.eventLoop.scheduleTask(in: timeout) { [weak self] in
            guard let self else { return }
            self.pool.remove(self)
            self.channel.close(promise: nil)
        }
    }

    func leave() {
        idleTimer?.cancel()
        idleTimer = nil
    }

    func release() { pool.release(self) }

    func closedWhileIdle() {
        idleTimer?.cancel()
        pool.remove(self)
    }

    /// Routes response parts to the call using the connection; notices the upstream closing.
    final class Handler: ChannelInboundHandler, RemovableChannelHandler {
        typealias InboundIn = HTTPClientResponsePart
        weak var connection: PooledConnection?
        var call: (any ResponseReceiver)?

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            let part = Self.unwrapInboundIn(data)
            guard let call else {
                // A response nobody asked for: the connection is broken.
                context.close(promise: nil)
                return
            }
            call.receive(part)
        }

        func channelReadComplete(context: ChannelHandlerContext) {
            call?.readBatchComplete()
            context.fireChannelReadComplete()
        }

        func channelInactive(context: ChannelHandlerContext) {
            if let call {
                self.call = nil
                call.connectionClosed(error: nil)
            } else {
                connection?.closedWhileIdle()
            }
            context.fireChannelInactive()
        }

        func errorCaught(context: ChannelHandlerContext, error: Error) {
            if let call {
                self.call = nil
                call.connectionClosed(error: error)
            }
            context.close(promise: nil)
        }
    }
}

extension String {
    var isIPAddress: Bool {
        (try? SocketAddress(ipAddress: self, port: 0)) != nil
    }
}

extension EventLoopFuture where Value == PooledConnection {
    /// For a caller that may be done before its connection arrives (on the pool's loop): `use`
    /// gets the connection unless `isDone()` by then (it goes back to the pool); `failed` gets a
    /// connect error (not when done) and whether it was the connect timeout.
    func whenAcquired(unlessDone isDone: @escaping () -> Bool, use: @escaping (PooledConnection) -> Void,
                      failed: @escaping (_ error: Error, _ timedOut: Bool) -> Void) {
        assumeIsolated().whenComplete { result in
            switch result {
            case .success(let connection):
                guard !isDone() else {
                    connection.release()
                    return
                }
                use(connection)
            case .failure(let error):
                guard !isDone() else { return }
                failed(error, error is ChannelError && "\(error)".contains("connectTimeout"))
            }
        }
    }
}
