import NIOCore
import NIOHTTP1

/// Serves one HTTP/2 stream (NIO's HTTP/2 codec turns its frames into HTTP/1-style parts): turns
/// the request parts into an `Exchange` on the matched route and writes what the exchange
/// answers. HTTP/1.1 connections have their own handler (``HTTP1ServerHandler``).
final class HTTP2StreamHandler: ChannelInboundHandler, ExchangeResponder {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    /// The generation each new request is served by (a reload swaps it).
    private let live: LiveRuntime
    private let listener: ListenerRuntime
    private var context: ChannelHandlerContext?
    private var exchange: Exchange?
    /// A head waiting for the next part, so the exchange knows whether a body follows; counted
    /// in flight on its generation already.
    private var pendingHead: (RequestHead, Route, GatewayRuntime)?
    /// The request was answered already; drop its remaining parts.
    private var discarding = false

    init(live: LiveRuntime, listener: ListenerRuntime) {
        self.live = live
        self.listener = listener
    }

    func handlerAdded(context: ChannelHandlerContext) { self.context = context }
    func handlerRemoved(context: ChannelHandlerContext) { self.context = nil }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch Self.unwrapInboundIn(data) {
        case .head(let head):
            discarding = false
            receive(RequestHead(head), context: context)
        case .body(let chunk):
            guard !discarding else { return }
            startPending(endOfStream: false)
            exchange?.receiveRequestBody(chunk)
        case .end:
            if discarding {
                discarding = false
            } else if pendingHead != nil {
                startPending(endOfStream: true)
            } else {
                exchange?.receiveRequestEnd()
            }
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        startPending(endOfStream: false)
        context.flush()
    }

    func channelInactive(context: ChannelHandlerContext) {
        dropPending()
        exchange?.abort()
        exchange = nil
        context.fireChannelInactive()
    }

    /// Forgets a head that never got its exchange, and its place in its generation.
    private func dropPending() {
        if let (_, _, runtime) = pendingHead { runtime.inFlight.decrement() }
        pendingHead = nil
    }

    private func receive(_ head: RequestHead, context: ChannelHandlerContext) {
        switch RequestAdmission.admit(head, live: live, listener: listener, checkHeaderBytes: true) {
        case .reply(let status, let body):
            replyDirectly(head: head, status: status, body: body)
        case .serve(let route, let runtime):
            if head.headers.contains(name: "expect") {
                guard head.headers[canonicalForm: "expect"].contains(where: { $0.lowercased() == "100-continue" }) else {
                    runtime.inFlight.decrement()
                    replyDirectly(head: head, status: .expectationFailed, body: "unsupported Expect\n")
                    return
                }
                context.writeAndFlush(Self.wrapOutboundOut(.head(HTTPResponseHead(version: head.version, status: .continue))), promise: nil)
            }
            pendingHead = (head, route, runtime)
        }
    }

    private func startPending(endOfStream: Bool) {
        guard let (head, route, runtime) = pendingHead, let context else { return }
        pendingHead = nil
        let exchange = Exchange(id: runtime.services.makeRequestID(), route: route, head: head,
                                connection: listener.connectionInfo(for: context.channel, isHTTP2: true), eventLoop: context.eventLoop,
                                services: runtime.services, responder: self, inFlight: runtime.inFlight)
        self.exchange = exchange
        exchange.start(endOfStream: endOfStream)
    }

    /// Answers without an exchange (404, 417, 431) and discards the rest of the request.
    private func replyDirectly(head: RequestHead, status: HTTPResponseStatus, body: String) {
        guard let context else { return }
        discarding = true
        listener.unmatched.count(method: head.method, status: Int(status.code))
        var response = HTTPResponseHead(version: head.version, status: status)
        response.headers.add(name: "content-type", value: "text/plain; charset=utf-8")
        response.headers.add(name: "content-length", value: String(body.utf8.count))
        context.write(Self.wrapOutboundOut(.head(response)), promise: nil)
        context.write(Self.wrapOutboundOut(.body(.byteBuffer(ByteBuffer(string: body)))), promise: nil)
        context.writeAndFlush(Self.wrapOutboundOut(.end(nil)), promise: nil)
    }

    // MARK: ExchangeResponder

    func writeHead(_ head: HTTPResponseHead) {
        var head = head
        // HTTP/2 has no connection header (RFC 9113 §8.2.2).
        head.headers.remove(name: "connection")
        context?.write(Self.wrapOutboundOut(.head(head)), promise: nil)
    }

    func writeBody(_ buffer: ByteBuffer, promise: EventLoopPromise<Void>?) {
        guard let context else {
            promise?.fail(ChannelError.ioOnClosedChannel)
            return
        }
        context.write(Self.wrapOutboundOut(.body(.byteBuffer(buffer))), promise: promise)
    }

    /// Frames carry buffers: nothing to gather into.
    func writeBody(bytes: UnsafeRawBufferPointer) -> Bool { false }

    func writeEnd() {
        context?.write(Self.wrapOutboundOut(.end(nil)), promise: nil)
    }

    func flush() { context?.flush() }

    var isWritable: Bool { context?.channel.isWritable ?? true }

    func abortResponse() {
        context?.close(promise: nil)
    }

    func exchangeFinished(_ finished: Exchange) {
        finished.inFlight?.decrement()
        guard exchange === finished else { return }
        exchange = nil
        if !finished.requestEnded { discarding = true }
    }
}

extension SocketAddress {
    /// `ip:port`, `[ip]:port` for IPv6: how logs and `x-forwarded-for` write a peer.
    var formatted: String {
        guard let ip = ipAddress, let port else { return "\(self)" }
        if case .v6 = self { return "[\(ip)]:\(port)" }
        return "\(ip):\(port)"
    }
}
