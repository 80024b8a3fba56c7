import Logging
import NIOCore
import NIOHTTP1
import PluginABI

/// Where an exchange writes its response: the HTTP/1 connection or HTTP/2 stream it came from.
protocol ExchangeResponder: AnyObject {
    func writeHead(_ head: HTTPResponseHead)
    /// The promise completes when the bytes were handed to the socket (backpressure for proxying).
    /// Unflushed: the caller flushes (per upstream read batch, or at once for handler plugins).
    func writeBody(_ buffer: ByteBuffer, promise: EventLoopPromise<Void>?)
    func writeEnd()
    func flush()
    /// False while the client's outbound buffer is above its high-water mark.
    var isWritable: Bool { get }
    /// The response cannot be completed (upstream died mid-body): close the connection / reset the stream.
    func abortResponse()
    /// Called once, after the exchange completed or was aborted.
    func exchangeFinished(_ exchange: Exchange)
}

/// What the host knows about the connection a request came on.
struct ConnectionInfo {
    var listenerName: String
    var peerAddress: String
    var isTLS: Bool
    var serverName: String?
    var peerSubject: String?
    var httpVersion: String
}

/// One request/response through a route: runs the filter chain's hooks in order, pauses and resumes,
/// hands the request to the terminal (backend or handler plugin) and the response back out.
///
/// Lives on one event loop; every method must be called there. Plugins see it as `agw_stream_host`.
final class Exchange {
    enum Phase: Equatable {
        case requestHeaders, requestBody, terminal, responseHeaders, responseBody, streamingResponse, complete
        var runsForward: Bool { self == .requestHeaders || self == .requestBody }
    }

    let id: UInt64
    let route: Route
    let connection: ConnectionInfo
    let eventLoop: EventLoop
    let services: HostServices
    private weak var responder: ExchangeResponder?

    var requestHead: HTTPRequestHead
    var responseHead: HTTPResponseHead?
    private(set) var phase: Phase = .requestHeaders

    // Chain state.
    private let stages: [FilterInstance]
    private var contexts: [UnsafeMutableRawPointer?] = []
    private var currentStage = -1
    private var hookDepth = 0
    private var pausedStage: Int?
    /// The stage whose pausable chain hook is running now (`resume` inside it pre-empts its STOP).
    private var pausableHookStage: Int?
    private var resumeRequested = false
    private var resumePending = false
    private var completionPending = false
    private var isCompleting = false

    // Request body.
    private(set) var requestEnded = false
    private var requestBody: ByteBuffer?
    private var requestBodyBytes = 0
    private var waitingForRequestEnd = false
    private var upstream: BackendCall?

    // Response.
    private(set) var responseStarted = false
    private var responseBegun = false
    private var responseEnded = false
    private var responseBody: ByteBuffer?
    private var bufferingResponse = false
    private var responseHeadersDone: EventLoopPromise<Void>?
    private var localReplied = false

    // Plugin services.
    private var scopes: [AsyncScope?] = []
    private var keyValues: [String: [UInt8]] = [:]
    var scratch = ScratchArena()
    var rpc = RPCPublication()

    init(id: UInt64, route: Route, head: HTTPRequestHead, connection: ConnectionInfo, eventLoop: EventLoop,
         services: HostServices, responder: ExchangeResponder) {
        self.id = id
        self.route = route
        self.requestHead = head
        self.connection = connection
        self.eventLoop = eventLoop
        self.services = services
        self.responder = responder
        self.stages = route.stages
    }

    var handle: OpaquePointer { OpaquePointer(Unmanaged.passUnretained(self).toOpaque()) }
    static func from(_ handle: OpaquePointer) -> Exchange {
        Unmanaged<Exchange>.fromOpaque(UnsafeRawPointer(handle)).takeUnretainedValue()
    }

    var isComplete: Bool { phase == .complete }
    private var filterCount: Int { route.filters.count }
    private var handlerStage: Int? {
        if case .handler = route.terminal { return filterCount }
        return nil
    }

    // MARK: - Calling into plugins

