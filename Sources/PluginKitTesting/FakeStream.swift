import ABIInterop
import PluginABI
import PluginKit

/// One request through a list of stages (filters, then at most one handler) in a ``FakeHost``:
/// the test runs the hooks (``runRequestHeaders(endOfStream:)``, ``runRequestBody()``,
/// ``runResponseHeaders(status:headers:endOfStream:)``),
/// answers the stream's HTTP calls and processes, fires its timers, and reads what came back.
///
/// Request hooks run in stage order until one does not continue; response hooks run backward
/// over the filters. A handler's `rpc_publish` runs the filters' `on_rpc_message` like the
/// gateway does (a STOP waits for `rpc_resume`; the verdict then arrives as an event).
public final class FakeStream {
    public let method: String
    public var path: String
    public var requestHeaders: [(name: String, value: String)]
    public var requestBody: [UInt8]?
    /// Request attributes the fake reports besides method and path (peer address, TLS, ...).
    /// `.tracing` is "1": the fake records trace events (``traceEvents``) as a tracing host would.
    public var attributes: [FilterStream.Attribute: String] = [.tracing: "1"]

    /// The response a handler started (`respond_headers`), or a filter's response headers.
    public private(set) var response: (status: Int, headers: [(name: String, value: String)])?
    public private(set) var responseBody: [UInt8] = []
    public private(set) var responseEnded = false
    /// A local reply (`send_local_reply`), which ends the stream.
    public private(set) var localReply: (status: Int, headers: [(name: String, value: String)], body: String)?
    /// How often a plugin called `resume`.
    public private(set) var resumeCount = 0
    /// The per-stream key–value store filters share.
    public var values: [String: [UInt8]] = [:]
    /// What the filter annotated (`annotate`), by key.
    public var annotations: [String: String] = [:]
    /// How many `annotate` / `annotate_pairs` calls recorded something (one per batch).
    public internal(set) var annotationCalls = 0
    private var isCompleting = false
    /// Whether annotations are recorded (as on a logged or traced request); false drops them.
    public var recordsAnnotations = true
    /// The request's trace context (`trace_context_get`; `trace_context_adopt` sets it).
    public var traceContext: (traceparent: String, tracestate: String?)?
    /// Spans the filter started (`trace_span_start`, only when `traceContext` is set): name, and
    /// how it ended ("ok", "error: …") once it did.
    public var spans: [(name: String, ended: String?)] = []
    /// Events the filter added to the request's span.
    public var traceEvents: [(name: String, attributes: [(String, String)])] = []
    /// Every message a handler published (`rpc_publish`), with the decision the filters made.
    public private(set) var publications: [(message: RPCMessage, decision: RPCVerdict.Decision)] = []
    public private(set) var isComplete = false

    let host: FakeHost
    let stages: [FakeFilter]
    private var contexts: [UnsafeMutableRawPointer?] = []
    private(set) var scopes: [FakeScope] = []
    private(set) var callingStage = -1
    private var views = ViewStorage()
    private var depth = 0
    private var phase: FilterChainPhase = .requestHeaders
    var rpc = FakeRPC()

    enum FilterChainPhase { case requestHeaders, requestBody, responseHeaders, responseBody, events }

    init(host: FakeHost, stages: [FakeFilter], method: String, path: String, headers: [(String, String)], body: [UInt8]?) {
        self.host = host
        self.stages = stages
        self.method = method
        self.path = path
        requestHeaders = headers.map { ($0.0, $0.1) }
        requestBody = body
        scopes = stages.indices.map { FakeScope(host: host, owner: .stream(self, stage: $0)) }
        contexts = stages.indices.map { index in
            guard let context = stages[index].context, let streamNew = stages[index].type.pointee.stream_new else { return nil }
            return call(index) { streamNew(context, handle) }
        }
    }

    deinit {
        complete()
        kept.forEach { $0.deallocate() }
        views.free()
    }

    var handle: OpaquePointer { OpaquePointer(Unmanaged.passUnretained(self).toOpaque()) }
    static func from(_ handle: OpaquePointer) -> FakeStream { Unmanaged<FakeStream>.fromOpaque(UnsafeRawPointer(handle)).takeUnretainedValue() }

    /// The stage index of the handler, if the stream has one.
    var handlerStage: Int? { stages.lastIndex { $0.isHandler } }

    // MARK: - hooks

