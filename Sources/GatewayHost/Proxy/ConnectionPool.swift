import HTTP1
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL

/// Whoever uses an upstream connection for one request: the proxy (`BackendCall`) or a plugin's
/// `http_call` (`HTTPCall`).
protocol ResponseReceiver: AnyObject {
    func receive(_ part: UpstreamPart)
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
    /// An idle connection is closed after this (upstreams commonly close at 60 s).
    let idleTimeout: TimeAmount

    /// Response-head deadlines of calls through this pool (nil: no request timeout).
    let headTimeouts: HeadTimeouts?

    init(origin: Origin, eventLoop: EventLoop, connectTimeout: TimeAmount, requestTimeout: TimeAmount?, sslContext: NIOSSLContext?,
         idleTimeout: TimeAmount = .seconds(55)) {
        self.origin = origin
        self.idleTimeout = idleTimeout
        self.eventLoop = eventLoop
        self.connectTimeout = connectTimeout
        self.sslContext = sslContext
        self.headTimeouts = requestTimeout.map { HeadTimeouts(eventLoop: eventLoop, timeout: $0) }
    }

    /// An idle connection, most recently used first (nil: none; `connect()` makes one). No
    /// future on this path: a kept-alive connection is the common case.
    func takeIdle() -> PooledConnection? {
        while let connection = idle.popLast() {
            if connection.channel.isActive {
                connection.leave()
                return connection
            }
        }
        return nil
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
                    // The connection reads and writes HTTP/1.1 bytes itself (no NIO HTTP/1 codec);
                    // header validation is the host's own (HeaderValidation), where plugins hand headers in.
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
        connection.park(timeout: idleTimeout)
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

/// One upstream connection and the call currently using it. It writes requests as HTTP/1.1
/// bytes (``HTTP1RequestWriter``: a head with a small body and its end in one write) and reads
/// responses with ``HTTP1Parser``, handing the call NIO's response parts.
final class PooledConnection {
    let channel: Channel
    let handler: Handler
    private unowned let pool: ConnectionPool
    /// Armed while the connection is idle or has been; not cancelled when the connection is
    /// taken (a cancel and a new schedule per request cost ~3,500 instructions): when it fires, a
    /// connection in use or parked since is left alone, the timer re-armed for what remains.
    private var idleTimer: Scheduled<Void>?
    /// When the connection was last parked; nil while in use.
    private var idleSince: NIODeadline?
    private var writer = HTTP1RequestWriter()

    init(channel: Channel, handler: Handler, pool: ConnectionPool) {
        self.channel = channel
        self.handler = handler
        self.pool = pool
        handler.connection = self
    }

    /// Whether the last response left the connection reusable (keep-alive, framed, read whole).
    var isReusable: Bool { handler.responseKeepsConnection && channel.isActive }

    /// Writes a request: its head, `body` if given, and its end when `end` (all in one write
    /// and one flush when the body is small).
    func sendRequest(_ head: HTTPRequestHead, body: ByteBuffer?, end: Bool) {
        var out = channel.allocator.buffer(capacity: 512)
        let chunked = HTTP1RequestWriter.writeHead(head, into: &out)
        sendRequest(encodedHead: out, chunked: chunked, toHEAD: head.method == .HEAD, body: body, end: end)
    }

    /// The same with the head written already (`chunked`: it says `transfer-encoding: chunked`).
    func sendRequest(encodedHead: ByteBuffer, chunked: Bool, toHEAD: Bool, body: ByteBuffer?, end: Bool) {
        handler.expectResponse(toHEAD: toHEAD)
        writer.isChunked = chunked
        var out = encodedHead
        if let body, body.readableBytes > 0 { writeBody(body, gathering: &out) }
        if end { writer.writeEnd(into: &out) }
        write(out, flush: true)
    }

    /// A piece of the request body (the head went out already).
    func sendBody(_ chunk: ByteBuffer) {
        guard chunk.readableBytes > 0 else { return }
        var out = channel.allocator.buffer(capacity: 16)
        writeBody(chunk, gathering: &out)
        write(out, flush: true)
    }

    /// The end of the request body.
    func sendEnd() {
        var out = channel.allocator.buffer(capacity: 8)
        writer.writeEnd(into: &out)
        write(out, flush: true)
    }

    /// Writes from the handler's place in the pipeline (on the loop, as all of a pool's work
    /// is): `channel.write` enters at the tail and wraps each buffer generically, ~500
    /// instructions more per write. An empty buffer is not written; a flush still happens.
    private func write(_ buffer: ByteBuffer, flush: Bool) {
        guard let context = handler.context else {
            if buffer.readableBytes > 0 { channel.write(buffer, promise: nil) }
            if flush { channel.flush() }
            return
        }
        channel.eventLoop.assertInEventLoop()
        if buffer.readableBytes > 0 { context.write(NIOAny(buffer), promise: nil) }
        if flush { context.flush() }
    }

    /// Gathers a small chunk into `out`; a large one goes out on its own after `out` (no copy).
    private func writeBody(_ chunk: ByteBuffer, gathering out: inout ByteBuffer) {
        if chunk.readableBytes <= HTTP1ResponseWriter.coalesceLimit {
            writer.writeBody(chunk, into: &out)
            return
        }
        writer.writeChunkSize(chunk.readableBytes, into: &out)
        write(out, flush: false)
        write(chunk, flush: false)
        out.clear()
        writer.writeChunkEnd(into: &out)
    }

    func park(timeout: TimeAmount) {
        handler.call = nil
        idleSince = .now()
        if idleTimer == nil { armIdleTimer(in: timeout, timeout: timeout) }
    }

    func leave() {
        idleSince = nil
    }

    private func armIdleTimer(in delay: TimeAmount, timeout: TimeAmount) {
        idleTimer = channel.eventLoop.scheduleTask(in: delay) { [weak self] in
            guard let self else { return }
            self.idleTimer = nil
            guard let since = self.idleSince else { return } // in use: the next park arms it again
            let due = since + timeout
            if due > .now() {
                self.armIdleTimer(in: due - .now(), timeout: timeout)
            } else {
                self.pool.remove(self)
                self.channel.close(promise: nil)
            }
        }
    }

    func release() { pool.release(self) }

    func closedWhileIdle() {
        idleTimer?.cancel()
        pool.remove(self)
    }

    /// Reads responses from the upstream's bytes and routes their parts to the call using the
    /// connection; notices the upstream closing.
    final class Handler: ChannelInboundHandler, RemovableChannelHandler {
        typealias InboundIn = ByteBuffer
        weak var connection: PooledConnection?
        var call: (any ResponseReceiver)?
        private var input = HTTP1Input(HTTP1Parser(role: .response, limits: HTTP1Limits(maxRequestLineBytes: 8 * 1024, maxHeadBytes: 256 * 1024,
                                                                                        maxFields: 1000, maxFieldBytes: 256 * 1024)))
        private var awaitingResponse = false
        /// The response being read says the connection stays open after it.
        private(set) var responseKeepsConnection = true
        /// Its place in the pipeline, for writes (set while it is in the pipeline).
        private(set) var context: ChannelHandlerContext?

        func handlerAdded(context: ChannelHandlerContext) { self.context = context }
        func handlerRemoved(context: ChannelHandlerContext) { self.context = nil }

        func expectResponse(toHEAD: Bool) {
            input.parser.requestIsHEAD = toHEAD
            awaitingResponse = true
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            var bytes = Self.unwrapInboundIn(data)
            guard let call, awaitingResponse else {
                // A response nobody asked for: the connection is broken.
                context.close(promise: nil)
                return
            }
            input.append(&bytes)
            while true {
                let step: HTTP1Parser.Step
                do {
                    step = try input.step()
                } catch {
                    input.unread.clear()
                    self.call = nil
                    call.connectionClosed(error: UpstreamProtocolError(reason: error.reason))
                    context.close(promise: nil)
                    return
                }
                switch step {
                case .needMore(let progress):
                    if !progress { return }
                case .head(let head, let bytes):
                    if head.status >= 200 { responseKeepsConnection = head.keepAlive }
                    call.receive(.head(UpstreamHead(head: head, bytes: bytes)))
                case .body(let chunk):
                    call.receive(.body(chunk))
                case .end:
                    awaitingResponse = false
                    if input.unread.readableBytes > 0 { responseKeepsConnection = false } // bytes after the response: not reusable
                    call.receive(.end)
                    return
                }
                guard self.call === call else { return } // the call let go of the connection meanwhile
            }
        }

        func channelReadComplete(context: ChannelHandlerContext) {
            call?.readBatchComplete()
            context.fireChannelReadComplete()
        }

        func channelInactive(context: ChannelHandlerContext) {
            if let call {
                self.call = nil
                // A body that ends with the connection ends here; anything else was cut short
                // (the call says "closed mid-response", or retries when nothing came yet).
                if awaitingResponse, (try? input.parser.connectionClosed()) == .end {
                    awaitingResponse = false
                    call.receive(.end)
                } else {
                    call.connectionClosed(error: nil)
                }
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

/// An upstream's bytes that are not an HTTP/1.1 response.
struct UpstreamProtocolError: Error, CustomStringConvertible {
    let reason: String
    var description: String { "malformed response: \(reason)" }
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