    /// Every call into a plugin goes through here: it records which stage runs (so host functions
    /// know who is calling), and after the outermost call returns it frees views and carries out a
    /// completion or resume the plugin asked for during the call.
    @inline(__always)
    func callPlugin<R>(stage: Int, _ body: () -> R) -> R {
        let previousStage = currentStage
        currentStage = stage
        hookDepth += 1
        let result = body()
        hookDepth -= 1
        currentStage = previousStage
        if hookDepth == 0 {
            scratch.reset()
            if flushPending { flushResponse() }
            if completionPending {
                completionPending = false
                complete()
            } else if resumePending {
                resumePending = false
                continueAfterPause()
            }
        }
        return result
    }

    var isInHook: Bool { hookDepth > 0 }
    var callingStage: Int { currentStage }
    func context(ofStage stage: Int) -> UnsafeMutableRawPointer? { contexts[stage] }
    func stage(_ index: Int) -> FilterInstance { stages[index] }

    /// Filters of this route that implement `on_rpc_message`.
    var rpcSubscriberCount: Int { stages.reduce(0) { $0 + ($1.type.hooks.on_rpc_message == nil ? 0 : 1) } }

    // MARK: - Request

    /// Starts the chain with the request head. `endOfStream`: the request has no body.
    func start(endOfStream: Bool) {
        requestEnded = endOfStream
        contexts.reserveCapacity(stages.count)
        for (index, stage) in stages.enumerated() {
            guard let streamNew = stage.type.hooks.stream_new, let config = stage.context else {
                contexts.append(nil)
                continue
            }
            let context = callPlugin(stage: index) { streamNew(config, handle) }
            guard let context else {
                contexts.append(nil)
                fail(status: .internalServerError, "filter '\(stage.instanceName)' could not start a stream (stream_new returned NULL)")
                return
            }
            contexts.append(context)
        }
        guard !isComplete else { return }
        phase = .requestHeaders
        runFilters(from: 0)
    }

    /// A request body chunk from the client.
    func receiveRequestBody(_ chunk: ByteBuffer) {
        guard !isComplete, !localReplied else { return }
        requestBodyBytes += chunk.readableBytes
        if requestBodyBytes > route.limits.maxRequestBodyBytes {
            services.logger.warning("request body over the limit", metadata: ["route": "\(route.name)", "limit": "\(route.limits.maxRequestBodyBytes)"])
            sendLocalReply(status: .payloadTooLarge, headers: [], body: "request body exceeds max_request_body_bytes (\(route.limits.maxRequestBodyBytes))\n")
            return
        }
        if phase == .terminal, let upstream {
            upstream.sendBody(chunk)
            return
        }
        if requestBody == nil {
            requestBody = chunk
        } else {
            var chunk = chunk
            requestBody!.writeBuffer(&chunk)
        }
    }

    /// The request ended.
    func receiveRequestEnd() {
        guard !isComplete else { return }
        requestEnded = true
        if waitingForRequestEnd {
            waitingForRequestEnd = false
            runFilters(from: 0)
        } else if phase == .terminal, let upstream {
            upstream.finishBody()
        }
    }

    /// The client went away: cancel what runs and clean up.
    func abort() {
        guard !isComplete else { return }
        upstream?.cancel()
        markComplete()
    }

    // MARK: - The chain runner

    /// Runs the hooks of the current phase from `start`, in chain order for the request and in
    /// reverse order for the response, until one pauses or replies, then moves to the next phase.
    private func runFilters(from start: Int) {
        let forward = phase.runsForward
        var index = start
        while forward ? index < filterCount : index >= 0 {
            defer { index += forward ? 1 : -1 }
            pausableHookStage = index
            let status = invokeHook(stage: index)
            pausableHookStage = nil
            let resumedEarly = resumeRequested
            resumeRequested = false
            guard let status else { continue }
            if isComplete || localReplied { return }
            switch status {
            case AGW_STATUS_CONTINUE:
                continue
            case AGW_STATUS_STOP:
                if resumedEarly { continue }
                pausedStage = index
                return
            case AGW_STATUS_REPLIED:
                fail(status: .internalServerError, "filter '\(stages[index].instanceName)' returned REPLIED without sending a reply")
                return
            default:
                fail(status: .internalServerError, "filter '\(stages[index].instanceName)' returned unknown status \(status)")
                return
            }
        }
        phaseFinished()
    }

