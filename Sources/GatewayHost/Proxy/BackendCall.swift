import NIOCore
import NIOHTTP1
import NIOPosix
import Tracing

/// Proxies one exchange to its backend over a loop-local keep-alive connection: streams the
/// request body up and the response body down, pausing upstream reads while the client is slow.
///
/// Sends the upstream's own Host, drops hop-by-hop headers, appends X-Forwarded-For/Proto.
/// Connect failure → 502; no response head within the request timeout → 504; an idle keep-alive
/// connection that turns out closed is retried once on a fresh one when the body can be resent.
final class BackendCall: ResponseReceiver, TimedCall {
    private unowned let exchange: Exchange
    private let backend: BackendPool
    private let eventLoop: EventLoop
    private var endpointIndex = 0
    private var connection: PooledConnection?
    /// The request head as written to the upstream.
    private var headBytes = ByteBuffer()
    private var isChunked = false
    private var isHEAD = false
    /// The whole body when the request ended before the call started (resendable on retry).
    private var bufferedBody: ByteBuffer?
    private var pendingBody: [ByteBuffer] = []
    private var requestEnded = false
    private var endWritten = false
    private var headTimeout: UInt64?
    private var responseStarted = false
    private var isDone = false
    private var retried = false
    private var readsPaused = false
    /// When the request went to the pool (monotonic nanoseconds), for the upstream duration.
    private var startedAt: UInt64 = 0
    /// The client span of a traced request's upstream call.
    private var span: (any Span)?
    private var responseStatus = 0

    init(exchange: Exchange, pool: BackendPool) {
        self.exchange = exchange
        self.backend = pool
        self.eventLoop = exchange.eventLoop
    }

    /// Whether a request field is not forwarded as it came: hop-by-hop fields (RFC 9110 §7.6.1),
    /// and the ones the call sets itself (framing, Host) or consumes (`proxy-authorization`,
    /// `expect`).
    static func isDropped(_ name: UnsafeRawBufferPointer) -> Bool {
        if FieldName.isHopByHop(name) { return true }
        switch name.count {
        case 4: return FieldName.bytes(name, are: "host")
        case 6: return FieldName.bytes(name, are: "expect")
        case 14: return FieldName.bytes(name, are: "content-length")
        case 19: return FieldName.bytes(name, are: "proxy-authorization")
        default: return false
        }
    }

