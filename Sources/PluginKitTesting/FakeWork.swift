import ABIInterop
import PluginABI
import PluginKit

/// An HTTP call a plugin made (`http_call`): the test reads the request and answers it.
public final class FakeHTTPCall {
    public let method: String
    public let url: String
    public let headers: [(name: String, value: String)]
    public let body: [UInt8]
    /// The plugin asked for the body in chunks (`AGW_HTTP_CALL_STREAM_BODY`).
    public let streamsBody: Bool
    public let timeoutMilliseconds: UInt32
    /// Answered, failed or cancelled: no more events.
    public private(set) var isFinished = false
    /// The plugin cancelled it.
    public private(set) var isCancelled = false
    let id: UInt64
    let scope: FakeScope
    private var headSent = false

    init(id: UInt64, scope: FakeScope, request: agw_http_call_request) {
        self.id = id
        self.scope = scope
        method = request.method.string
        url = request.url.string
        headers = (0..<request.header_count).compactMap { index in request.headers.map { ($0[index].name.string, $0[index].value.string) } }
        body = request.body.bytes
        streamsBody = request.flags & AGW_HTTP_CALL_STREAM_BODY != 0
        timeoutMilliseconds = request.timeout_ms
    }

    /// The request body as text.
    public var bodyText: String { String(decoding: body, as: UTF8.self) }

    /// The first value of a request header (ASCII case-insensitive).
    public func header(_ name: String) -> String? { headers.first { $0.name.lowercased() == name.lowercased() }?.value }

    /// The whole answer: head and body (in one `.httpBody` chunk when the call streams).
    public func respond(status: Int, headers: [(String, String)] = [], body: [UInt8] = []) {
        if streamsBody {
            respondHead(status: status, headers: headers)
            send(body, end: true)
        } else {
            guard !isFinished else { return }
            isFinished = true
            scope.deliver(type: AGW_EVENT_HTTP_RESPONSE, id: id, code: Int32(status), endOfStream: true, headers: headers, data: body)
        }
    }

    /// ``respond(status:headers:body:)`` with a text body.
    public func respond(status: Int, headers: [(String, String)] = [], text: String) {
        respond(status: status, headers: headers, body: Array(text.utf8))
    }

    /// A streamed call's head; chunks follow with ``send(_:end:)``.
    public func respondHead(status: Int, headers: [(String, String)] = []) {
        guard !isFinished, !headSent else { return }
        headSent = true
        scope.deliver(type: AGW_EVENT_HTTP_RESPONSE, id: id, code: Int32(status), endOfStream: false, headers: headers)
    }

    /// A streamed call's next chunk (`end`: the last).
    public func send(_ chunk: [UInt8], end: Bool = false) {
        guard !isFinished else { return }
        if end { isFinished = true }
        scope.deliver(type: AGW_EVENT_HTTP_BODY, id: id, endOfStream: end, data: chunk)
    }

    /// The call fails (refused, reset, timed out): `.httpFailed` with `reason`.
    public func fail(_ reason: String, code: Int32 = AGW_CALL_FAILED_CONNECT) {
        guard !isFinished else { return }
        isFinished = true
        scope.deliver(type: AGW_EVENT_HTTP_FAILED, id: id, code: code, data: Array(reason.utf8))
    }

    func cancel() {
        isCancelled = true
        isFinished = true
    }
}

/// A child process a plugin started (`process_spawn`): the test reads its stdin and writes its
/// stdout, or scripts it with ``onInput``.
public final class FakeProcess {
    public let arguments: [String]
    public let environment: [(name: String, value: String)]
    public let workingDirectory: String
    /// Every write to its stdin, in order.
    public private(set) var input: [[UInt8]] = []
    /// Called by ``FakeHost/run()`` with each write not yet handled: answer with ``stdout(_:)``.
    public var onInput: ((FakeProcess, [UInt8]) -> Void)?
    public private(set) var isTerminated = false
    public private(set) var hasExited = false
    let id: UInt64
    let scope: FakeScope
    var unhandled: [[UInt8]] = []

    init(id: UInt64, scope: FakeScope, spec: agw_process_spec) {
        self.id = id
        self.scope = scope
        arguments = (0..<spec.argc).compactMap { index in spec.argv.map { $0[index].string } }
        environment = (0..<spec.env_count).compactMap { index in spec.env.map { ($0[index].name.string, $0[index].value.string) } }
        workingDirectory = spec.working_directory.string
    }

    func write(_ bytes: [UInt8]) -> Bool {
        guard !hasExited, !isTerminated else { return false }
        input.append(bytes)
        unhandled.append(bytes)
        return true
    }

    /// The writes so far as text lines.
    public var inputLines: [String] {
        input.flatMap { String(decoding: $0, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: true).map(String.init) }
    }

    /// A line on its stdout (without the newline).
    public func stdout(_ line: String) {
        guard !hasExited else { return }
        scope.deliver(type: AGW_EVENT_PROCESS_STDOUT, id: id, data: Array(line.utf8))
    }

    /// A line on its stderr.
    public func stderr(_ line: String) {
        guard !hasExited else { return }
        scope.deliver(type: AGW_EVENT_PROCESS_STDERR, id: id, data: Array(line.utf8))
    }

    /// It ends with `code` (minus a signal number for a signal).
    public func exit(_ code: Int32) {
        guard !hasExited else { return }
        hasExited = true
        scope.deliver(type: AGW_EVENT_PROCESS_EXIT, id: id, code: code)
    }

    func terminate() { isTerminated = true }
}
