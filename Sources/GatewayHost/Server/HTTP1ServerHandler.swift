import HTTP1
import JSON
import NIOCore
import NIOHTTP1

/// Serves one HTTP/1.x connection straight from its bytes: ``HTTP1Parser`` reads requests out of
/// the socket's buffers (bodies are slices of them, never copied), an ``Exchange`` serves each,
/// and ``HTTP1ResponseWriter`` gathers its response into one write. It replaces NIO's HTTP/1
/// decoder, encoder, pipelining and error handlers, each of which cost a pipeline hop and an
/// allocation per message part.
///
/// It also bounds what a client can hold (``ConnectionTimeouts``): the time to send a head, the
/// time between body reads, the time a kept-alive connection may sit idle. Pipelined requests
/// wait in the buffer until the response before them is written (reading stops while more than
/// ``maxPipelinedBytes`` wait); a parse error is answered with its status (400, 414, 431, 501,
/// 505) and the connection closes.
final class HTTP1ServerHandler: ChannelInboundHandler, ExchangeResponder {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    /// Bytes of later requests kept while one is served, before reading pauses.
    static let maxPipelinedBytes = 64 * 1024

    private let live: LiveRuntime
    private let listener: ListenerRuntime
    private var context: ChannelHandlerContext?
    private var connection: ConnectionInfo?
    private var input: HTTP1Input
    private var writer: HTTP1ResponseWriter
    private var timeouts: ConnectionTimeouts

    // The request being served.
    private var exchange: Exchange?
    private var requestIsHEAD = false
    private var keepAlive = true
    /// The request's bytes are all read (its end parsed).
    private var requestComplete = true
    /// Some of the request's body is still to come.
    private var bodyUnread = false
    /// Its response is all written.
    private var responseComplete = true
    /// The request was answered already (a local reply, an error): its remaining body is dropped.
    private var discarding = false
    private var isQuiescing = false
    private var readsPaused = false
    /// A parse error: the connection closes once its answer is out.
    private var failed = false
    /// Bytes were written since the last flush (a flush with nothing to send still costs a trip
    /// through the channel, and a response is flushed from several places).
    private var hasUnflushedWrites = false

    private var isBusy: Bool { !(requestComplete && responseComplete) }

    init(live: LiveRuntime, listener: ListenerRuntime, allocator: ByteBufferAllocator) {
        self.live = live
        self.listener = listener
        let runtime = live.runtime
        input = HTTP1Input(HTTP1Parser(role: .request, limits: Self.parserLimits(runtime.limits)))
        writer = HTTP1ResponseWriter(allocator: allocator)
        timeouts = ConnectionTimeouts(listener.timeouts)
    }

    static func parserLimits(_ limits: Limits) -> HTTP1Limits {
        HTTP1Limits(maxRequestLineBytes: limits.maxRequestLineBytes, maxHeadBytes: limits.maxRequestHeaderBytes + limits.maxRequestLineBytes + 16 * 1024,
                    maxFields: limits.maxRequestHeaders, maxFieldBytes: limits.maxRequestHeaderBytes)
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        if context.channel.isActive { timeouts.connectionOpened(self, eventLoop: context.eventLoop) }
    }

    func channelActive(context: ChannelHandlerContext) {
        timeouts.connectionOpened(self, eventLoop: context.eventLoop)
        context.fireChannelActive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        timeouts.cancel()
        self.context = nil
    }