    /// Runs `on_request_headers` of each stage in order until one does not continue; returns
    /// what the last one called returned (nil: none has the hook).
    @discardableResult
    public func runRequestHeaders(endOfStream: Bool? = nil) -> FilterStatus? {
        phase = .requestHeaders
        let eos: UInt32 = (endOfStream ?? (requestBody == nil)) ? 1 : 0
        return runForward { stage in stages[stage].type.pointee.on_request_headers.map { hook in call(stage) { hook(contexts[stage], handle, eos) } } }
    }

    /// Runs `on_request_body` of each stage in order (the body is readable meanwhile).
    @discardableResult
    public func runRequestBody() -> FilterStatus? {
        phase = .requestBody
        defer { phase = .events }
        return runForward { stage in stages[stage].type.pointee.on_request_body.map { hook in call(stage) { hook(contexts[stage], handle, 1) } } }
    }

    /// Runs `on_response_headers` backward over the filters for a backend's response.
    @discardableResult
    public func runResponseHeaders(status: Int, headers: [(String, String)] = [], endOfStream: Bool = true) -> FilterStatus? {
        response = (status, headers.map { ($0.0, $0.1) })
        phase = .responseHeaders
        defer { phase = .events }
        var last: FilterStatus?
        for stage in stages.indices.reversed() where !stages[stage].isHandler {
            guard let hook = stages[stage].type.pointee.on_response_headers else { continue }
            last = Self.status(call(stage) { hook(contexts[stage], handle, endOfStream ? 1 : 0) })
            if last != .continue { break }
        }
        return last
    }

    private func runForward(_ invoke: (Int) -> agw_status?) -> FilterStatus? {
        var last: FilterStatus?
        for stage in stages.indices {
            guard !isComplete, localReply == nil, let status = invoke(stage) else { continue }
            last = Self.status(status)
            if last != .continue { break }
        }
        return last
    }

    /// Publishes a message to the filters' `on_rpc_message` the way a handler does (for testing
    /// a filter without one); returns the verdict, `pending` while a filter decides later.
    public func publish(method: String, id: String = "1", target: String = "", targetKind: String = "", upstream: String = "",
                        sessionID: String = "", params: String = "{}", kind: RPCMessage.Kind = .request,
                        protocol rpcProtocol: RPCMessage.ProtocolName = .mcp) -> (decision: RPCVerdict.Decision, code: Int32, message: String) {
        var storage = ViewStorage()
        defer { storage.free() }
        let message = agw_rpc_message(struct_size: UInt32(MemoryLayout<agw_rpc_message>.size), protocol: rpcProtocol.raw,
                                      direction: AGW_RPC_CLIENT_TO_SERVER, kind: kind.raw, id: storage.store(id), method: storage.store(method),
                                      target: storage.store(target), target_kind: storage.store(targetKind), upstream: storage.store(upstream),
                                      session_id: storage.store(sessionID), params: storage.store(params))
        let verdict = publish(message, token: 0)
        let decision: RPCVerdict.Decision = switch verdict.decision {
        case AGW_RPC_ALLOW: .allow
        case AGW_RPC_PENDING: .pending
        default: .reject
        }
        return (decision, verdict.error_code, verdict.error_message.string)
    }

    /// The HTTP status a rejecting filter asked for (`rpc_reject_with_response`), if any.
    public var rejectionStatus: Int? { rpc.finalResponse.map { Int($0.status) } }

    /// The end: `on_stream_complete`, then `stream_destroy`; the stream's scopes close.
    public func complete() {
        guard !isComplete, !isCompleting else { return }
        isCompleting = true
        // As in the gateway, host functions still answer inside on_stream_complete (a filter
        // annotates the request for its log line there).
        for stage in stages.indices {
            if let hook = stages[stage].type.pointee.on_stream_complete { call(stage) { hook(contexts[stage], handle) } }
        }
        isComplete = true
        for stage in stages.indices { if let context = contexts[stage] { stages[stage].type.pointee.stream_destroy?(context) } }
        contexts = stages.map { _ in nil }
        scopes.forEach { $0.close() }
    }

    /// The response body as text.
    public var responseText: String { String(decoding: responseBody, as: UTF8.self) }

    // MARK: - calling

    func call<R>(_ stage: Int, _ body: () -> R) -> R {
        let previous = callingStage
        callingStage = stage
        depth += 1
        defer {
            depth -= 1
            callingStage = previous
            if depth == 0 { views.free() }
        }
        return body()
    }

    func deliver(_ event: UnsafePointer<agw_event>, toStage stage: Int) {
        guard !isComplete, let hook = stages[stage].type.pointee.on_event else { return }
        call(stage) { hook(contexts[stage], handle, event) }
    }

    func view(_ text: String) -> agw_str { views.store(text) }

