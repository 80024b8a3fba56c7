import NIOCore
import NIOHTTP1

/// Serves one HTTP/1.1 connection or one HTTP/2 stream: turns request parts into an `Exchange`
/// on the matched route and writes what the exchange answers.
///
/// Only adapts; routing is `RouteTable`'s job and the filter chain `Exchange`'s. Requests that
/// match no route get 404; oversized headers get 431.
///
/// On HTTP/1.1 it also does what NIO's pipelining and error handlers would (kept out of the
/// pipeline because each costs a hop per message part and two `epoll_ctl` per request): it
/// answers pipelined requests in order, answers parse errors with 400, and closes when idle once
/// the server quiesces.
final class HTTPServerHandler: ChannelInboundHandler, ExchangeResponder {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    /// The generation each new request is served by (a reload swaps it).
    private let live: LiveRuntime
    private let listener: ListenerRuntime
    private let isHTTP2: Bool
    private var context: ChannelHandlerContext?
    private var connection: ConnectionInfo?
    private var exchange: Exchange?
    /// A head waiting for the next part, so the exchange knows whether a body follows; counted
    /// in flight on its generation already.
    private var pendingHead: (HTTPRequestHead, Route, GatewayRuntime)?
    private var keepAlive = true
    /// The current request was answered already; drop its remaining parts.
    private var discarding = false
    /// HTTP/1.1: a request is in progress (its end not yet received, or its response not yet sent).
    private var requestComplete = true
    private var responseComplete = true
    /// HTTP/1.1 pipelined parts of later requests, replayed when the current one is done.
    private var queued = CircularBuffer<HTTPServerRequestPart>()
    private var isQuiescing = false
    private static let maxQueuedParts = 1024
    private var isBusy: Bool { !(requestComplete && responseComplete) }

    init(live: LiveRuntime, listener: ListenerRuntime, isHTTP2: Bool) {
        self.live = live
        self.listener = listener
        self.isHTTP2 = isHTTP2
    }

