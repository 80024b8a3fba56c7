import Synchronization
import NIOCore
import NIOHTTP1
import NIOSSL
import ABIInterop
import PluginABI
import Tracing
import HTTP1

/// An HTTP call a plugin asked for (`http_call`). The response comes back as events on the
/// calling scope: one `HTTP_RESPONSE` with the whole body, or, when streamed, `HTTP_RESPONSE`
/// followed by `HTTP_BODY` chunks as they arrive (an upstream SSE stream, say).
///
/// Runs on the scope's event loop over the same loop-local keep-alive pools as the proxy
/// (`HTTPCallPools`), so a call costs no thread hop and reuses connections.
final class HTTPCall: ResponseReceiver, TimedCall {
    /// A buffered call's body beyond this fails with AGW_CALL_FAILED_LIMIT.
    static let maxBufferedBytes = 16 * 1024 * 1024

    private weak var scope: AsyncScope?
    private let id: UInt64
    private let streaming: Bool
    /// AGW_HTTP_CALL_WHOLE_WHEN_READY: a response whole within the read of its head goes out as one event.
    private let wholeWhenReady: Bool
    private let pool: ConnectionPool
    private let head: CallRequestHead
    /// The request body when it was too large to go in ``head``'s buffer.
    private let body: ByteBuffer?
    private var connection: PooledConnection?
    private var responseHead: UpstreamHead?
    private var received: ByteBuffer?
    /// Streaming: the last body chunk of the current read, held until the read ends or the
    /// response does, so the last chunk and the end reach the plugin as one event, not two.
    private var heldChunk: ByteBuffer?
    /// The head, held with ``heldChunk`` while the response may still end within this read.
    private var headHeld = false
    /// The call's place in its loop's table of calls with its timeout (no timer per call).
    private var timeout: (table: HeadTimeouts, id: UInt64)?
    private var timeoutMilliseconds: Int64 = 0
    private var isDone = false
    private var retried = false
    /// The client span when the calling stream's request is traced.
    private var span: (any Span)?

    private init(scope: AsyncScope, id: UInt64, flags: UInt32, pool: ConnectionPool, head: CallRequestHead, body: ByteBuffer?) {
        self.scope = scope
        self.id = id
        streaming = flags & AGW_HTTP_CALL_STREAM_BODY != 0
        wholeWhenReady = streaming && flags & AGW_HTTP_CALL_WHOLE_WHEN_READY != 0
        self.pool = pool
        self.head = head
        self.body = body
    }

    static func start(scope: AsyncScope, request: agw_http_call_request, callID: UnsafeMutablePointer<UInt64>) -> agw_result {
        let timeoutMilliseconds = request.timeout_ms == 0 ? 30_000 : Int64(request.timeout_ms)
        guard let (target, pool, timeouts) = ProcessWide.httpCallPools.route(url: request.url.rawBuffer, timeoutMilliseconds: timeoutMilliseconds,
                                                                             on: scope.eventLoop),
              HeaderValidation.areValid(request.headers, request.header_count),
              var head = CallRequestHead(request: request, target: target) else {
            return AGW_ERR_INVALID_ARGUMENT
        }
        // A call made for a traced request carries its trace: a child span when it is sampled,
        // else the client's trace as it came (unless the plugin set its own headers).
        var span: (any Span)?
        if case .stream(let exchange, let stage)? = scope.owner, let trace = exchange.trace, !head.hasTraceparent {
            let method = request.method.len == 0 ? "GET" : request.method.string
            if let child = exchange.services.tracer?.child(of: trace, "\(method) \(target.origin.scheme)://\(target.hostHeader)") {
                head.add("traceparent", child.traceparent)
                if let state = child.tracestate { head.add("tracestate", state) }
                let caller = exchange.stage(stage).instanceName
                child.span.updateAttributes { attributes in // one update (see Exchange.endSpan)
                    attributes["http.request.method"] = method
                    attributes["server.address"] = target.origin.host
                    attributes["server.port"] = target.origin.port
                    attributes["url.full"] = request.url.string
                    attributes["agw.caller"] = caller
                }
                span = child.span
            } else if !trace.sampled, let outgoing = trace.outgoing {
                head.add("traceparent", outgoing.traceparent)
                if let state = outgoing.tracestate { head.add("tracestate", state) }
            }
        }
        let body = head.finish(body: request.body.rawBuffer)
        let id = scope.makeID()
        let call = HTTPCall(scope: scope, id: id, flags: request.flags, pool: pool, head: head, body: body)
        call.span = span
        scope.register(call: call, id: id)
        call.timeoutMilliseconds = timeoutMilliseconds
        call.timeout = (timeouts, timeouts.start(call))
        if let idle = pool.takeIdle() { call.use(idle) } else { call.connect(pool.connect()) }
        callID.pointee = id
        return AGW_OK
    }

