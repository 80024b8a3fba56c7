import ABIInterop
import PluginABI

/// The route's filters' `on_rpc_message` for the messages a handler publishes (`rpc_publish`),
/// one publication at a time: which filter runs next, a filter that paused the decision, the
/// rewrites and the verdict. A state machine: the ``Exchange`` calls the hooks it names and
/// reports what they returned; the host functions filters call inside the hook (`rpc_reject`,
/// `rpc_set_params`) go through it.
///
/// It knows no protocol: a filter that rejects without saying how (REPLIED without `rpc_reject`,
/// an unknown status, a STOP on a list item) leaves error code 0, and the handler answers with
/// its protocol's generic error.
struct RPCBus {
    enum Action: Equatable {
        /// Call this filter's `on_rpc_message` with ``message(scratch:)``, then ``hookReturned(_:)``.
        case callHook(stage: Int)
        /// The verdict is ready.
        case finished
        /// A filter returned STOP: the verdict comes with its `rpc_resume`.
        case paused
    }

    /// The HTTP answer a rejecting filter asked for (`rpc_reject_with_response`).
    struct RejectionResponse {
        var status: UInt32
        var headers: [(String, String)]
    }

    /// Stages whose filter implements `on_rpc_message`, in chain order.
    let subscribers: [Int]
    /// Instance names by stage, for the messages of rejections.
    private let stageNames: [String]

    private(set) var token: UInt64 = 0
    /// The message being published, copied.
    private var copy: MessageCopy?
    private var rewrittenParams: [UInt8]?
    /// The filter whose hook runs now (`rpc_reject` / `rpc_set_params` are valid only then).
    private(set) var activeStage: Int?
    /// The filter that returned STOP.
    private(set) var pausedStage: Int?
    private var next = 0
    private var rejection: (code: Int32, message: String)?
    private var rejectionResponse: RejectionResponse?
    private(set) var decision: agw_rpc_decision = AGW_RPC_ALLOW
    private var finalRejection: (code: Int32, message: String)?
    /// The response the filter that rejected the message asked for.
    private(set) var finalResponse: RejectionResponse?
    private(set) var isFinished = true
    /// The stage that rejected a message of this stream (the last one that did; hidden list items
    /// do not count), for the access log.
    private(set) var rejectedBy: Int?
    /// The stage whose hook (or resume) finishes the publication.
    private var decidingStage: Int?

    init(subscribers: [Int], stageNames: [String]) {
        self.subscribers = subscribers
        self.stageNames = stageNames
    }

    /// Whether a handler may publish now (none is waiting for a paused filter).
    var canPublish: Bool { pausedStage == nil || isFinished }

    var isListItem: Bool { copy?.message.kind == AGW_RPC_LIST_ITEM }

    /// Starts a publication of `message` (copied, so a paused one outlives the handler's views).
    mutating func publish(_ message: agw_rpc_message, token: UInt64) -> Action {
        precondition(canPublish, "a publication is paused")
        self.token = token
        copy = MessageCopy(message)
        rewrittenParams = nil
        pausedStage = nil
        decision = AGW_RPC_ALLOW
        finalRejection = nil
        finalResponse = nil
        isFinished = false
        next = 0
        return advance()
    }

    /// The hook named by the last `.callHook` returned `status`.
    mutating func hookReturned(_ status: agw_status) -> Action {
        guard let stage = activeStage else { preconditionFailure("no on_rpc_message is running") }
        activeStage = nil
        decidingStage = stage
        switch status {
        case AGW_STATUS_CONTINUE where rejection == nil:
            return advance()
        case AGW_STATUS_CONTINUE, AGW_STATUS_REPLIED:
            return finish(rejecting: rejection ?? (0, "rejected by filter '\(stageNames[stage])'"), response: rejectionResponse)
        case AGW_STATUS_STOP where !isListItem:
            pausedStage = stage
            return .paused
        case AGW_STATUS_STOP:
            return finish(rejecting: (0, "hidden by filter '\(stageNames[stage])'"))
        default:
            return finish(rejecting: (0, "filter '\(stageNames[stage])' returned unknown status \(status) from on_rpc_message"))
        }
    }

    /// Whether `stage` may finish the paused publication now (`rpc_resume`): the paused filter,
    /// or anyone outside a hook.
    func mayResume(callingStage: Int, isInsideHook: Bool) -> Bool {
        guard let pausedStage else { return false }
        return pausedStage == callingStage || !isInsideHook
    }