    /// Calls the current phase's hook of one filter; nil when it does not implement it.
    private func invokeHook(stage: Int) -> agw_status? {
        let hooks = stages[stage].type.hooks
        let context = contexts[stage]
        switch phase {
        case .requestHeaders:
            guard let hook = hooks.on_request_headers else { return nil }
            let endOfStream: UInt32 = requestEnded && requestBody == nil ? 1 : 0
            return callPlugin(stage: stage) { hook(context, handle, endOfStream) }
        case .requestBody:
            guard let hook = hooks.on_request_body else { return nil }
            return callPlugin(stage: stage) { hook(context, handle, 1) }
        case .responseHeaders:
            guard let hook = hooks.on_response_headers else { return nil }
            let endOfStream: UInt32 = responseEnded && responseBody == nil ? 1 : 0
            return callPlugin(stage: stage) { hook(context, handle, endOfStream) }
        case .responseBody:
            guard let hook = hooks.on_response_body else { return nil }
            return callPlugin(stage: stage) { hook(context, handle, 1) }
        case .terminal, .streamingResponse, .complete:
            return nil
        }
    }

    private func phaseFinished() {
        switch phase {
        case .requestHeaders:
            if route.buffersRequestBody {
                phase = .requestBody
                if requestEnded {
                    runFilters(from: 0)
                } else {
                    waitingForRequestEnd = true
                }
            } else {
                startTerminal()
            }
        case .requestBody:
            startTerminal()
        case .responseHeaders:
            let isEventStream = responseHead?.headers.first(name: "content-type")?.lowercased().hasPrefix("text/event-stream") ?? false
            if route.buffersResponseBody, !isEventStream, !(responseEnded && responseBody == nil) {
                phase = .responseBody
                bufferingResponse = true
                if responseEnded { runFilters(from: filterCount - 1) }
            } else {
                phase = .streamingResponse
                writeResponseHead()
                if let body = responseBody {
                    responseBody = nil
                    responder?.writeBody(body, promise: nil)
                }
                if responseEnded {
                    finishResponse()
                } else if responseHeadersDone != nil {
                    // Resumed after a pause (from an event): nobody else flushes now.
                    responder?.flush()
                }
            }
            responseHeadersDone?.succeed()
            responseHeadersDone = nil
        case .responseBody:
            bufferingResponse = false
            phase = .streamingResponse
            let body = responseBody ?? ByteBuffer()
            responseBody = nil
            responseHead?.headers.remove(name: "transfer-encoding")
            responseHead?.headers.replaceOrAdd(name: "content-length", value: String(body.readableBytes))
            writeResponseHead()
            if body.readableBytes > 0 { responder?.writeBody(body, promise: nil) }
            finishResponse()
        case .terminal, .streamingResponse, .complete:
            break
        }
    }

    private func startTerminal() {
        phase = .terminal
        switch route.terminal {
        case .backend(let pool):
            let call = BackendCall(exchange: self, pool: pool)
            upstream = call
            let body = requestBody
            requestBody = nil
            call.start(bufferedBody: body, requestEnded: requestEnded)
        case .handler(let handler):
            let stage = filterCount
            let context = contexts[stage]
            let body = requestBody
            var status = AGW_STATUS_CONTINUE
            if let hook = handler.type.hooks.on_request_headers {
                status = callPlugin(stage: stage) { hook(context, handle, body == nil ? 1 : 0) }
            }
            if status == AGW_STATUS_CONTINUE || status == AGW_STATUS_STOP, body != nil, !localReplied, !isComplete,
               let hook = handler.type.hooks.on_request_body {
                status = callPlugin(stage: stage) { hook(context, handle, 1) }
            }
            if isComplete || localReplied { return }
            switch status {
            case AGW_STATUS_CONTINUE, AGW_STATUS_STOP:
                break // the handler answers now or later through respond_*
            case AGW_STATUS_REPLIED:
                if !responseBegun { fail(status: .internalServerError, "handler '\(handler.instanceName)' returned REPLIED without sending a reply") }
            default:
                fail(status: .internalServerError, "handler '\(handler.instanceName)' returned unknown status \(status)")
            }
        }
    }