    // MARK: - Reading

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var bytes = Self.unwrapInboundIn(data)
        guard !failed else { return }
        input.append(&bytes)
        if !isBusy { timeouts.bytesArrived() }
        process(context: context)
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        flush()
    }

    /// Parses what it can: the current request's body, and the next requests once the current
    /// one is answered.
    private func process(context: ChannelHandlerContext) {
        while !failed {
            // A request that is read whole waits for its response before the next one is parsed.
            if requestComplete, !responseComplete {
                if input.unread.readableBytes > Self.maxPipelinedBytes, !readsPaused {
                    readsPaused = true
                    try? context.channel.syncOptions?.setOption(.autoRead, value: false)
                }
                return
            }
            let step: HTTP1Parser.Step
            do {
                step = try input.step()
            } catch {
                input.unread.clear()
                refuse(error, context: context)
                return
            }
            switch step {
            case .needMore(let progress):
                if !progress { return }
            case .head(let head, let bytes):
                receive(bytes.withUnsafeReadableBytes { RequestHead(head, in: $0) }, framing: head.framing, keepAlive: head.keepAlive, expectsContinue: head.expectsContinue, context: context)
            case .body(let chunk):
                timeouts.bodyArrived()
                if !discarding { exchange?.receiveRequestBody(chunk) }
            case .end:
                requestComplete = true
                bodyUnread = false
                timeouts.requestRead()
                if discarding {
                    discarding = false
                } else {
                    exchange?.receiveRequestEnd()
                }
                requestFinished()
            }
        }
    }

    private func receive(_ head: RequestHead, framing: HTTP1Framing, keepAlive: Bool, expectsContinue: Bool, context: ChannelHandlerContext) {
        requestComplete = false
        responseComplete = false
        bodyUnread = framing != .none
        discarding = false
        requestIsHEAD = head.method == .HEAD
        self.keepAlive = keepAlive && !isQuiescing
        timeouts.headRead(hasBody: framing != .none)
        switch RequestAdmission.admit(head, live: live, listener: listener, checkHeaderBytes: false) {
        case .reply(let status, let body):
            replyDirectly(head: head, status: status, body: body)
        case .serve(let route, let runtime):
            if head.headers.contains(name: "expect") {
                guard expectsContinue else {
                    runtime.inFlight.decrement()
                    replyDirectly(head: head, status: .expectationFailed, body: "unsupported Expect\n")
                    return
                }
                // Tell the client to send its body now; the upstream gets the body without Expect.
                if framing != .none { context.writeAndFlush(Self.wrapOutboundOut(ByteBuffer(staticString: "HTTP/1.1 100 Continue\r\n\r\n")), promise: nil) }
            }
            let exchange = Exchange(id: runtime.services.makeRequestID(), route: route, head: head,
                                    connection: connectionInfo(context), eventLoop: context.eventLoop,
                                    services: runtime.services, responder: self, inFlight: runtime.inFlight)
            self.exchange = exchange
            exchange.start(endOfStream: framing == .none)
        }
    }

    /// Answers without an exchange (404, 417, 431) and drops the rest of the request.
    private func replyDirectly(head: RequestHead, status: HTTPResponseStatus, body: String) {
        discarding = true
        listener.unmatched.count(method: head.method, status: Int(status.code))
        var response = HTTPResponseHead(version: head.version, status: status)
        response.headers.add(name: "content-type", value: "text/plain; charset=utf-8")
        response.headers.add(name: "content-length", value: String(body.utf8.count))
        writeHead(response)
        writeBody(ByteBuffer(string: body), promise: nil)
        writeEnd()
        responseComplete = true
        requestFinished()
    }

    /// A request the parser refused: its status, `connection: close`, and the connection closes.
    private func refuse(_ error: HTTP1Error, context: ChannelHandlerContext) {
        live.runtime.services.logger.info("malformed request", metadata: ["error": "\(error.reason)", "status": "\(error.status)", "listener": "\(listener.name)"])
        listener.unmatched.count(method: .RAW(value: "?"), status: error.status)
        let limits = live.runtime.limits
        let hint = switch error.kind {
        case .headersTooLarge: " ([limits] max_request_header_bytes = \(limits.maxRequestHeaderBytes), max_request_headers = \(limits.maxRequestHeaders))"
        case .targetTooLong: " ([limits] max_request_line_bytes = \(limits.maxRequestLineBytes))"
        default: ""
        }
        answerAndClose(HTTPResponseStatus(statusCode: error.status), error.reason + hint, context: context)
    }

    /// Ends the connection with `status` and a one-line body (or at once, when a response is
    /// on its way already); what the client sent beyond is never read.
    private func answerAndClose(_ status: HTTPResponseStatus, _ message: String, context: ChannelHandlerContext) {
        failed = true
        input.unread.clear()
        guard responseComplete || exchange?.responseStarted == false else {
            context.close(promise: nil)
            return
        }
        exchange?.abort()
        exchange = nil
        let body = "\(status.code) \(status.reasonPhrase): \(message)\n"
        var head = HTTPResponseHead(version: .http1_1, status: status)
        head.headers.add(name: "content-type", value: "text/plain; charset=utf-8")
        head.headers.add(name: "content-length", value: String(body.utf8.count))
        keepAlive = false
        requestIsHEAD = false
        writeHead(head)
        writeBody(ByteBuffer(string: body), promise: nil)
        writeEnd()
    }

    /// Both the request and its response are done: close if asked to, else serve what is
    /// already buffered of the next request.
    private func requestFinished() {
        guard !isBusy, let context else { return }
        exchange = nil
        if isQuiescing || !keepAlive { return } // writeEnd closes once the response is out
        input.parser.limits = Self.parserLimits(live.runtime.limits)
        timeouts.waitingForRequest(hasBytes: input.unread.readableBytes > 0)
        if readsPaused {
            readsPaused = false
            try? context.channel.syncOptions?.setOption(.autoRead, value: true)
        }
        // A pipelined request already read is served now; else the next read brings one.
        if input.unread.readableBytes > 0 { process(context: context) }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        guard event is ChannelShouldQuiesceEvent else {
            context.fireUserInboundEventTriggered(event)
            return
        }
        isQuiescing = true
        if isBusy {
            keepAlive = false // the response in flight says `connection: close`, and the connection closes after it
        } else {
            context.close(promise: nil)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        context.close(promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        timeouts.cancel()
        exchange?.abort()
        exchange = nil
        context.fireChannelInactive()
    }

    /// The connection's timer fired (``ConnectionTimeouts``): 408 while a request was being
    /// read, else close.
    func timerFired() {
        guard let context, let kind = timeouts.fired() else { return }
        listener.metrics.timeout(kind).increment()
        switch kind {
        case .requestHead where input.unread.readableBytes == 0 && input.parser.isIdle:
            context.close(promise: nil) // nothing of a request came: nothing to answer
        case .requestHead, .requestBody:
            if kind == .requestHead { listener.unmatched.count(method: .RAW(value: "?"), status: 408) }
            live.runtime.services.logger.info("client too slow", metadata: ["timeout": "\(kind.rawValue)", "listener": "\(listener.name)",
                                                                           "peer": "\(connectionInfo(context).peerAddress)"])
            answerAndClose(.requestTimeout, "the \(kind == .requestHead ? "request head" : "request body") did not arrive in time", context: context)
        default:
            context.close(promise: nil)
        }
    }

    private func connectionInfo(_ context: ChannelHandlerContext) -> ConnectionInfo {
        if let connection { return connection }
        let info = listener.connectionInfo(for: context.channel, isHTTP2: false)
        connection = info
        return info
    }

    // MARK: - ExchangeResponder

    func writeHead(_ head: HTTPResponseHead) {
        // Answered before the request was read whole (413, a handler's early answer): the rest of
        // the body is not read to find the next request; the connection closes after the response.
        if bodyUnread { keepAlive = false }
        // A response that says `connection: close` ends the connection after it (RFC 9112 §9.6).
        if head.headers.contains(name: "connection"),
           head.headers[canonicalForm: "connection"].contains(where: { $0.lowercased() == "close" }) {
            keepAlive = false
        }
        if !writer.writeHead(head, requestIsHEAD: requestIsHEAD, closing: !keepAlive) { keepAlive = false }
    }

    func writeHead(forwarding upstream: UpstreamHead, version: HTTPVersion) {
        if bodyUnread { keepAlive = false }
        // The upstream's `connection` field is hop-by-hop: not forwarded, and not this connection's.
        if !writer.writeHead(forwarding: upstream, version: version, requestIsHEAD: requestIsHEAD, closing: !keepAlive) { keepAlive = false }
    }

    func writeBody(_ buffer: ByteBuffer, promise: EventLoopPromise<Void>?) {
        guard let context else {
            promise?.fail(ChannelError.ioOnClosedChannel)
            return
        }
        guard let large = writer.writeBody(buffer, gather: promise == nil) else {
            promise?.succeed()
            return
        }
        if let gathered = writer.takePending() { context.write(NIOAny(gathered), promise: nil) }
        context.write(NIOAny(large), promise: promise)
        hasUnflushedWrites = true
        writer.chunkWritten()
    }

    func writeBody(bytes: UnsafeRawBufferPointer) -> Bool {
        context != nil && writer.writeBody(bytes: bytes)
    }

    func writeEnd() {
        writer.writeEnd()
        guard let context else { return }
        if keepAlive, !failed {
            if let gathered = writer.takePending() {
                context.write(NIOAny(gathered), promise: nil)
                hasUnflushedWrites = true
            }
        } else {
            hasUnflushedWrites = false
            let gathered = writer.takePending() ?? ByteBuffer()
            let loopBound = NIOLoopBound(context, eventLoop: context.eventLoop) // closed on its loop once written
            context.writeAndFlush(NIOAny(gathered)).whenComplete { _ in loopBound.value.close(promise: nil) }
        }
    }

    func flush() {
        guard let context else { return }
        if let gathered = writer.takePending() {
            context.write(NIOAny(gathered), promise: nil)
        } else if !hasUnflushedWrites {
            return
        }
        hasUnflushedWrites = false
        context.flush()
    }

    var isWritable: Bool { context?.channel.isWritable ?? true }

    func abortResponse() {
        context?.close(promise: nil)
    }

    func exchangeFinished(_ finished: Exchange) {
        finished.inFlight?.decrement()
        guard exchange === finished else { return }
        if !requestComplete { discarding = true }
        responseComplete = true
        requestFinished()
    }
}

/// Request methods from their bytes without a `String` for the common ones.
enum HTTPMethodBytes {
    static func method(_ bytes: UnsafeRawBufferPointer) -> HTTPMethod {
        switch bytes.count {
        case 3 where bytes.isExactly("GET"): return .GET
        case 3 where bytes.isExactly("PUT"): return .PUT
        case 4 where bytes.isExactly("POST"): return .POST
        case 4 where bytes.isExactly("HEAD"): return .HEAD
        case 5 where bytes.isExactly("PATCH"): return .PATCH
        case 6 where bytes.isExactly("DELETE"): return .DELETE
        case 7 where bytes.isExactly("OPTIONS"): return .OPTIONS
        default: return HTTPMethod(rawValue: String(decoding: bytes, as: UTF8.self))
        }
    }
}
