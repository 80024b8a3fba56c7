import ABIInterop
import PluginABI
import PluginKit

/// The fake's `rpc_publish`: the filters' `on_rpc_message` in order, with rejections, rewritten
/// params and a STOP that waits for `rpc_resume` (the gateway's rules, without its speed).
struct FakeRPC {
    private(set) var token: UInt64 = 0
    private var header = agw_rpc_message()
    private var fields: [[UInt8]] = []
    private var params: [UInt8] = []
    private var rewritten = false
    private var queue: [Int] = []
    private(set) var activeStage: Int?
    private(set) var pausedStage: Int?
    var rejection: (code: Int32, message: String)?
    var rejectionResponse: (status: UInt32, headers: [(String, String)])?
    private(set) var decision: agw_rpc_decision = AGW_RPC_ALLOW
    private(set) var finalRejection: (code: Int32, message: String)?
    private(set) var finalResponse: (status: UInt32, headers: [(String, String)])?
    private(set) var isFinished = true
    private(set) var published: RPCMessage?

    var canPublish: Bool { pausedStage == nil }
    var subscriberCount = 0

    mutating func begin(_ message: agw_rpc_message, token: UInt64, stages: [Int]) {
        self.token = token
        header = message
        fields = [message.id, message.method, message.target, message.target_kind, message.upstream, message.session_id].map(Self.bytes)
        params = Self.bytes(message.params)
        rewritten = false
        queue = stages
        decision = AGW_RPC_ALLOW
        finalRejection = nil
        finalResponse = nil
        isFinished = stages.isEmpty
        var copy = message
        published = withUnsafePointer(to: &copy) { RPCMessage($0) }
    }

    mutating func next() -> Int? {
        guard !isFinished, pausedStage == nil else { return nil }
        guard !queue.isEmpty else {
            isFinished = true
            return nil
        }
        let stage = queue.removeFirst()
        activeStage = stage
        rejection = nil
        rejectionResponse = nil
        return stage
    }

    mutating func returned(_ status: agw_status, stage: Int) {
        activeStage = nil
        switch status {
        case AGW_STATUS_CONTINUE where rejection == nil:
            return
        case AGW_STATUS_STOP where header.kind != AGW_RPC_LIST_ITEM:
            pausedStage = stage
        default:
            finish(rejecting: rejection ?? (0, "rejected"), response: rejectionResponse)
        }
    }

    mutating func resume(allow: Bool, code: Int32, message: String) -> Bool {
        guard pausedStage != nil else { return false }
        pausedStage = nil
        if !allow { finish(rejecting: (code, message), response: nil) }
        return true
    }

    mutating func setParams(_ bytes: [UInt8]) {
        params = bytes
        rewritten = true
    }

    private mutating func finish(rejecting error: (code: Int32, message: String), response: (status: UInt32, headers: [(String, String)])?) {
        isFinished = true
        queue.removeAll()
        decision = AGW_RPC_REJECT
        finalRejection = error
        finalResponse = response
    }

    func message(_ stream: FakeStream) -> agw_rpc_message {
        var message = header
        message.struct_size = UInt32(MemoryLayout<agw_rpc_message>.size)
        message.id = stream.view(fields[0])
        message.method = stream.view(fields[1])
        message.target = stream.view(fields[2])
        message.target_kind = stream.view(fields[3])
        message.upstream = stream.view(fields[4])
        message.session_id = stream.view(fields[5])
        message.params = stream.view(params)
        return message
    }

    func verdict(_ stream: FakeStream) -> agw_rpc_verdict {
        var verdict = agw_rpc_verdict()
        verdict.struct_size = UInt32(MemoryLayout<agw_rpc_verdict>.size)
        verdict.decision = isFinished ? decision : AGW_RPC_PENDING
        if let finalRejection {
            verdict.error_code = finalRejection.code
            verdict.error_message = stream.view(finalRejection.message)
        }
        if rewritten { verdict.rewritten_params = stream.view(params) }
        return verdict
    }

    private static func bytes(_ view: agw_str) -> [UInt8] {
        guard let pointer = view.ptr, view.len > 0 else { return [] }
        return Array(UnsafeRawBufferPointer(start: pointer, count: view.len))
    }
}