    func start(bufferedBody: ByteBuffer?, requestEnded: Bool) {
        self.requestEnded = requestEnded
        let request = exchange.requestHead
        endpointIndex = backend.pickIndex()
        let upstream = backend.endpoints[endpointIndex]
        exchange.upstreamName = backend.endpointNames[endpointIndex]

        // The upstream request's head, written as bytes once (and again as is on a retry).
        var child: (span: any Span, traceparent: String, tracestate: String?)?
        if let trace = exchange.trace, let started = exchange.services.tracer?.child(of: trace, "\(request.method.rawValue) \(backend.endpointNames[endpointIndex])") {
            child = (started.span, started.traceparent, started.tracestate)
            let url = backend.endpointNames[endpointIndex] + upstream.basePath + request.uri
            started.span.updateAttributes { attributes in // one update (see Exchange.endSpan)
                attributes["http.request.method"] = request.method.rawValue
                attributes["server.address"] = upstream.origin.host
                attributes["server.port"] = upstream.origin.port
                attributes["url.full"] = url
            }
            span = started.span
        }
        var out = exchange.services.allocator.buffer(capacity: 512)
        // The request line and `host` in one reservation (a `ByteBuffer` write per piece costs
        // more in bookkeeping than in copying).
        let method = request.method.rawValue, basePath = upstream.basePath, target = request.uri, host = upstream.hostHeader
        let requestLineEnd: StaticString = " HTTP/1.1\r\nhost: ", crlf: StaticString = "\r\n"
        // Bounds: exactly the bytes written below.
        let lineSize = method.utf8.count + 1 + basePath.utf8.count + target.utf8.count + requestLineEnd.utf8CodeUnitCount
            + host.utf8.count + crlf.utf8CodeUnitCount
        out.writeWithUnsafeMutableBytes(minimumWritableBytes: lineSize) { room in
            var at = HeadBytes.copy(method, to: room, at: 0)
            room[at] = UInt8(ascii: " ")
            at += 1
            at += HeadBytes.copy(basePath, to: room, at: at)
            at += HeadBytes.copy(target, to: room, at: at)
            at += HeadBytes.copy(requestLineEnd, to: room, at: at)
            at += HeadBytes.copy(host, to: room, at: at)
            return at + HeadBytes.copy(crlf, to: room, at: at)
        }
        let connectionTokens = request.headers[canonicalForm: "connection"].map(String.init)
        var contentLength: String?
        var forwardedFor: String?
        let traced = child != nil
        // The client's fields are copied as bytes; a `String` only for the ones the call reads.
        request.headers.write(into: &out) { name, value in
            if FieldName.bytes(name, are: "content-length") {
                contentLength = String(decoding: value, as: UTF8.self)
                return false
            }
            if Self.isDropped(name) || connectionTokens.contains(where: { FieldName.string($0, equals: name) }) { return false }
            if FieldName.bytes(name, are: "x-forwarded-for") {
                let value = String(decoding: value, as: UTF8.self)
                forwardedFor = forwardedFor.map { "\($0), \(value)" } ?? value
                return false
            }
            if traced, FieldName.bytes(name, are: "traceparent") || FieldName.bytes(name, are: "tracestate") { return false }
            return true
        }
        let peerIP = exchange.connection.peerIP
        HeadBytes.writeField("x-forwarded-for", forwardedFor.map { "\($0), \(peerIP)" } ?? peerIP, into: &out)
        out.writeStaticString(exchange.connection.isTLS ? "x-forwarded-proto: https\r\n" : "x-forwarded-proto: http\r\n")
        if let child {
            HeadBytes.writeField("traceparent", child.traceparent, into: &out)
            if let state = child.tracestate { HeadBytes.writeField("tracestate", state, into: &out) }
        }
        isChunked = false
        if requestEnded {
            let length = bufferedBody?.readableBytes ?? 0
            if length > 0 || contentLength != nil { HeadBytes.writeField("content-length", String(length), into: &out) }
            self.bufferedBody = bufferedBody
        } else {
            if let contentLength {
                HeadBytes.writeField("content-length", contentLength, into: &out)
            } else {
                out.writeStaticString("transfer-encoding: chunked\r\n")
                isChunked = true
            }
            if let bufferedBody { pendingBody.append(bufferedBody) }
        }
        out.writeStaticString("\r\n")
        headBytes = out
        isHEAD = request.method == .HEAD

        let pool = backend.pool(endpointIndex, on: eventLoop)
        startedAt = NIODeadline.now().uptimeNanoseconds
        if let timeouts = pool.headTimeouts { headTimeout = timeouts.start(self) }
        if let idle = pool.takeIdle() { attach(idle) } else { connect(pool.connect()) }
    }

    private func connect(_ future: EventLoopFuture<PooledConnection>) {
        future.whenAcquired(unlessDone: { [self] in isDone }, use: { [self] in attach($0) }, failed: { [self] error, timedOut in
            finish()
            backend.upstreamMetrics[endpointIndex].connectFailures.increment()
            let upstream = backend.endpoints[endpointIndex].origin
            exchange.upstreamFailed(status: timedOut ? .gatewayTimeout : .badGateway,
                                    message: "upstream \(upstream.host):\(upstream.port) unreachable: \(error)")
        })
    }

    private func attach(_ connection: PooledConnection) {
        self.connection = connection
        connection.handler.call = self
        let sendsEnd = requestEnded && pendingBody.isEmpty
        connection.sendRequest(encodedHead: headBytes, chunked: isChunked, toHEAD: isHEAD, body: bufferedBody, end: sendsEnd)
        for chunk in pendingBody { connection.sendBody(chunk) }
        pendingBody = []
        if requestEnded {
            endWritten = true
            if !sendsEnd { connection.sendEnd() }
        }
    }

    func sendBody(_ chunk: ByteBuffer) {
        guard !isDone else { return }
        if let connection {
            connection.sendBody(chunk)
        } else {
            pendingBody.append(chunk)
        }
    }

    func finishBody() {
        requestEnded = true
        guard !isDone, let connection, !endWritten else { return }
        endWritten = true
        connection.sendEnd()
    }

    /// The exchange no longer wants the response (client gone, local reply): a connection in the
    /// middle of a response cannot be reused, so it is closed.
    func cancel() {
        guard !isDone else { return }
        abandonConnection()
        finish()
    }

    // MARK: from the connection

