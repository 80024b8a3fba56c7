import PluginABI

/// The order in which a route's stages run their hooks, and what the exchange must do between
/// them — a state machine in the style of NIO's protocol handlers: no I/O, no plugin calls. The
/// ``Exchange`` asks it what to do, calls the hook it names, and reports what the hook returned.
///
/// The stages are the route's filters in order, then its handler (if any) as the last stage.
/// Request hooks run forward (filters, then the handler); response hooks run backward over the
/// filters. The request side and the response side each run one hook at a time, pause on STOP
/// until ``resume(callingStage:isInsideHook:)``, and skip stages without the phase's hook.
///
/// - The request body is buffered for the body hooks only when some stage implements
///   `on_request_body`; its hooks run once the request ended.
/// - A handler answers by starting the response (``responseBegan(endOfStream:streamed:)``); from
///   then on the request side is over (the rest of its body is not read into hooks). For a
///   handler, STOP means "I answer later", like CONTINUE; REPLIED means it sent or began a reply.
/// - The response body is buffered for the body hooks when a filter implements
///   `on_response_body` and the response is not streamed (the exchange says which).
struct FilterChain {
    /// Which hooks one stage implements.
    struct Hooks: Equatable, Sendable {
        var requestHeaders = false
        var requestBody = false
        var responseHeaders = false
        var responseBody = false
    }

    enum Phase: Equatable, Sendable {
        case requestHeaders, requestBody, responseHeaders, responseBody
        var isRequest: Bool { self == .requestHeaders || self == .requestBody }
    }

    /// Where one side (request or response) is.
    enum Side: Equatable, Sendable {
        /// Not started.
        case idle
        /// `stage`'s hook of `phase` is being called. `resumed`: it called `resume` inside the
        /// hook, so a STOP it returns does not pause.
        case running(Phase, stage: Int, resumed: Bool)
        /// `stage` returned STOP from its hook of `phase`; waits for `resume`.
        case paused(Phase, stage: Int)
        /// Buffering the body until it ends, then the body hooks run.
        case awaitingEnd
        /// Its hooks are done.
        case done
    }

    /// Why the chain fails the request (500).
    enum Failure: Equatable, Sendable {
        /// A hook returned REPLIED but sent no reply.
        case repliedWithoutReply(stage: Int)
        /// A hook returned a status the ABI does not define.
        case unknownStatus(stage: Int, status: Int32)
    }

    /// What the exchange does next.
    enum Action: Equatable, Sendable {
        /// Call this stage's hook of this phase, then report with ``hookReturned(_:replied:)``.
        case callHook(Phase, stage: Int)
        /// Nothing until an event: a paused stage, the rest of a body, the backend, the handler.
        case wait
        /// Proxy routes: send the request to the backend (with the buffered body, if any).
        case startBackend
        /// The response head went through the hooks: write it, then stream the body as it comes.
        case streamResponse
        /// The response head went through the hooks: buffer the body for the body hooks.
        case bufferResponse
        /// The buffered response went through the body hooks: write it whole (with its length).
        case writeBufferedResponse
        /// Fail the request with 500 (or abort it if the response started).
        case fail(Failure)
    }

    /// What `resume` did.
    enum ResumeOutcome: Equatable, Sendable {
        /// The paused side goes on now: perform this.
        case now(Action)
        /// Called inside another hook: call ``resumeAfterHook()`` when the outermost hook returns.
        case afterHook
        /// Called inside the very hook that will return STOP: that STOP will not pause.
        case preempted
        /// Nothing is paused (`AGW_ERR_WRONG_STATE`).
        case notPaused
        /// The exchange is over (`AGW_ERR_GONE`).
        case gone
    }

    let stages: [Hooks]
    /// The handler's stage index (the last), nil on proxy routes.
    let handler: Int?
    private let filterCount: Int
    /// Some stage implements `on_request_body`.
    let buffersRequestBody: Bool
    /// Some filter implements `on_response_body` (else whether a response is streamed decides nothing).
    let hasResponseBodyHooks: Bool