    /// Keeps host-made header arrays valid until the stream ends.
    func keepAlive(_ headers: UnsafeMutablePointer<agw_header>) { kept.append(headers) }
    private var kept: [UnsafeMutablePointer<agw_header>] = []
    func view(_ bytes: [UInt8]) -> agw_str { views.store(bytes) }

    static func status(_ raw: agw_status) -> FilterStatus? {
        switch raw {
        case AGW_STATUS_CONTINUE: return .continue
        case AGW_STATUS_STOP: return .stop
        case AGW_STATUS_REPLIED: return .replied
        default: return nil
        }
    }

    // MARK: - what host functions do

    var bodyIsReadable: Bool { phase == .requestBody || (phase == .events && handlerStage == callingStage) }

    func reply(status: Int, headers: [(String, String)], body: String) -> agw_result {
        guard localReply == nil, !responseEnded, !isComplete else { return AGW_ERR_WRONG_STATE }
        localReply = (status, headers.map { ($0.0, $0.1) }, body)
        return AGW_OK
    }

    func respond(status: Int, headers: [(String, String)], endOfStream: Bool) -> agw_result {
        guard callingStage == handlerStage else { return AGW_ERR_WRONG_STATE }
        guard response == nil, localReply == nil else { return AGW_ERR_WRONG_STATE }
        response = (status, headers.map { ($0.0, $0.1) })
        responseEnded = endOfStream
        return AGW_OK
    }

    func respondBody(_ bytes: [UInt8], endOfStream: Bool) -> agw_result {
        guard callingStage == handlerStage, response != nil else { return AGW_ERR_WRONG_STATE }
        guard !responseEnded, !isComplete else { return AGW_ERR_GONE }
        responseBody += bytes
        responseEnded = endOfStream
        return AGW_OK
    }

    func resume() -> agw_result {
        resumeCount += 1
        return AGW_OK
    }

    func scope(ofStage stage: Int) -> FakeScope? { stage >= 0 && stage < scopes.count && !isComplete ? scopes[stage] : nil }

    func attribute(_ attribute: agw_attribute) -> String? {
        switch attribute {
        case AGW_ATTR_METHOD: return method
        case AGW_ATTR_PATH: return path
        case AGW_ATTR_FILTER_NAME: return callingStage >= 0 ? stages[callingStage].instanceName : nil
        case AGW_ATTR_RESPONSE_STATUS: return response.map { String($0.status) }
        default:
            let known: [agw_attribute: FilterStream.Attribute] = [
                AGW_ATTR_HOST: .host, AGW_ATTR_SCHEME: .scheme, AGW_ATTR_PEER_ADDRESS: .peerAddress, AGW_ATTR_TLS_SNI: .tlsServerName,
                AGW_ATTR_TLS_PEER_SUBJECT: .tlsPeerSubject, AGW_ATTR_ROUTE_NAME: .routeName, AGW_ATTR_LISTENER_NAME: .listenerName,
                AGW_ATTR_HTTP_VERSION: .httpVersion, AGW_ATTR_REQUEST_ID: .requestID, AGW_ATTR_ROUTE_PATH_PREFIX: .routePathPrefix,
                AGW_ATTR_TRACING: .tracing,
            ]
            return known[attribute].flatMap { attributes[$0] }
        }
    }

    func publish(_ message: agw_rpc_message, token: UInt64) -> agw_rpc_verdict {
        rpc.begin(message, token: token, stages: stages.indices.filter { !stages[$0].isHandler && stages[$0].type.pointee.on_rpc_message != nil })
        runRPC()
        return rpc.verdict(self)
    }

    func runRPC() {
        while let stage = rpc.next() {
            guard let hook = stages[stage].type.pointee.on_rpc_message else { continue }
            var message = rpc.message(self)
            let status = withUnsafePointer(to: &message) { message in call(stage) { hook(contexts[stage], handle, message) } }
            rpc.returned(status, stage: stage)
        }
        if rpc.isFinished, let message = rpc.published {
            publications.append((message, rpc.decision == AGW_RPC_ALLOW ? .allow : .reject))
        }
    }

    func resumeRPC(allow: Bool, code: Int32, message: String) -> agw_result {
        guard rpc.resume(allow: allow, code: code, message: message) else { return AGW_ERR_WRONG_STATE }
        runRPC()
        if rpc.isFinished, let handler = handlerStage {
            scopes[handler].deliver(type: AGW_EVENT_RPC_VERDICT, id: rpc.token, code: rpc.decision)
        }
        return AGW_OK
    }
}
