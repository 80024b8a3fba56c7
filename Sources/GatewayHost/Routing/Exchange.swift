import Logging
import NIOCore
import NIOHTTP1
import PluginABI
import Tracing

/// Where an exchange writes its response: the HTTP/1 connection or HTTP/2 stream it came from.
protocol ExchangeResponder: AnyObject {
    func writeHead(_ head: HTTPResponseHead)
    /// An upstream's head, from its bytes where the protocol allows (HTTP/1), as `version`.
    func writeHead(forwarding upstream: UpstreamHead, version: HTTPVersion)
    /// The promise completes when the bytes were handed to the socket (backpressure for proxying).
    /// Unflushed: the caller flushes (per backend read batch, or at once for handler plugins).
    func writeBody(_ buffer: ByteBuffer, promise: EventLoopPromise<Void>?)
    /// Gathers a small body piece straight from borrowed bytes (one copy, no buffer of its own);
    /// false when it cannot, and the caller writes a buffer with ``writeBody(_:promise:)``.
    func writeBody(bytes: UnsafeRawBufferPointer) -> Bool
    func writeEnd()
    func flush()
    /// False while the client's outbound buffer is above its high-water mark.
    var isWritable: Bool { get }
    /// The response cannot be completed (the backend died mid-body): close the connection / reset the stream.
    func abortResponse()
    /// Called once, after the exchange completed or was aborted.
    func exchangeFinished(_ exchange: Exchange)
}

extension ExchangeResponder {
    /// As NIO's type (HTTP/2 writes its own frames).
    func writeHead(forwarding upstream: UpstreamHead, version: HTTPVersion) {
        var head = upstream.forwardedHead
        head.version = version
        writeHead(head)
    }
}

/// What the host knows about the connection a request came on. A class: made once per HTTP/1
/// connection and shared by its exchanges (one reference to retain, not seven strings).
final class ConnectionInfo: Sendable {
    let listenerName: String
    let peerAddress: String
    /// The peer's address without its port (for `x-forwarded-for` and `client.address`), worked
    /// out once per connection.
    let peerIP: String
    let isTLS: Bool
    let serverName: String?
    let peerSubject: String?
    let httpVersion: String

    init(listenerName: String, peerAddress: String, isTLS: Bool, serverName: String? = nil, peerSubject: String? = nil, httpVersion: String) {
        self.listenerName = listenerName
        self.peerAddress = peerAddress
        peerIP = BackendCall.ipOnly(peerAddress)
        self.isTLS = isTLS
        self.serverName = serverName
        self.peerSubject = peerSubject
        self.httpVersion = httpVersion
    }
}

/// One request/response through a route: it drives the route's ``FilterChain`` (calling the hooks
/// the chain names), holds the bodies the hooks read, writes the response, and hands the request
/// to the backend (``BackendCall``) on proxy routes. Plugins see it as `agw_stream_host`; the host
/// services they use on it (scopes, events, key–value, RPC) are in `Exchange+Services.swift`.
///
/// Lives on one event loop; every method must be called there.
final class Exchange {
    let id: UInt64
    let route: Route
    /// The in-flight count of the generation this exchange started on (the server releases it).
    let inFlight: InFlightCounter?
    let connection: ConnectionInfo
    let eventLoop: EventLoop
    let services: HostServices
    weak var responder: ExchangeResponder?

    var requestHead: RequestHead
    /// The response head as NIO's type: what a handler, a filter or the host made, or the
    /// upstream's head turned into it the first time something asks (a filter reading response
    /// headers, HTTP/2, a buffered response). Reading it may so replace ``forwardedResponse``.
    var responseHead: HTTPResponseHead? {
        get {
            if let upstream = forwardedResponse {
                forwardedResponse = nil
                madeResponseHead = upstream.forwardedHead
            }
            return madeResponseHead
        }
        set {
            forwardedResponse = nil
            madeResponseHead = newValue
            responseStatus = newValue.map { Int($0.status.code) } ?? 0
        }
    }
    var madeResponseHead: HTTPResponseHead?
    /// The upstream's head as read, while nothing needed it as NIO's type: an HTTP/1 client gets
    /// its fields written from these bytes.
    var forwardedResponse: UpstreamHead?
    /// The response's status code (0 before there is a head), without making the head.
    var responseStatus = 0
    /// Whether a response head was given (by the backend, a handler or the host).
    var hasResponseHead: Bool { responseStatus != 0 }

    var chain: FilterChain
    let stages: [FilterInstance]
    var contexts: [UnsafeMutableRawPointer?] = []
    private var currentStage = -1
    var hookDepth = 0
    /// Time spent in hooks called inside the running one (see `callPlugin`).
    private var nestedHookNanoseconds: UInt64 = 0
    var completionPending = false
    var isCompleting = false
    var flushPending = false

