import PluginABI

/// The state of one `rpc_publish` on a stream: the message (copied, so a paused publication
/// outlives the handler's views), rewrites and the verdict.
struct RPCPublication {
    enum Outcome {
        case allow
        case reject((Int32, String), response: RejectionResponse? = nil)
    }

    /// The HTTP answer a rejecting filter asked for (`rpc_reject_with_response`).
    struct RejectionResponse {
        var status: UInt32
        var headers: [(String, String)]
    }

    var token: UInt64 = 0
    private var header = agw_rpc_message()
    private var fields: [[UInt8]] = []
    private var rewrittenParams: [UInt8]?
    /// Set by `rpc_reject` inside `on_rpc_message`.
    var rejection: (Int32, String)?
    /// Set by `rpc_reject_with_response` inside `on_rpc_message`.
    var rejectionResponse: RejectionResponse?
    /// The response the filter that rejected the message asked for.
    private(set) var finalResponse: RejectionResponse?
    /// The filter whose `on_rpc_message` runs now (rpc_reject / rpc_set_params are valid only then).
    var activeStage: Int?
    /// The filter that returned STOP.
    var pausedStage: Int?
    private(set) var decision: agw_rpc_decision = AGW_RPC_ALLOW
    private var finalRejection: (Int32, String)?
    private(set) var isFinished = false

    var isListItem: Bool { header.kind == AGW_RPC_LIST_ITEM }

    mutating func begin(_ message: agw_rpc_message, token: UInt64) {
        self = RPCPublication()
        self.token = token
        header = message
        fields = [message.id, message.method, message.target, message.target_kind, message.upstream, message.session_id,
                  message.params].map { Array($0.rawBuffer) }
    }

    mutating func setParams(_ params: [UInt8]) { rewrittenParams = params }

    /// A C view of the message as the next filter should see it; its views live in `scratch`
    /// (the arena is not held while the filter runs, so the filter may call host functions that
    /// store into it).
    func message(scratch: inout ScratchArena) -> agw_rpc_message {
        var message = header
        message.struct_size = UInt32(MemoryLayout<agw_rpc_message>.size)
        message.id = scratch.store(bytes: fields[0])
        message.method = scratch.store(bytes: fields[1])
        message.target = scratch.store(bytes: fields[2])
        message.target_kind = scratch.store(bytes: fields[3])
        message.upstream = scratch.store(bytes: fields[4])
        message.session_id = scratch.store(bytes: fields[5])
        message.params = scratch.store(bytes: rewrittenParams ?? fields[6])
        return message
    }

    mutating func finish(_ outcome: Outcome) {
        isFinished = true
        switch outcome {
        case .allow:
            decision = AGW_RPC_ALLOW
        case .reject(let error, let response):
            decision = AGW_RPC_REJECT
            finalRejection = error
            finalResponse = response
        }
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
}