    private(set) var request = Side.idle
    private(set) var response = Side.idle
    private(set) var isComplete = false
    private(set) var requestEnded = false
    private(set) var responseEnded = false
    /// The response's body is buffered for the body hooks.
    private(set) var isBufferingResponse = false
    /// The response must not be buffered (said when it began).
    private var responseIsStreamed = false
    /// Some response body arrived (while its head was still in the hooks, or since).
    private var responseHasBody = false
    private var resumePending = false

    init(filters: [Hooks], handler: Hooks?) {
        stages = filters + (handler.map { [$0] } ?? [])
        self.handler = handler == nil ? nil : filters.count
        filterCount = filters.count
        buffersRequestBody = stages.contains { $0.requestBody }
        hasResponseBodyHooks = filters.contains { $0.responseBody }
    }

    // MARK: - request

    /// The request head arrived; `requestEnded`: it has no body.
    mutating func start(requestEnded: Bool) -> Action {
        precondition(request == .idle, "the chain started twice")
        self.requestEnded = requestEnded
        return next(.requestHeaders, from: 0)
    }

    /// The request's last byte arrived.
    mutating func requestDidEnd() -> Action {
        requestEnded = true
        guard request == .awaitingEnd, !isComplete else { return .wait }
        return next(.requestBody, from: 0)
    }

    /// Whether a request body chunk should be kept: for the body hooks (it arrives before they
    /// run), or on a proxy route for the backend until it is sent. Otherwise it is dropped.
    var keepsRequestBody: Bool {
        guard !isComplete else { return false }
        if handler == nil { return request != .done }
        guard buffersRequestBody else { return false }
        switch request {
        case .idle, .awaitingEnd, .running(.requestHeaders, _, _), .paused(.requestHeaders, _): return true
        default: return false
        }
    }

    /// Whether request headers may still change (before the backend or handler has them all).
    var requestHeadersAreOpen: Bool {
        switch request {
        case .idle, .running, .paused, .awaitingEnd: return !isComplete
        case .done: return false
        }
    }

    /// Whether body hooks of the request may read the body now (its phase, or the handler later).
    var requestBodyIsReadable: Bool {
        switch request {
        case .running(.requestBody, _, _), .paused(.requestBody, _): return true
        case .done: return handler != nil && buffersRequestBody
        default: return false
        }
    }

    // MARK: - hooks

    /// The hook named by the last `.callHook` returned `status`. `replied`: during it the stream
    /// got a local reply or ended.
    mutating func hookReturned(_ status: agw_status, replied: Bool) -> Action {
        guard !replied, !isComplete else { return .wait }
        let running = isRequestRunning ? request : response
        guard case .running(let phase, let stage, let resumed) = running else {
            // The handler began the response inside its request hook: the request side is over.
            return .wait
        }
        switch status {
        case AGW_STATUS_CONTINUE:
            return next(phase, from: phase.isRequest ? stage + 1 : stage - 1)
        case AGW_STATUS_STOP where stage == handler:
            return next(phase, from: stage + 1) // a handler answers later
        case AGW_STATUS_STOP:
            if resumed { return next(phase, from: phase.isRequest ? stage + 1 : stage - 1) }
            set(phase, .paused(phase, stage: stage))
            return .wait
        case AGW_STATUS_REPLIED where stage == handler && response != .idle:
            return .wait // the handler began its reply
        case AGW_STATUS_REPLIED:
            return .fail(.repliedWithoutReply(stage: stage))
        default:
            return .fail(.unknownStatus(stage: stage, status: status))
        }
    }

    private var isRequestRunning: Bool {
        if case .running = request { return true }
        return false
    }

    // MARK: - resume

    /// A plugin called `resume`. `callingStage`: the stage whose code calls (-1: none);
    /// `isInsideHook`: some hook of this stream is running now.
    mutating func resume(callingStage: Int, isInsideHook: Bool) -> ResumeOutcome {
        guard !isComplete else { return .gone }
        for side in [response, request] {
            switch side {
            case .running(let phase, let stage, _) where stage == callingStage:
                set(phase, .running(phase, stage: stage, resumed: true))
                return .preempted
            case .paused where isInsideHook:
                resumePending = true
                return .afterHook
            case .paused(let phase, let stage):
                return .now(next(phase, from: phase.isRequest ? stage + 1 : stage - 1))
            default:
                continue
            }
        }
        return .notPaused
    }