    private func use(_ connection: PooledConnection) {
        self.connection = connection
        connection.handler.call = self
        connection.sendRequest(encodedHead: head.bytes, chunked: false, toHEAD: head.isHEAD, body: body, end: true)
    }

    private func connect(_ future: EventLoopFuture<PooledConnection>) {
        future.whenAcquired(unlessDone: { [self] in isDone }, use: { [self] connection in
            use(connection)
        }, failed: { [self] error, timedOut in
            fail(code: timedOut ? AGW_CALL_FAILED_TIMEOUT : AGW_CALL_FAILED_CONNECT,
                 message: "cannot connect to \(pool.origin.host):\(pool.origin.port): \(error)")
        })
    }

    func headTimedOut() {
        timeout = nil
        fail(code: AGW_CALL_FAILED_TIMEOUT, message: "no response within \(timeoutMilliseconds) ms")
    }

    private func cancelTimeout() {
        guard let timeout else { return }
        self.timeout = nil
        timeout.table.cancel(timeout.id)
    }

    /// Cancelled by the plugin or with its scope: no further events.
    func cancel() {
        guard !isDone else { return }
        heldChunk = nil
        headHeld = false
        finish(keepConnection: false)
    }

    private func fail(code: Int32, message: String) {
        guard !isDone else { return }
        deliverHeld() // what arrived before the failure, in order
        guard !isDone else { return } // the plugin cancelled the call meanwhile: no further events
        span?.setStatus(SpanStatus(code: .error, message: message))
        finish(keepConnection: false)
        scope?.deliver(HostEvent(type: AGW_EVENT_HTTP_FAILED, id: id, code: code, text: message))
    }

    private func finish(keepConnection: Bool) {
        isDone = true
        cancelTimeout()
        if let span {
            self.span = nil
            if let status = responseHead?.status {
                span.attributes["http.response.status_code"] = Int(status)
                if status >= 500 { span.setStatus(SpanStatus(code: .error, message: "HTTP \(status)")) }
            }
            span.end()
        }
        scope?.finished(callID: id)
        guard let connection else { return }
        self.connection = nil
        connection.handler.call = nil
        if keepConnection { connection.release() } else { connection.channel.close(promise: nil) }
    }

    private func responseEvent(endOfStream: Bool, body: ByteBuffer?) -> HostEvent {
        let head = responseHead!
        return HostEvent(type: AGW_EVENT_HTTP_RESPONSE, id: id, code: Int32(head.status), endOfStream: endOfStream,
                         upstreamHead: head, data: body)
    }

    // MARK: from the connection

    func receive(_ part: UpstreamPart) {
        guard !isDone else { return }
        switch part {
        case .head(let head) where head.status < 200:
            break // informational; the final head follows
        case .head(let head):
            responseHead = head
            if streaming {
                cancelTimeout()
                if wholeWhenReady { headHeld = true } else { scope?.deliver(responseEvent(endOfStream: false, body: nil)) }
            }
        case .body(var chunk):
            if streaming {
                if !(headHeld && heldChunk == nil) { deliverHeld() }
                heldChunk = chunk
            } else {
                if received == nil { received = chunk } else { received!.writeBuffer(&chunk) }
                if received!.readableBytes > Self.maxBufferedBytes {
                    fail(code: AGW_CALL_FAILED_LIMIT, message: "response body over \(Self.maxBufferedBytes) bytes; use AGW_HTTP_CALL_STREAM_BODY")
                }
            }
        case .end:
            finish(keepConnection: connection?.isReusable ?? false)
            if streaming {
                let last = heldChunk
                heldChunk = nil
                if headHeld {
                    headHeld = false
                    scope?.deliver(responseEvent(endOfStream: true, body: last))
                } else {
                    scope?.deliver(HostEvent(type: AGW_EVENT_HTTP_BODY, id: id, endOfStream: true, data: last))
                }
            } else {
                scope?.deliver(responseEvent(endOfStream: true, body: received))
            }
        }
    }