    func receive(_ part: UpstreamPart) {
        guard !isDone else { return }
        switch part {
        case .head(let upstream) where upstream.status < 200 && upstream.status != 101:
            break // an informational response (100 Continue, 103 Early Hints): the final one follows
        case .head(let upstream):
            cancelHeadTimeout()
            responseStarted = true
            responseStatus = upstream.status
            if let pending = exchange.beginResponse(forwarding: upstream, endOfStream: false) { pauseReadsUntil(pending) }
        case .body(let chunk):
            if let pending = exchange.receiveResponseBody(chunk) { pauseReadsUntil(pending) }
        case .end:
            let connection = self.connection
            finish()
            backend.upstreamMetrics[endpointIndex].duration.record(Double(NIODeadline.now().uptimeNanoseconds &- startedAt) / 1e9)
            if let connection {
                connection.handler.call = nil
                if connection.isReusable, endWritten {
                    if readsPaused {
                        readsPaused = false
                        connection.channel.setOption(.autoRead, value: true).whenFailure { _ in }
                    }
                    connection.release()
                } else {
                    connection.channel.close(promise: nil)
                }
            }
            exchange.receiveResponseEnd()
        }
    }

    /// One read from the upstream was processed: send the client what it produced, in one flush.
    func readBatchComplete() {
        exchange.flushResponse()
    }

    func connectionClosed(error: Error?) {
        guard !isDone else { return }
        connection = nil
        if let malformed = error as? UpstreamProtocolError {
            finish()
            exchange.upstreamFailed(status: .badGateway, message: "upstream sent a \(malformed)")
            return
        }
        // A reused keep-alive connection the upstream had closed: send again on a fresh one.
        if !responseStarted, !retried, requestEnded, pendingBody.isEmpty {
            retried = true
            endWritten = false
            connect(backend.pool(endpointIndex, on: eventLoop).connect())
            return
        }
        finish()
        let reason = error.map { "\($0)" } ?? "connection closed"
        exchange.upstreamFailed(status: .badGateway, message: responseStarted
            ? "upstream closed the connection mid-response (\(reason))" : "upstream closed the connection before responding (\(reason))")
    }

    // MARK: helpers

    /// Stops reading the upstream until the client has taken what was written, when the client
    /// is behind (its outbound buffer is over NIO's high-water mark).
    private func pauseReadsUntil(_ written: EventLoopFuture<Void>) {
        var isWritten = false
        written.whenComplete { [weak self] _ in
            isWritten = true
            guard let self, self.readsPaused else { return }
            self.readsPaused = false
            if let channel = self.connection?.channel {
                channel.setOption(.autoRead, value: true).whenSuccess { channel.read() }
            }
        }
        if !isWritten, let channel = connection?.channel {
            // Pause first: the flush may complete the write at once, and its callback resumes.
            readsPaused = true
            channel.setOption(.autoRead, value: false).whenFailure { _ in }
            exchange.flushResponse()
        }
    }

    private func abandonConnection() {
        guard let connection else { return }
        connection.handler.call = nil
        connection.channel.close(promise: nil)
        self.connection = nil
    }

    private func finish() {
        isDone = true
        cancelHeadTimeout()
        connection = nil
        if let span {
            self.span = nil
            if responseStatus > 0 { span.attributes["http.response.status_code"] = responseStatus }
            if responseStatus == 0 || responseStatus >= 500 {
                span.setStatus(SpanStatus(code: .error, message: responseStatus == 0 ? "no response" : "HTTP \(responseStatus)"))
            }
            span.end()
        }
    }

    private func cancelHeadTimeout() {
        guard let token = headTimeout else { return }
        headTimeout = nil
        backend.pool(endpointIndex, on: eventLoop).headTimeouts?.cancel(token)
    }

    /// No response head within the backend's request timeout.
    func headTimedOut() {
        headTimeout = nil
        guard !isDone, !responseStarted else { return }
        abandonConnection()
        finish()
        let origin = backend.endpoints[endpointIndex].origin
        exchange.upstreamFailed(status: .gatewayTimeout, message:
            "no response from \(origin.host):\(origin.port) within \((backend.requestTimeout?.nanoseconds ?? 0) / 1_000_000) ms")
    }

    static func ipOnly(_ address: String) -> String {
        if address.hasPrefix("[") { return String(address.dropFirst().prefix { $0 != "]" }) }
        if let colon = address.lastIndex(of: ":"), address.firstIndex(of: ":") == colon { return String(address[..<colon]) }
        return address
    }
}