    /// The outermost hook returned after a `resume` that came inside it (``ResumeOutcome/afterHook``).
    mutating func resumeAfterHook() -> Action {
        guard resumePending else { return .wait }
        resumePending = false
        guard !isComplete else { return .wait }
        for side in [response, request] {
            if case .paused(let phase, let stage) = side { return next(phase, from: phase.isRequest ? stage + 1 : stage - 1) }
        }
        return .wait
    }

    var hasResumePending: Bool { resumePending }

    // MARK: - response

    /// Whether the handler may begin the response now.
    var canBeginResponse: Bool { response == .idle && request != .idle && !isComplete }

    /// The backend or the handler produced the response head. `streamed`: the response must not
    /// be buffered (an event stream, or it said so).
    mutating func responseBegan(endOfStream: Bool, streamed: Bool) -> Action {
        precondition(canBeginResponse, "the response began twice")
        responseEnded = endOfStream
        responseIsStreamed = streamed
        if request != .done { request = .done } // the handler answered: the request side is over
        return next(.responseHeaders, from: filterCount - 1)
    }

    /// A response body chunk arrived.
    mutating func responseBodyArrived() { responseHasBody = true }

    /// The response's last byte arrived.
    mutating func responseDidEnd() -> Action {
        responseEnded = true
        guard response == .awaitingEnd, !isComplete else { return .wait }
        return next(.responseBody, from: filterCount - 1)
    }

    /// Whether the response head has been through its hooks (it may be written).
    var responseHeadersAreDone: Bool {
        switch response {
        case .awaitingEnd, .done: return true
        case .running(.responseBody, _, _), .paused(.responseBody, _): return true
        default: return false
        }
    }

    /// Whether response body hooks may read the body now.
    var responseBodyIsReadable: Bool {
        switch response {
        case .running(.responseBody, _, _), .paused(.responseBody, _): return true
        default: return false
        }
    }

    /// The stream is over: no more hooks.
    mutating func complete() {
        isComplete = true
        resumePending = false
    }

    // MARK: - transitions

    /// The next stage with a hook of `phase` from `start` (forward for the request, backward for
    /// the response), or what follows the phase.
    private mutating func next(_ phase: Phase, from start: Int) -> Action {
        if phase.isRequest {
            var stage = start
            while stage < stages.count {
                if has(phase, stage) {
                    request = .running(phase, stage: stage, resumed: false)
                    return .callHook(phase, stage: stage)
                }
                stage += 1
            }
        } else {
            var stage = start
            while stage >= 0 {
                if has(phase, stage) {
                    response = .running(phase, stage: stage, resumed: false)
                    return .callHook(phase, stage: stage)
                }
                stage -= 1
            }
        }
        return finished(phase)
    }

    private func has(_ phase: Phase, _ stage: Int) -> Bool {
        switch phase {
        case .requestHeaders: return stages[stage].requestHeaders
        case .requestBody: return stages[stage].requestBody
        case .responseHeaders: return stage < filterCount && stages[stage].responseHeaders
        case .responseBody: return stage < filterCount && stages[stage].responseBody
        }
    }

    private mutating func finished(_ phase: Phase) -> Action {
        switch phase {
        case .requestHeaders where buffersRequestBody && response == .idle:
            if requestEnded { return next(.requestBody, from: 0) }
            request = .awaitingEnd
            return .wait
        case .requestHeaders, .requestBody:
            request = .done
            return handler == nil ? .startBackend : .wait
        case .responseHeaders:
            // Buffered for the body hooks unless streamed, or already over without a body.
            isBufferingResponse = hasResponseBodyHooks && !responseIsStreamed && !(responseEnded && !responseHasBody)
            guard isBufferingResponse else {
                response = .done
                return .streamResponse
            }
            response = .awaitingEnd
            if responseEnded { return next(.responseBody, from: filterCount - 1) }
            return .bufferResponse
        case .responseBody:
            response = .done
            isBufferingResponse = false
            return .writeBufferedResponse
        }
    }

    private mutating func set(_ phase: Phase, _ side: Side) {
        if phase.isRequest { request = side } else { response = side }
    }
}
