import ABIInterop
import PluginABI

/// An async result, copied out of the host's `agw_event`.
public struct PluginEvent: Sendable {
    /// What happened.
    public enum Kind: Sendable, Equatable {
        /// A ``Scheduler/post(_:)``; `id` is the posted id.
        case scheduled
        /// A timer fired; `id` is the timer's.
        case timer
        /// An HTTP call's response head (`code` = status, ``headers``), with the whole body unless
        /// the call streams its body.
        case httpResponse
        /// The next chunk of a streamed HTTP call's body (``endOfStream`` on the last).
        case httpBody
        /// An HTTP call failed: ``text`` says why.
        case httpFailed
        /// One line a child process wrote to stdout (without the newline).
        case processStdout
        /// One line a child process wrote to stderr.
        case processStderr
        /// A child process ended: `code` is its exit status, or minus the signal.
        case processExit
        /// A paused `publishRPC` has its verdict: read it with ``FilterStream/lastRPCVerdict()``.
        case rpcVerdict
        /// An event this SDK does not know (from a newer host).
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

    /// What happened.
    public var kind: Kind
    /// The call, timer, process or posted event id.
    public var id: UInt64
    /// HTTP status, exit status, failure reason or RPC decision.
    public var code: Int32
    /// The last chunk of a streamed HTTP body, or the whole body of a buffered one.
    public var endOfStream: Bool
    /// The body chunk, the process's output line, or a failure's message.
    public var data: [UInt8]
    /// ``data`` as text (invalid UTF-8 repaired).
    public var text: String { String(decoding: data, as: UTF8.self) }

    /// Why an HTTP call failed (`.httpFailed`); nil for other events.
    public var httpFailure: HTTPCallFailure? { kind == .httpFailed ? HTTPCallFailure(code) : nil }

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

/// Why an HTTP call failed (the `code` of an `.httpFailed` event).
public enum HTTPCallFailure: Sendable, Equatable {
    /// The connection could not be made (refused, unreachable, TLS).
    case connect
    /// No response (head) within the call's timeout.
    case timeout
    /// The connection broke, or the answer was not HTTP.
    case `protocol`
    /// A buffered body over the host's limit.
    case limit
    /// A reason this SDK does not know yet.
    case other(Int32)

    init(_ code: Int32) {
        switch code {
        case AGW_CALL_FAILED_CONNECT: self = .connect
        case AGW_CALL_FAILED_TIMEOUT: self = .timeout
        case AGW_CALL_FAILED_PROTOCOL: self = .protocol
        case AGW_CALL_FAILED_LIMIT: self = .limit
        default: self = .other(code)
        }
    }
}
