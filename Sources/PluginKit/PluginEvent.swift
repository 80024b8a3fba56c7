/// An async result, copied out of the host's `agw_event`.
public struct PluginEvent: Sendable {
    public enum Kind: Sendable, Equatable {
        case scheduled, timer, httpResponse, httpBody, httpFailed, processStdout, processStderr, processExit, rpcVerdict
        case unknown(Int32)

        init(_ raw: agw_event_type) {
            switch raw {
            case AGW_EVENT_SCHEDULED: self = .scheduled
            case AGW_EVENT_TIMER: self = .timer
            case AGW_EVENT_HTTP_RESPONSE: self = .httpResponse
            case AGW_EVENT_HTTP_BODY: self = .httpBody
            case AGW_EVENT_HTTP_FAILED: self = .httpFailed
            case AGW_EVENT_PROCESS_STDOUT: self = .processStdout
            case AGW_EVENT_PROCESS_STDERR: self = .processStderr
            case AGW_EVENT_PROCESS_EXIT: self = .processExit
            case AGW_EVENT_RPC_VERDICT: self = .rpcVerdict
            default: self = .unknown(raw)
            }
        }
    }

    public var kind: Kind
    /// The call, timer, process or posted event id.
    public var id: UInt64
    /// HTTP status, exit status, failure reason or RPC decision.
    public var code: Int32
    public var endOfStream: Bool
    public var data: [UInt8]
    public var text: String { String(decoding: data, as: UTF8.self) }

    /// The response headers (`.httpResponse`), copied as one block of bytes; strings are made
    /// only for what is read.
    private let headerBytes: [UInt8]
    private let headerRanges: [(name: Range<Int>, value: Range<Int>)]

    /// Every response header, in order.
    public var headers: [(name: String, value: String)] {
        headerRanges.map { (String(decoding: headerBytes[$0.name], as: UTF8.self), String(decoding: headerBytes[$0.value], as: UTF8.self)) }
    }

    /// The first value of a response header (ASCII case-insensitive name).
    public func header(_ name: String) -> String? {
        let wanted = Array(name.utf8)
        for range in headerRanges where range.name.count == wanted.count {
            let matches = zip(headerBytes[range.name], wanted).allSatisfy { a, b in
                a == b || (a | 0x20 == b | 0x20 && (a | 0x20) >= 0x61 && (a | 0x20) <= 0x7A)
            }
            if matches { return String(decoding: headerBytes[range.value], as: UTF8.self) }
        }
        return nil
    }

    init(_ event: UnsafePointer<agw_event>) {
        let event = event.pointee
        kind = Kind(event.type)
        id = event.id
        code = event.code
        endOfStream = event.end_of_stream != 0
        data = event.data.bytes
        guard event.header_count > 0, let headers = event.headers else {
            headerBytes = []
            headerRanges = []
            return
        }
        var bytes: [UInt8] = []
        var ranges: [(name: Range<Int>, value: Range<Int>)] = []
        ranges.reserveCapacity(event.header_count)
        for index in 0..<event.header_count {
            let header = headers[index]
            let nameStart = bytes.count
            if let pointer = header.name.ptr { bytes.append(contentsOf: UnsafeRawBufferPointer(start: pointer, count: header.name.len)) }
            let valueStart = bytes.count
            if let pointer = header.value.ptr { bytes.append(contentsOf: UnsafeRawBufferPointer(start: pointer, count: header.value.len)) }
            ranges.append((nameStart..<valueStart, valueStart..<bytes.count))
        }
        headerBytes = bytes
        headerRanges = ranges
    }
}

/// A JSON-RPC message published by a route's handler (copied out of `agw_rpc_message`).
public struct RPCMessage: Sendable {
    public enum Kind: Sendable, Equatable { case request, notification, result, error, listItem, unknown }

    /// The protocol the handler speaks.
    public enum ProtocolName: Sendable, Equatable { case mcp, a2a, unknown }

    public var kind: Kind
    public var protocolName: ProtocolName
    public var isFromClient: Bool
    public var id: String
    public var method: String
    /// Tool / prompt name, resource URI or task id.
    public var target: String
    public var targetKind: String
    /// The federated upstream the message routes to.
    public var upstream: String
    public var sessionID: String
    /// Params (or the list item) as JSON text.
    public var params: String

    init(_ message: UnsafePointer<agw_rpc_message>) {
        let message = message.pointee
        switch message.kind {
        case AGW_RPC_REQUEST: kind = .request
        case AGW_RPC_NOTIFICATION: kind = .notification
        case AGW_RPC_RESULT: kind = .result
        case AGW_RPC_ERROR: kind = .error
        case AGW_RPC_LIST_ITEM: kind = .listItem
        default: kind = .unknown
        }
        switch message.protocol {
        case AGW_RPC_PROTOCOL_MCP: protocolName = .mcp
        case AGW_RPC_PROTOCOL_A2A: protocolName = .a2a
        default: protocolName = .unknown
        }
        isFromClient = message.direction == AGW_RPC_CLIENT_TO_SERVER
        id = message.id.string
        method = message.method.string
        target = message.target.string
        targetKind = message.target_kind.string
        upstream = message.upstream.string
        sessionID = message.session_id.string
        params = message.params.string
    }
}