    // Telemetry.
    /// When the request head arrived (monotonic nanoseconds).
    let startedAt: UInt64
    /// The route's series on this exchange's listener.
    let requestMetrics: RequestMetrics?
    var responseBodyBytes = 0
    /// This request gets an access-log line (sampled when it started).
    let isLogged: Bool
    /// Its trace: a server span when sampled, or the client's trace passed on (nil: neither).
    var trace: RequestTrace?
    /// Spans plugins started (`trace_span_start`) and have not ended, by id.
    var childSpans: [(id: UInt64, span: any Span)] = []
    /// What plugins recorded about it (`annotate`), for its log line and span.
    var annotations = Annotations()
    /// The filter stage that answered or rejected it, if one did.
    var decidedBy: Int?
    /// The backend endpoint a proxied request went to (`http://host:port`).
    var upstreamName: String?

    // Request.
    var requestBody: ByteBuffer?
    private(set) var requestBodyBytes = 0
    var backendCall: BackendCall?

    // Response.
    /// The head has been written to the client.
    var responseStarted = false
    var responseBody: ByteBuffer?
    var responseHeadersDone: EventLoopPromise<Void>?
    var localReplied = false

    // Plugin services.
    var scopes: [AsyncScope?] = []
    var keyValues = StreamValues()
    var scratch = ScratchArena()
    var rpc: RPCBus

    init(id: UInt64, route: Route, head: RequestHead, connection: ConnectionInfo, eventLoop: EventLoop,
         services: HostServices, responder: ExchangeResponder, inFlight: InFlightCounter? = nil) {
        self.id = id
        self.inFlight = inFlight
        self.route = route
        self.requestHead = head
        self.connection = connection
        self.eventLoop = eventLoop
        self.services = services
        self.responder = responder
        self.stages = route.stages
        self.chain = route.chain
        self.rpc = RPCBus(subscribers: route.rpcSubscribers, stageNames: route.stageNames)
        self.startedAt = NIODeadline.now().uptimeNanoseconds
        self.requestMetrics = route.metrics(listener: connection.listenerName)
        self.isLogged = route.accessLog?.samples(requestID: id) ?? false
        self.trace = services.tracer?.start(head, requestID: id, operation: "\(head.method.rawValue) \(route.name)")
    }

    /// The server span's first name (an MCP request's is renamed when it ends).
    var spanOperation: String { "\(requestHead.method.rawValue) \(route.name)" }

    var handle: OpaquePointer { OpaquePointer(Unmanaged.passUnretained(self).toOpaque()) }
    static func from(_ handle: OpaquePointer) -> Exchange {
        Unmanaged<Exchange>.fromOpaque(UnsafeRawPointer(handle)).takeUnretainedValue()
    }

    var isComplete: Bool { chain.isComplete }
    var requestEnded: Bool { chain.requestEnded }

    // MARK: - Calling into plugins

    /// Every call into a plugin goes through here: it records which stage runs (so host functions
    /// know who is calling), and after the outermost call returns it frees views and carries out a
    /// completion or a resume the plugin asked for during the call.
    ///
    /// It also times the call for `agw_plugin_hook_duration_seconds`: the stage's own time, less
    /// that of hooks it caused to run inside it (filters' `on_rpc_message` inside a handler's
    /// `rpc_publish`).
    @inline(__always)
    func callPlugin<R>(stage: Int, hook: HookMetrics.Hook, _ body: () -> R) -> R {
        let previousStage = currentStage
        currentStage = stage
        hookDepth += 1
        let outerNested = nestedHookNanoseconds
        nestedHookNanoseconds = 0
        let started = NIODeadline.now().uptimeNanoseconds
        let result = body()
        let elapsed = NIODeadline.now().uptimeNanoseconds &- started
        stages[stage].hookMetrics.record(hook, nanoseconds: Int64(elapsed &- nestedHookNanoseconds))
        nestedHookNanoseconds = outerNested &+ elapsed
        hookDepth -= 1
        currentStage = previousStage
        if hookDepth == 0 {
            scratch.reset()
            if flushPending { flushResponse() }
            if completionPending {
                completionPending = false
                complete()
            } else if chain.hasResumePending {
                perform(chain.resumeAfterHook())
            }
        }
        return result
    }

    var isInHook: Bool { hookDepth > 0 }
    var callingStage: Int { currentStage }
    var isHandlerCalling: Bool { chain.handler == currentStage && currentStage >= 0 }

    // MARK: - Request