    /// Resumes a paused stream (host function `resume`).
    func resume() -> agw_result {
        guard !isComplete else { return AGW_ERR_GONE }
        if pausedStage == nil {
            // Called inside the very chain hook that is about to return STOP.
            guard isInHook, pausableHookStage == currentStage else { return AGW_ERR_WRONG_STATE }
            resumeRequested = true
            return AGW_OK
        }
        if isInHook {
            resumePending = true
        } else {
            continueAfterPause()
        }
        return AGW_OK
    }

    private func continueAfterPause() {
        guard let paused = pausedStage, !isComplete else { return }
        pausedStage = nil
        runFilters(from: phase.runsForward ? paused + 1 : paused - 1)
    }

    // MARK: - Response

    /// The response head from the upstream or the handler. Returns a future when a response filter
    /// paused (the upstream's body should wait until it completes), nil when the head went through.
    @discardableResult
    func beginResponse(_ head: HTTPResponseHead, endOfStream: Bool) -> EventLoopFuture<Void>? {
        guard !isComplete, !localReplied, !responseBegun else { return nil }
        responseBegun = true
        responseHead = head
        responseEnded = endOfStream
        phase = .responseHeaders
        runFilters(from: filterCount - 1)
        guard phase == .responseHeaders, !isComplete else { return nil }
        let done = eventLoop.makePromise(of: Void.self)
        responseHeadersDone = done
        return done.futureResult
    }

    /// A response body chunk. Returns a future when the client is behind (completes when it took
    /// the chunk), nil otherwise.
    @discardableResult
    func receiveResponseBody(_ chunk: ByteBuffer) -> EventLoopFuture<Void>? {
        guard !isComplete, !localReplied else { return nil }
        if phase == .streamingResponse, let responder {
            if responder.isWritable {
                responder.writeBody(chunk, promise: nil)
                return nil
            }
            let written = eventLoop.makePromise(of: Void.self)
            responder.writeBody(chunk, promise: written)
            return written.futureResult
        }
        if responseBody == nil {
            responseBody = chunk
        } else {
            var chunk = chunk
            responseBody!.writeBuffer(&chunk)
        }
        if bufferingResponse, responseBody!.readableBytes > route.limits.maxBufferedResponseBytes {
            upstream?.cancel()
            fail(status: .badGateway, "upstream response exceeds max_buffered_response_bytes (\(route.limits.maxBufferedResponseBytes)) that a filter asked to buffer")
        }
        return nil
    }

    func receiveResponseEnd() {
        guard !isComplete, !localReplied else { return }
        responseEnded = true
        switch phase {
        case .streamingResponse:
            finishResponse()
        case .responseBody where pausedStage == nil && bufferingResponse:
            runFilters(from: filterCount - 1)
        default:
            break // the header or body filters are paused; they finish the response when resumed
        }
    }

    /// The upstream failed. Before the response started this becomes a 502/504 reply.
    func upstreamFailed(status: HTTPResponseStatus, message: String) {
        guard !isComplete else { return }
        services.logger.warning("upstream failed", metadata: ["route": "\(route.name)", "status": "\(status.code)", "reason": "\(message)"])
        fail(status: status, message, log: false)
    }

    private func writeResponseHead() {
        guard var head = responseHead, !responseStarted else { return }
        responseStarted = true
        head.version = requestHead.version
        responder?.writeHead(head)
    }

    private func finishResponse() {
        responder?.writeEnd()
        responder?.flush()
        markComplete()
    }

    /// Sends what was written (the proxy calls this once per upstream read batch).
    func flushResponse() {
        flushPending = false
        responder?.flush()
    }

    /// A handler's response writes inside one hook leave in one flush, when the hook returns
    /// (a head and its body in one segment, not two).
    func flushResponseAfterHook() {
        if hookDepth > 0 { flushPending = true } else { flushResponse() }
    }
    private var flushPending = false