    func readBatchComplete() {
        deliverHeld()
    }

    /// What this read held back (the head, the last chunk), once it is clear the response goes on.
    private func deliverHeld() {
        guard !isDone else { return }
        if headHeld {
            headHeld = false
            scope?.deliver(responseEvent(endOfStream: false, body: nil))
        }
        guard !isDone, let chunk = heldChunk else { return }
        heldChunk = nil
        scope?.deliver(HostEvent(type: AGW_EVENT_HTTP_BODY, id: id, data: chunk))
    }

    func connectionClosed(error: Error?) {
        guard !isDone else { return }
        connection = nil
        if let malformed = error as? UpstreamProtocolError {
            fail(code: AGW_CALL_FAILED_PROTOCOL, message: "the server sent a \(malformed)")
            return
        }
        // A reused keep-alive connection the server had closed: send again on a fresh one.
        if responseHead == nil, !retried {
            retried = true
            connect(pool.connect())
            return
        }
        fail(code: AGW_CALL_FAILED_PROTOCOL, message: "the server closed the connection" + (error.map { " (\($0))" } ?? ""))
    }
}

/// Where an `http_call` goes: origin, the request target, and the Host header.
struct CallTarget {
    let origin: ConnectionPool.Origin
    let pathAndQuery: String
    let hostHeader: String

    /// Parses `scheme://[userinfo@]host[:port][/path][?query]` byte by byte (plugins call with
    /// the same few URLs over and over; `String.Index` arithmetic cost ~30k instructions a call).
    /// The path and query may hold only request-target bytes (no spaces or controls).
    init?(url: String) {
        var url = url
        guard let parsed = url.withUTF8({ CallTarget(url: UnsafeRawBufferPointer($0)) }) else { return nil }
        self = parsed
    }

    init?(url bytes: UnsafeRawBufferPointer) {
        guard let colon = bytes.firstIndex(of: UInt8(ascii: ":")), colon + 2 < bytes.count,
              bytes[colon + 1] == UInt8(ascii: "/"), bytes[colon + 2] == UInt8(ascii: "/") else { return nil }
        let scheme = String(decoding: bytes[..<colon].map { (0x41...0x5A).contains($0) ? $0 | 0x20 : $0 }, as: UTF8.self)
        guard scheme == "http" || scheme == "https" else { return nil }
        let authorityStart = colon + 3
        let pathStart = bytes[authorityStart...].firstIndex { $0 == UInt8(ascii: "/") || $0 == UInt8(ascii: "?") } ?? bytes.endIndex
        var hostStart = authorityStart
        if let at = bytes[authorityStart..<pathStart].lastIndex(of: UInt8(ascii: "@")) { hostStart = at + 1 }
        let authority = bytes[hostStart..<pathStart]
        guard !authority.isEmpty else { return nil }
        let path = bytes[pathStart...]
        guard path.allSatisfy(HTTP1Characters.isTarget) else { return nil }
        if path.isEmpty {
            pathAndQuery = "/"
        } else if path.first == UInt8(ascii: "?") {
            pathAndQuery = "/" + String(decoding: path, as: UTF8.self)
        } else {
            pathAndQuery = String(decoding: path, as: UTF8.self)
        }
        var host = authority
        var port = scheme == "https" ? 443 : 80
        var portDigits: Slice<UnsafeRawBufferPointer>?
        if authority.first == UInt8(ascii: "["), let close = authority.firstIndex(of: UInt8(ascii: "]")) {
            host = authority[(authority.startIndex + 1)..<close]
            if close + 1 < authority.endIndex {
                guard authority[close + 1] == UInt8(ascii: ":") else { return nil }
                portDigits = authority[(close + 2)...]
            }
        } else if let portColon = authority.lastIndex(of: UInt8(ascii: ":")) {
            host = authority[..<portColon]
            portDigits = authority[(portColon + 1)...]
        }
        if let portDigits {
            guard !portDigits.isEmpty, portDigits.count <= 5, portDigits.allSatisfy({ (0x30...0x39).contains($0) }) else { return nil }
            port = portDigits.reduce(0) { $0 * 10 + Int($1 - 0x30) }
        }
        guard (1...65535).contains(port), !host.isEmpty else { return nil }
        origin = .init(scheme: scheme, host: String(decoding: host, as: UTF8.self), port: port)
        hostHeader = String(decoding: authority, as: UTF8.self)
    }
}