    /// Starts the chain with the request head. `endOfStream`: the request has no body.
    func start(endOfStream: Bool) {
        contexts.reserveCapacity(stages.count)
        for (index, stage) in stages.enumerated() {
            guard let streamNew = stage.type.hooks.stream_new, let config = stage.context else {
                contexts.append(nil)
                continue
            }
            let context = callPlugin(stage: index, hook: .streamNew) { streamNew(config, handle) }
            guard let context else {
                contexts.append(nil)
                fail(status: .internalServerError, "filter '\(stage.instanceName)' could not start a stream (stream_new returned NULL)")
                return
            }
            contexts.append(context)
        }
        guard !isComplete else { return }
        perform(chain.start(requestEnded: endOfStream))
    }

    /// A request body chunk from the client: to the backend once it has the request, kept while
    /// a body hook or the backend will want it, else dropped.
    func receiveRequestBody(_ chunk: ByteBuffer) {
        guard !isComplete, !localReplied else { return }
        requestBodyBytes += chunk.readableBytes
        if requestBodyBytes > route.limits.maxRequestBodyBytes {
            services.logger.warning("request body over the limit", metadata: logMetadata.merging(["limit": "\(route.limits.maxRequestBodyBytes)"]) { $1 })
            sendLocalReply(status: .payloadTooLarge, headers: [], body: "request body exceeds max_request_body_bytes (\(route.limits.maxRequestBodyBytes))\n")
            return
        }
        if let backendCall {
            backendCall.sendBody(chunk)
            return
        }
        guard chain.keepsRequestBody else { return }
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
        let next = chain.requestDidEnd()
        if let backendCall {
            backendCall.finishBody()
        } else {
            perform(next)
        }
    }

    /// The client went away: cancel what runs and clean up.
    func abort() {
        guard !isComplete else { return }
        backendCall?.cancel()
        markComplete()
    }

    // MARK: - The chain driver

    /// Does what the chain says until it says to wait.
    func perform(_ first: FilterChain.Action) {
        var action = first
        while true {
            switch action {
            case .callHook(let phase, let stage):
                let status = invokeHook(phase, stage: stage)
                action = chain.hookReturned(status, replied: localReplied || isComplete)
            case .wait:
                return
            case .startBackend:
                guard case .backend(let pool) = route.terminal else { return }
                let call = BackendCall(exchange: self, pool: pool)
                backendCall = call
                let body = requestBody
                requestBody = nil
                call.start(bufferedBody: body, requestEnded: chain.requestEnded)
                return
            case .streamResponse:
                streamResponse()
                return
            case .bufferResponse:
                responseHeadersDone?.succeed()
                responseHeadersDone = nil
                return
            case .writeBufferedResponse:
                writeBufferedResponse()
                return
            case .fail(let failure):
                switch failure {
                case .repliedWithoutReply(let stage):
                    fail(status: .internalServerError, "\(role(of: stage)) '\(stages[stage].instanceName)' returned REPLIED without sending a reply")
                case .unknownStatus(let stage, let status):
                    fail(status: .internalServerError, "\(role(of: stage)) '\(stages[stage].instanceName)' returned unknown status \(status)")
                }
                return
            }
        }
    }

    private func role(of stage: Int) -> String { stage == chain.handler ? "handler" : "filter" }

    /// Calls one stage's hook of one phase (the chain only names stages that have it).
    private func invokeHook(_ phase: FilterChain.Phase, stage: Int) -> agw_status {
        let hooks = stages[stage].type.hooks
        let context = contexts[stage]
        let hook: (@convention(c) (UnsafeMutableRawPointer?, OpaquePointer?, UInt32) -> agw_status)?
        let kind: HookMetrics.Hook
        var endOfStream: UInt32 = 1
        switch phase {
        case .requestHeaders:
            hook = hooks.on_request_headers
            kind = .requestHeaders
            endOfStream = chain.requestEnded && requestBody == nil ? 1 : 0
        case .requestBody:
            hook = hooks.on_request_body
            kind = .requestBody
        case .responseHeaders:
            hook = hooks.on_response_headers
            kind = .responseHeaders
            endOfStream = chain.responseEnded && responseBody == nil ? 1 : 0
        case .responseBody:
            hook = hooks.on_response_body
            kind = .responseBody
        }
        guard let hook else { return AGW_STATUS_CONTINUE }
        return callPlugin(stage: stage, hook: kind) { hook(context, handle, endOfStream) }
    }

    /// Resumes a paused stream (host function `resume`).
    func resume() -> agw_result {
        switch chain.resume(callingStage: currentStage, isInsideHook: isInHook) {
        case .now(let action):
            perform(action)
            return AGW_OK
        case .afterHook, .preempted: return AGW_OK
        case .notPaused: return AGW_ERR_WRONG_STATE
        case .gone: return AGW_ERR_GONE
        }
    }
}