    func handlerAdded(context: ChannelHandlerContext) { self.context = context }
    func handlerRemoved(context: ChannelHandlerContext) { self.context = nil }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let part = Self.unwrapInboundIn(data)
        if !isHTTP2, !queued.isEmpty || (isBusy && part.isHead) {
            guard queued.count < Self.maxQueuedParts else {
                context.close(promise: nil)
                return
            }
            queued.append(part)
            return
        }
        process(part, context: context)
    }

    private func process(_ part: HTTPServerRequestPart, context: ChannelHandlerContext) {
        switch part {
        case .head(let head):
            discarding = false
            requestComplete = false
            responseComplete = false
            keepAlive = head.isKeepAlive && !isQuiescing
            receive(head, context: context)
        case .body(let chunk):
            guard !discarding else { return }
            startPending(endOfStream: false)
            exchange?.receiveRequestBody(chunk)
        case .end:
            requestComplete = true
            if discarding {
                discarding = false
            } else if pendingHead != nil {
                startPending(endOfStream: true)
            } else {
                exchange?.receiveRequestEnd()
            }
            requestFinished()
        }
    }

    /// When both the request and its response are done: close if asked to, else serve the next
    /// pipelined request.
    private func requestFinished() {
        guard !isHTTP2, !isBusy, let context else { return }
        if isQuiescing || !keepAlive {
            if isQuiescing { context.close(promise: nil) }
            return  // !keepAlive: writeEnd closes once the response is out
        }
        // Replay the next request's parts; stop at the head of the one after it.
        while let next = queued.first, !(next.isHead && isBusy) {
            queued.removeFirst()
            process(next, context: context)
        }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        guard !isHTTP2, event is ChannelShouldQuiesceEvent else {
            context.fireUserInboundEventTriggered(event)
            return
        }
        isQuiescing = true
        if isBusy {
            keepAlive = false  // the response in flight says `connection: close` and the connection closes after it
        } else {
            context.close(promise: nil)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        guard !isHTTP2, error is HTTPParserError else {
            context.fireErrorCaught(error)
            return
        }
        // A malformed request: answer 400 unless a response is already on its way, then close.
        if responseComplete || (exchange?.responseStarted == false) {
            exchange?.abort()
            exchange = nil
            let body = "malformed request: \(error)\n"
            var head = HTTPResponseHead(version: .http1_1, status: .badRequest)
            head.headers.add(name: "content-type", value: "text/plain; charset=utf-8")
            head.headers.add(name: "content-length", value: String(body.utf8.count))
            head.headers.add(name: "connection", value: "close")
            dropPending()
            live.runtime.services.logger.info("malformed request", metadata: ["error": "\(error)", "listener": "\(listener.name)"])
            listener.unmatched.count(method: .RAW(value: "?"), status: 400)
            context.write(Self.wrapOutboundOut(.head(head)), promise: nil)
            context.write(Self.wrapOutboundOut(.body(.byteBuffer(ByteBuffer(string: body)))), promise: nil)
            context.writeAndFlush(Self.wrapOutboundOut(.end(nil))).whenComplete { _ in context.close(promise: nil) }
        } else {
            context.close(promise: nil)
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

    private func receive(_ head: HTTPRequestHead, context: ChannelHandlerContext) {
        // From here until its exchange is over the request belongs to this generation.
        let runtime = live.acquire()
        var handedOver = false
        defer { if !handedOver { runtime.inFlight.decrement() } }
        let limits = runtime.limits
        var headerBytes = 0
        for (name, value) in head.headers { headerBytes += name.utf8.count + value.utf8.count }
        if headerBytes > limits.maxRequestHeaderBytes {
            runtime.services.logger.warning("request headers over the limit", metadata: ["bytes": "\(headerBytes)", "limit": "\(limits.maxRequestHeaderBytes)"])
            replyDirectly(head: head, status: .requestHeaderFieldsTooLarge,
                          body: "request headers exceed max_request_header_bytes (\(limits.maxRequestHeaderBytes))\n")
            return
        }
        guard let route = runtime.routes.match(listener: listener.name, head: head) else {
            replyDirectly(head: head, status: .notFound, body: "no route for \(head.method.rawValue) \(head.uri)\n")
            return
        }
        if head.headers.contains(name: "expect") {
            guard head.headers[canonicalForm: "expect"].contains(where: { $0.lowercased() == "100-continue" }) else {
                replyDirectly(head: head, status: .expectationFailed, body: "unsupported Expect\n")
                return
            }
            // Tell the client to send its body now; the upstream gets the body without Expect.
            context.writeAndFlush(Self.wrapOutboundOut(.head(HTTPResponseHead(version: head.version, status: .continue))), promise: nil)
        }
        pendingHead = (head, route, runtime)
        handedOver = true
    }

    private func startPending(endOfStream: Bool) {
        guard let (head, route, runtime) = pendingHead, let context else { return }
        pendingHead = nil
        let exchange = Exchange(id: runtime.services.makeRequestID(), route: route, head: head,
                                connection: connectionInfo(context), eventLoop: context.eventLoop,
                                services: runtime.services, responder: self, inFlight: runtime.inFlight)
        self.exchange = exchange
        exchange.start(endOfStream: endOfStream)
    }

    /// Answers without an exchange (404, 431) and discards the rest of the request.
    private func replyDirectly(head: HTTPRequestHead, status: HTTPResponseStatus, body: String) {
        guard let context else { return }
        discarding = true
        responseComplete = true
        listener.unmatched.count(method: head.method, status: Int(status.code))
        var response = HTTPResponseHead(version: head.version, status: status)
        response.headers.add(name: "content-type", value: "text/plain; charset=utf-8")
        response.headers.add(name: "content-length", value: String(body.utf8.count))
        context.write(Self.wrapOutboundOut(.head(response)), promise: nil)
        context.write(Self.wrapOutboundOut(.body(.byteBuffer(ByteBuffer(string: body)))), promise: nil)
        context.writeAndFlush(Self.wrapOutboundOut(.end(nil)), promise: nil)
    }

    private func connectionInfo(_ context: ChannelHandlerContext) -> ConnectionInfo {
        if let connection { return connection }
        let connectionChannel = isHTTP2 ? (context.channel.parent ?? context.channel) : context.channel
        let tls = listener.tlsInfo(for: connectionChannel)
        let info = ConnectionInfo(listenerName: listener.name,
                                  peerAddress: connectionChannel.remoteAddress.map(Self.format) ?? "unknown",
                                  isTLS: listener.isTLS, serverName: tls.serverName, peerSubject: tls.peerSubject,
                                  httpVersion: isHTTP2 ? "HTTP/2" : "HTTP/1.1")
        connection = info
        return info
    }

    static func format(_ address: SocketAddress) -> String {
        guard let ip = address.ipAddress, let port = address.port else { return "\(address)" }
        if case .v6 = address { return "[\(ip)]:\(port)" }
        return "\(ip):\(port)"
    }

    // MARK: ExchangeResponder

    func writeHead(_ head: HTTPResponseHead) {
        var head = head
        if head.headers.contains(name: "connection") {
            // A handler's response that says `connection: close` ends the connection after it
            // (RFC 9112 §9.6). HTTP/2 has no connection header (RFC 9113 §8.2.2): it is dropped.
            if isHTTP2 {
                head.headers.remove(name: "connection")
            } else if head.headers[canonicalForm: "connection"].contains(where: { $0.lowercased() == "close" }) {
                keepAlive = false
            }
        }
        if !keepAlive, !isHTTP2 { head.headers.replaceOrAdd(name: "connection", value: "close") }
        context?.write(Self.wrapOutboundOut(.head(head)), promise: nil)
    }

    func writeBody(_ buffer: ByteBuffer, promise: EventLoopPromise<Void>?) {
        guard let context else {
            promise?.fail(ChannelError.ioOnClosedChannel)
            return
        }
        context.write(Self.wrapOutboundOut(.body(.byteBuffer(buffer))), promise: promise)
    }

    func writeEnd() {
        guard let context else { return }
        if keepAlive || isHTTP2 {
            context.write(Self.wrapOutboundOut(.end(nil)), promise: nil)
        } else {
            context.write(Self.wrapOutboundOut(.end(nil))).whenComplete { _ in context.close(promise: nil) }
        }
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
        responseComplete = true
        requestFinished()
    }
}

extension HTTPServerRequestPart {
    var isHead: Bool {
        if case .head = self { return true }
        return false
    }
}
