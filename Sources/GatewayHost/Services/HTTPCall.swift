import AsyncHTTPClient
import NIOCore
import NIOHTTP1
import PluginABI

/// An HTTP call a plugin asked for (`http_call`). The response comes back as events on the
/// calling scope: one `HTTP_RESPONSE` with the whole body, or, when streamed, `HTTP_RESPONSE`
/// followed by `HTTP_BODY` chunks as they arrive (an upstream SSE stream, say).
final class HTTPCall: HTTPClientResponseDelegate, @unchecked Sendable {
    typealias Response = Void

    /// A buffered call's body beyond this fails with AGW_CALL_FAILED_LIMIT.
    static let maxBufferedBytes = 16 * 1024 * 1024

    private weak var scope: AsyncScope?
    private let id: UInt64
    private let streaming: Bool
    private var task: HTTPClient.Task<Void>?
    private var head: HTTPResponseHead?
    private var body: ByteBuffer?
    private var timeout: Scheduled<Void>?
    private var isDone = false

    private init(scope: AsyncScope, id: UInt64, streaming: Bool) {
        self.scope = scope
        self.id = id
        self.streaming = streaming
    }

    static func start(scope: AsyncScope, request: agw_http_call_request, callID: UnsafeMutablePointer<UInt64>) -> agw_result {
        let method = request.method.len == 0 ? "GET" : request.method.string
        var headers = HTTPHeaders()
        for (name, value) in HostAPI.pairs(request.headers, request.header_count) { headers.add(name: name, value: value) }
        let body: HTTPClient.Body? = request.body.len > 0 ? .byteBuffer(ByteBuffer(bytes: request.body.rawBuffer)) : nil
        let clientRequest: HTTPClient.Request
        do {
            clientRequest = try HTTPClient.Request(url: request.url.string, method: HTTPMethod(rawValue: method), headers: headers, body: body)
        } catch {
            return AGW_ERR_INVALID_ARGUMENT
        }
        let id = scope.makeID()
        let call = HTTPCall(scope: scope, id: id, streaming: request.flags & AGW_HTTP_CALL_STREAM_BODY != 0)
        scope.register(call: call, id: id)
        let timeoutMilliseconds = request.timeout_ms == 0 ? 30_000 : Int64(request.timeout_ms)
        call.timeout = scope.eventLoop.scheduleTask(in: .milliseconds(timeoutMilliseconds)) { [weak call] in
            call?.fail(code: AGW_CALL_FAILED_TIMEOUT, message: "no response within \(timeoutMilliseconds) ms")
        }
        call.task = ProcessWide.httpClient.execute(request: clientRequest, delegate: call, eventLoop: .delegateAndChannel(on: scope.eventLoop))
        callID.pointee = id
        return AGW_OK
    }

    /// Cancelled by the plugin or with its scope: no further events.
    func cancel() {
        guard !isDone else { return }
        isDone = true
        timeout?.cancel()
        task?.cancel()
        scope?.finished(callID: id)
    }

    private func fail(code: Int32, message: String) {
        guard !isDone else { return }
        isDone = true
        timeout?.cancel()
        task?.cancel()
        scope?.finished(callID: id)
        scope?.deliver(PluginEvent(type: AGW_EVENT_HTTP_FAILED, id: id, code: code, text: message))
    }

    private func responseEvent(endOfStream: Bool, body: ByteBuffer?) -> PluginEvent {
        let head = self.head!
        return PluginEvent(type: AGW_EVENT_HTTP_RESPONSE, id: id, code: Int32(head.status.code), endOfStream: endOfStream,
                           headers: head.headers.map { ($0.name, $0.value) }, data: body)
    }

    func didReceiveHead(task: HTTPClient.Task<Void>, _ head: HTTPResponseHead) -> EventLoopFuture<Void> {
        self.head = head
        if streaming, !isDone {
            timeout?.cancel()
            scope?.deliver(responseEvent(endOfStream: false, body: nil))
        }
        return task.eventLoop.makeSucceededVoidFuture()
    }

    func didReceiveBodyPart(task: HTTPClient.Task<Void>, _ buffer: ByteBuffer) -> EventLoopFuture<Void> {
        guard !isDone else { return task.eventLoop.makeSucceededVoidFuture() }
        if streaming {
            scope?.deliver(PluginEvent(type: AGW_EVENT_HTTP_BODY, id: id, data: buffer))
        } else {
            var buffer = buffer
            if body == nil { body = buffer } else { body!.writeBuffer(&buffer) }
            if body!.readableBytes > Self.maxBufferedBytes {
                fail(code: AGW_CALL_FAILED_LIMIT, message: "response body over \(Self.maxBufferedBytes) bytes; use AGW_HTTP_CALL_STREAM_BODY")
            }
        }
        return task.eventLoop.makeSucceededVoidFuture()
    }

    func didFinishRequest(task: HTTPClient.Task<Void>) throws {
        guard !isDone else { return }
        isDone = true
        timeout?.cancel()
        scope?.finished(callID: id)
        if streaming {
            scope?.deliver(PluginEvent(type: AGW_EVENT_HTTP_BODY, id: id, endOfStream: true))
        } else {
            scope?.deliver(responseEvent(endOfStream: true, body: body))
        }
    }

    func didReceiveError(task: HTTPClient.Task<Void>, _ error: Error) {
        switch error as? HTTPClientError {
        case .connectTimeout?, .readTimeout?, .deadlineExceeded?:
            fail(code: AGW_CALL_FAILED_TIMEOUT, message: "\(error)")
        case .remoteConnectionClosed?:
            fail(code: AGW_CALL_FAILED_PROTOCOL, message: "the server closed the connection")
        default:
            fail(code: AGW_CALL_FAILED_CONNECT, message: "\(error)")
        }
    }
}