    /// Whether the client keeps up; the proxy stops reading the upstream while it does not.
    var clientIsWritable: Bool { responder?.isWritable ?? true }

    // MARK: - Local replies and failures

    /// Answers the client now (host function `send_local_reply`, and the host's own errors).
    @discardableResult
    func sendLocalReply(status: HTTPResponseStatus, headers: [(String, String)], body: String) -> agw_result {
        var buffer = services.allocator.buffer(capacity: body.utf8.count)
        buffer.writeString(body)
        return sendLocalReply(status: status, headers: headers, body: buffer)
    }

    func sendLocalReply(status: HTTPResponseStatus, headers: [(String, String)], body: ByteBuffer) -> agw_result {
        guard !isComplete, !localReplied else { return AGW_ERR_GONE }
        guard !responseStarted else { return AGW_ERR_WRONG_STATE }
        localReplied = true
        upstream?.cancel()
        var head = HTTPResponseHead(version: requestHead.version, status: status)
        for (name, value) in headers { head.headers.add(name: name, value: value) }
        if !head.headers.contains(name: "content-type"), body.readableBytes > 0 {
            head.headers.add(name: "content-type", value: "text/plain; charset=utf-8")
        }
        head.headers.replaceOrAdd(name: "content-length", value: String(body.readableBytes))
        responseStarted = true
        responseHead = head
        responder?.writeHead(head)
        if body.readableBytes > 0 { responder?.writeBody(body, promise: nil) }
        responder?.writeEnd()
        responder?.flush()
        responseHeadersDone?.succeed()
        responseHeadersDone = nil
        markComplete()
        return AGW_OK
    }

    /// Ends the request with an error status and a one-line body, or aborts if the response started.
    func fail(status: HTTPResponseStatus, _ message: String, log: Bool = true) {
        if log {
            services.logger.error("request failed", metadata: ["route": "\(route.name)", "status": "\(status.code)", "reason": "\(message)"])
        }
        if responseStarted {
            responder?.abortResponse()
            markComplete()
        } else {
            sendLocalReply(status: status, headers: [], body: "\(status.code) \(status.reasonPhrase): \(message)\n")
        }
    }

    // MARK: - Completion

    private func markComplete() {
        if isInHook {
            completionPending = true
        } else {
            complete()
        }
    }

    /// Tells every filter the stream is over (`on_stream_complete`, then `stream_destroy`), closes
    /// the scopes (cancelling their calls and timers) and releases the responder.
    private func complete() {
        guard !isCompleting, phase != .complete else { return }
        isCompleting = true
        phase = .complete
        upstream?.cancel()
        upstream = nil
        responseHeadersDone?.succeed()
        responseHeadersDone = nil
        for (index, stage) in stages.enumerated() where index < contexts.count {
            guard let hook = stage.type.hooks.on_stream_complete else { continue }
            let context = contexts[index]
            callPlugin(stage: index) { hook(context, handle) }
        }
        for (index, stage) in stages.enumerated() where index < contexts.count {
            if let context = contexts[index] { stage.type.hooks.stream_destroy?(context) }
        }
        contexts = []
        for scope in scopes { scope?.close() }
        scopes = []
        scratch.reset()
        responder?.exchangeFinished(self)
    }

    // MARK: - Plugin services

    /// The async scope of the calling filter on this stream.
    func scopeOfCallingStage() -> AsyncScope? {
        let stage = currentStage
        guard stage >= 0, stage < stages.count, !isComplete else { return nil }
        if scopes.isEmpty { scopes = Array(repeating: nil, count: stages.count) }
        if let scope = scopes[stage] { return scope }
        let scope = AsyncScope(eventLoop: eventLoop, owner: .stream(self, stage: stage))
        scopes[stage] = scope
        return scope
    }

    func deliverEvent(_ event: HostEvent, toStage stage: Int) {
        guard !isComplete, stage < contexts.count, let hook = stages[stage].type.hooks.on_event else { return }
        let context = contexts[stage]
        event.withCEvent { cEvent in
            callPlugin(stage: stage) { hook(context, handle, cEvent) }
        }
    }

