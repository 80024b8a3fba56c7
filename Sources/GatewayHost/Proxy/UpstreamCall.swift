import AsyncHTTPClient
import NIOCore
import NIOHTTP1
import NIOPosix

/// Proxies one exchange to its backend over the shared, pooled HTTP client: streams the request
/// body up and the response body down, with backpressure both ways.
///
/// Sends the upstream's own Host, drops hop-by-hop headers, appends X-Forwarded-For/Proto.
/// A connect failure becomes 502, no response head within the request timeout 504.
final class UpstreamCall: HTTPClientResponseDelegate, @unchecked Sendable {
    typealias Response = Void

    private unowned let exchange: Exchange
    private let pool: BackendPool
    private let client: HTTPClient
    private let eventLoop: EventLoop
    private var task: HTTPClient.Task<Void>?
    private var writer: HTTPClient.Body.StreamWriter?
    private var bodyFinished: EventLoopPromise<Void>?
    private var pendingBody: [ByteBuffer] = []
    private var requestEnded = false
    private var headTimeout: Scheduled<Void>?
    private var isCancelled = false
    private(set) var isStreamingBody = false

    init(exchange: Exchange, pool: BackendPool) {
        self.exchange = exchange
        self.pool = pool
        self.client = pool.client
        self.eventLoop = exchange.eventLoop
    }

    /// Hop-by-hop headers (RFC 9110 §7.6.1) and the ones the client library sets itself.
    static let droppedRequestHeaders: Set<String> = [
        "connection", "keep-alive", "proxy-connection", "te", "trailer", "transfer-encoding", "upgrade",
        "host", "content-length", "proxy-authorization",
    ]
    static let droppedResponseHeaders: Set<String> = [
        "connection", "keep-alive", "proxy-connection", "te", "trailer", "transfer-encoding", "upgrade",
    ]

    func start(bufferedBody: ByteBuffer?, requestEnded: Bool) {
        self.requestEnded = requestEnded
        let head = exchange.requestHead
        let upstream = pool.pick()
        var headers = HTTPHeaders()
        let connectionTokens = Set(head.headers[canonicalForm: "connection"].map { $0.lowercased() })
        var contentLength: Int64?
        for (name, value) in head.headers {
            let lower = name.lowercased()
            if lower == "content-length" { contentLength = Int64(value) }
            if Self.droppedRequestHeaders.contains(lower) || connectionTokens.contains(lower) { continue }
            headers.add(name: name, value: value)
        }
        let peerIP = Self.ipOnly(exchange.connection.peerAddress)
        if let existing = headers.first(name: "x-forwarded-for") {
            headers.replaceOrAdd(name: "x-forwarded-for", value: "\(existing), \(peerIP)")
        } else {
            headers.add(name: "x-forwarded-for", value: peerIP)
        }
        headers.replaceOrAdd(name: "x-forwarded-proto", value: exchange.connection.isTLS ? "https" : "http")

        let body: HTTPClient.Body?
        if requestEnded {
            body = bufferedBody.map { .byteBuffer($0) }
        } else {
            isStreamingBody = true
            if let bufferedBody { pendingBody.append(bufferedBody) }
            body = .stream(contentLength: contentLength) { writer in
                // AHC calls this on our event loop once the connection is ready.
                self.eventLoop.flatSubmit { self.attach(writer) }
            }
        }
        let request: HTTPClient.Request
        do {
            request = try HTTPClient.Request(url: upstream.origin + upstream.basePath + head.uri, method: head.method,
                                             headers: headers, body: body)
        } catch {
            exchange.upstreamFailed(status: .badGateway, message: "cannot build the upstream request: \(error)")
            return
        }
        if let timeout = pool.requestTimeout {
            headTimeout = eventLoop.scheduleTask(in: timeout) { [weak self] in
                guard let self, !self.isCancelled else { return }
                self.cancel()
                self.exchange.upstreamFailed(status: .gatewayTimeout, message: "no response from \(upstream.origin) within \(timeout.nanoseconds / 1_000_000) ms")
            }
        }
        task = client.execute(request: request, delegate: self, eventLoop: .delegateAndChannel(on: eventLoop))
    }

    private func attach(_ writer: HTTPClient.Body.StreamWriter) -> EventLoopFuture<Void> {
        let finished = eventLoop.makePromise(of: Void.self)
        self.writer = writer
        self.bodyFinished = finished
        for chunk in pendingBody { _ = writer.write(.byteBuffer(chunk)) }
        pendingBody = []
        if requestEnded { finished.succeed() }
        return finished.futureResult
    }

    func sendBody(_ chunk: ByteBuffer) {
        if let writer {
            _ = writer.write(.byteBuffer(chunk))
        } else {
            pendingBody.append(chunk)
        }
    }

    func finishBody() {
        requestEnded = true
        if let bodyFinished {
            self.bodyFinished = nil
            bodyFinished.succeed()
        }
    }

    func cancel() {
        guard !isCancelled else { return }
        isCancelled = true
        headTimeout?.cancel()
        task?.cancel()
        bodyFinished?.fail(HTTPClientError.cancelled)
        bodyFinished = nil
    }

    // MARK: HTTPClientResponseDelegate (called on our event loop)

    func didReceiveHead(task: HTTPClient.Task<Void>, _ head: HTTPResponseHead) -> EventLoopFuture<Void> {
        headTimeout?.cancel()
        guard !isCancelled else { return eventLoop.makeSucceededVoidFuture() }
        var response = HTTPResponseHead(version: head.version, status: head.status)
        let connectionTokens = Set(head.headers[canonicalForm: "connection"].map { $0.lowercased() })
        for (name, value) in head.headers {
            let lower = name.lowercased()
            if Self.droppedResponseHeaders.contains(lower) || connectionTokens.contains(lower) { continue }
            response.headers.add(name: name, value: value)
        }
        return exchange.beginResponse(response, endOfStream: false)
    }

    func didReceiveBodyPart(task: HTTPClient.Task<Void>, _ buffer: ByteBuffer) -> EventLoopFuture<Void> {
        guard !isCancelled else { return eventLoop.makeSucceededVoidFuture() }
        return exchange.receiveResponseBody(buffer)
    }

    func didFinishRequest(task: HTTPClient.Task<Void>) throws {
        guard !isCancelled else { return }
        exchange.receiveResponseEnd()
    }

    func didReceiveError(task: HTTPClient.Task<Void>, _ error: Error) {
        headTimeout?.cancel()
        guard !isCancelled else { return }
        isCancelled = true
        let (status, reason) = Self.classify(error)
        exchange.upstreamFailed(status: status, message: reason)
    }

    static func classify(_ error: Error) -> (HTTPResponseStatus, String) {
        if let error = error as? HTTPClientError {
            switch error {
            case .connectTimeout: return (.gatewayTimeout, "upstream connect timeout")
            case .readTimeout, .deadlineExceeded: return (.gatewayTimeout, "upstream timeout")
            case .remoteConnectionClosed: return (.badGateway, "upstream closed the connection")
            default: return (.badGateway, "upstream error: \(error)")
            }
        }
        if error is NIOConnectionError || "\(error)".contains("connect") {
            return (.badGateway, "upstream unreachable: \(error)")
        }
        return (.badGateway, "upstream error: \(error)")
    }

    static func ipOnly(_ address: String) -> String {
        if address.hasPrefix("[") { return String(address.dropFirst().prefix { $0 != "]" }) }
        if let colon = address.lastIndex(of: ":"), address.firstIndex(of: ":") == colon { return String(address[..<colon]) }
        return address
    }
}