    /// The paused filter decided (`rpc_resume`).
    mutating func resume(allow: Bool, code: Int32, message: String) -> Action {
        guard let paused = pausedStage else { preconditionFailure("no publication is paused") }
        pausedStage = nil
        decidingStage = paused
        guard allow else { return finish(rejecting: (code, message)) }
        next = (subscribers.firstIndex(of: paused) ?? subscribers.count) + 1
        return advance()
    }

    // MARK: inside on_rpc_message

    /// `rpc_reject` / `rpc_reject_with_response` from `callingStage`.
    mutating func reject(code: Int32, message: String, response: RejectionResponse?, callingStage: Int) -> agw_result {
        guard activeStage == callingStage else { return AGW_ERR_WRONG_STATE }
        rejection = (code, message)
        rejectionResponse = response
        return AGW_OK
    }

    /// `rpc_set_params` from `callingStage`.
    mutating func setParams(_ params: [UInt8], callingStage: Int) -> agw_result {
        guard activeStage == callingStage else { return AGW_ERR_WRONG_STATE }
        rewrittenParams = params
        return AGW_OK
    }

    // MARK: views

    /// A C view of the message as the next filter sees it; its views live in `scratch` (the
    /// arena is not held while the filter runs, so the filter may call host functions that store
    /// into it).
    func message(scratch: inout ScratchArena) -> agw_rpc_message {
        guard var message = copy?.message else { preconditionFailure("nothing is published") }
        if let rewrittenParams { message.params = scratch.store(bytes: rewrittenParams) }
        return message
    }

    /// The verdict as the handler reads it; views live in scratch.
    func verdict(scratch: inout ScratchArena) -> agw_rpc_verdict {
        var verdict = agw_rpc_verdict()
        verdict.struct_size = UInt32(MemoryLayout<agw_rpc_verdict>.size)
        verdict.decision = isFinished ? decision : AGW_RPC_PENDING
        if let (code, message) = finalRejection {
            verdict.error_code = code
            verdict.error_message = scratch.store(message)
        }
        if let rewrittenParams { verdict.rewritten_params = scratch.store(bytes: rewrittenParams) }
        return verdict
    }

    // MARK: transitions

    private mutating func advance() -> Action {
        guard next < subscribers.count else { return finish(rejecting: nil) }
        let stage = subscribers[next]
        next += 1
        activeStage = stage
        rejection = nil
        rejectionResponse = nil
        return .callHook(stage: stage)
    }

    private mutating func finish(rejecting error: (code: Int32, message: String)?, response: RejectionResponse? = nil) -> Action {
        isFinished = true
        if error != nil, !isListItem, let stage = decidingStage { rejectedBy = stage }
        activeStage = nil
        if let error {
            decision = AGW_RPC_REJECT
            finalRejection = error
            finalResponse = response
        } else {
            decision = AGW_RPC_ALLOW
        }
        return .finished
    }
}

/// A published message's fields copied into one block of their own (a paused publication
/// outlives the handler's views), and the C message viewing them: each filter gets views of
/// the same bytes, with no copy per filter. The views live as long as this object.
final class MessageCopy {
    private let block: UnsafeMutableRawBufferPointer
    /// The message, its fields viewing `block`.
    let message: agw_rpc_message

    init(_ source: agw_rpc_message) {
        let total = source.id.len + source.method.len + source.target.len + source.target_kind.len + source.upstream.len
            + source.session_id.len + source.params.len
        let block = UnsafeMutableRawBufferPointer.allocate(byteCount: max(total, 1), alignment: 1)
        var cursor = block.baseAddress!
        /// Copies `field` to `cursor` (the block has room for every field: `total`).
        func place(_ field: agw_str) -> agw_str {
            guard let pointer = field.ptr, field.len > 0 else { return agw_str(ptr: nil, len: 0) }
            cursor.copyMemory(from: pointer, byteCount: field.len)
            defer { cursor += field.len }
            return agw_str(ptr: UnsafeRawPointer(cursor).assumingMemoryBound(to: CChar.self), len: field.len)
        }
        var message = source
        message.struct_size = UInt32(MemoryLayout<agw_rpc_message>.size)
        message.id = place(source.id)
        message.method = place(source.method)
        message.target = place(source.target)
        message.target_kind = place(source.target_kind)
        message.upstream = place(source.upstream)
        message.session_id = place(source.session_id)
        message.params = place(source.params)
        self.block = block
        self.message = message
    }

    deinit { block.deallocate() }
}