    func setValue(_ value: [UInt8], forKey key: String) { keyValues[key] = value }
    func value(forKey key: String) -> [UInt8]? { keyValues[key] }

    /// Request headers may change until the terminal starts; response headers until they are sent.
    func canModifyHeaders(_ map: agw_map) -> Bool {
        map == AGW_MAP_REQUEST ? (phase == .requestHeaders || phase == .requestBody) : (responseHead != nil && !responseStarted)
    }

    /// The buffered body a body hook may read or replace, in its phase.
    var requestBodyForHooks: ByteBuffer? {
        get { phase == .requestBody || (phase == .terminal && handlerStage != nil) ? (requestBody ?? ByteBuffer()) : nil }
        set { requestBody = newValue }
    }

    var responseBodyForHooks: ByteBuffer? {
        get { phase == .responseBody ? (responseBody ?? ByteBuffer()) : nil }
        set { responseBody = newValue }
    }

    var isHandlerCalling: Bool { handlerStage == currentStage && currentStage >= 0 }
    var responseHasBegun: Bool { responseBegun }

    // MARK: - RPC publication (handler → filters)

    /// Runs the filters' `on_rpc_message` for one message, from `start`.
    func runRPCFilters(from start: Int) {
        var index = start
        while index < filterCount {
            defer { index += 1 }
            guard let hook = stages[index].type.hooks.on_rpc_message else { continue }
            let context = contexts[index]
            rpc.activeStage = index
            rpc.rejection = nil
            rpc.rejectionResponse = nil
            var message = rpc.message(scratch: &scratch)
            let status = withUnsafePointer(to: &message) { message in
                callPlugin(stage: index) { hook(context, handle, message) }
            }
            rpc.activeStage = nil
            if isComplete { return }
            switch status {
            case AGW_STATUS_CONTINUE where rpc.rejection == nil:
                continue
            case AGW_STATUS_CONTINUE, AGW_STATUS_REPLIED:
                rpc.finish(.reject(rpc.rejection ?? (-32603, "rejected by filter '\(stages[index].instanceName)'"), response: rpc.rejectionResponse))
                return
            case AGW_STATUS_STOP where !rpc.isListItem:
                rpc.pausedStage = index
                return
            case AGW_STATUS_STOP:
                rpc.finish(.reject((-32603, "hidden")))
                return
            default:
                services.logger.error("filter returned unknown status from on_rpc_message", metadata: ["filter": "\(stages[index].instanceName)", "status": "\(status)"])
                rpc.finish(.reject((-32603, "internal error in filter '\(stages[index].instanceName)'")))
                return
            }
        }
        rpc.finish(.allow)
    }

    /// C views of the rejecting filter's response headers, valid until the next call (or the end).
    private var rejectionHeaderViews: UnsafeMutableBufferPointer<agw_header>?

    deinit { rejectionHeaderViews?.deallocate() }

    func rejectionHeaders(_ headers: [(String, String)]) -> UnsafeMutableBufferPointer<agw_header> {
        rejectionHeaderViews?.deallocate()
        let views = UnsafeMutableBufferPointer<agw_header>.allocate(capacity: max(headers.count, 1))
        for (index, (name, value)) in headers.enumerated() {
            views[index] = agw_header(name: scratch.store(name), value: scratch.store(value))
        }
        rejectionHeaderViews = views
        return UnsafeMutableBufferPointer(rebasing: views[0..<headers.count])
    }

    /// A filter finished a paused `on_rpc_message` (host function `rpc_resume`).
    func resumeRPC(decision: agw_rpc_decision, code: Int32, message: String) -> agw_result {
        guard let paused = rpc.pausedStage, paused == currentStage || !isInHook else { return AGW_ERR_WRONG_STATE }
        rpc.pausedStage = nil
        if decision == AGW_RPC_REJECT {
            rpc.finish(.reject((code, message)))
        } else {
            runRPCFilters(from: paused + 1)
        }
        if let handler = handlerStage, rpc.pausedStage == nil {
            deliverEvent(HostEvent(type: AGW_EVENT_RPC_VERDICT, id: rpc.token, code: rpc.decision), toStage: handler)
        }
        return AGW_OK
    }
}
