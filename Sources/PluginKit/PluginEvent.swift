import ABIInterop
import JSON
import PluginABI
import Synchronization

/// An async result, read out of the host's `agw_event`. A small payload is copied when the event
/// is made; a large one (an HTTP body chunk) is read in place while the callback runs and copied
/// only if the event outlives it (``withUnsafeData(_:)`` reads it without a copy).
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
    /// The body chunk, the process's output line, or a failure's message (a copy; see
    /// ``withUnsafeData(_:)``).
    public var data: [UInt8] {
        get {
            switch payload {
            case .owned(let bytes): bytes
            case .lent(let lent): lent.withBytes { Array($0) }
            }
        }
        set { payload = .owned(newValue) }
    }
    /// ``data`` as text (invalid UTF-8 repaired).
    public var text: String { withUnsafeData { String(decoding: $0, as: UTF8.self) } }
    /// How many bytes ``data`` holds.
    public var dataCount: Int {
        switch payload {
        case .owned(let bytes): bytes.count
        case .lent(let lent): lent.count
        }
    }

    /// Reads ``data`` in place: no copy while the event's callback runs. The pointer is valid only
    /// inside `body`.
    public func withUnsafeData<R>(_ body: (UnsafeRawBufferPointer) -> R) -> R {
        switch payload {
        case .owned(let bytes): bytes.withUnsafeBytes(body)
        case .lent(let lent): lent.withBytes(body)
        }
    }

    /// Payloads up to this size are copied when the event is made.
    static let copiedPayloadLimit = 4096
    private var payload: Payload
    private enum Payload: Sendable {
        case owned([UInt8])
        case lent(LentBytes)
    }

    /// Why an HTTP call failed (`.httpFailed`); nil for other events.
    public var httpFailure: HTTPCallFailure? { kind == .httpFailed ? HTTPCallFailure(code) : nil }

    /// The response headers (`.httpResponse`), copied as one block of bytes (one allocation):
    /// per field, its name's and its value's lengths (four bytes each) and then their bytes.
    /// Strings are made only for what is read.
    private let headerBlock: [UInt8]

    /// Every response header, in order.
    public var headers: [(name: String, value: String)] {
        var all: [(name: String, value: String)] = []
        forEachHeader { name, value in
            all.append((String(decoding: name, as: UTF8.self), String(decoding: value, as: UTF8.self)))
            return true
        }
        return all
    }

    /// The first value of a response header (ASCII case-insensitive name).
    public func header(_ name: String) -> String? {
        var name = name, found: String?
        name.withUTF8 { wanted in
            forEachHeader { fieldName, value in
                guard fieldName.count == wanted.count, Self.equalIgnoringCase(fieldName, UnsafeRawBufferPointer(wanted)) else { return true }
                found = String(decoding: value, as: UTF8.self)
                return false
            }
        }
        return found
    }

    /// Each header's name and value in place, until `body` returns false.
    private func forEachHeader(_ body: (UnsafeRawBufferPointer, UnsafeRawBufferPointer) -> Bool) {
        headerBlock.withUnsafeBytes { block in
            var at = 0
            // Bounds: the block was written as length, length, name, value, field after field.
            while at + 8 <= block.count {
                let nameCount = Int(block.loadUnaligned(fromByteOffset: at, as: UInt32.self))
                let valueCount = Int(block.loadUnaligned(fromByteOffset: at + 4, as: UInt32.self))
                let name = UnsafeRawBufferPointer(rebasing: block[(at + 8)..<(at + 8 + nameCount)])
                let value = UnsafeRawBufferPointer(rebasing: block[(at + 8 + nameCount)..<(at + 8 + nameCount + valueCount)])
                guard body(name, value) else { return }
                at += 8 + nameCount + valueCount
            }
        }
    }

    private static func equalIgnoringCase(_ a: UnsafeRawBufferPointer, _ b: UnsafeRawBufferPointer) -> Bool {
        for (byte, wanted) in zip(a, b) where byte != wanted {
            let lower = byte | 0x20
            guard lower == wanted | 0x20, lower >= 0x61, lower <= 0x7A else { return false }
        }
        return true
    }

    init(_ event: UnsafePointer<agw_event>) {
        let event = event.pointee
        kind = Kind(event.type)
        id = event.id
        code = event.code
        endOfStream = event.end_of_stream != 0
        if event.data.len > Self.copiedPayloadLimit, let start = event.data.ptr {
            payload = .lent(LentBytes(UnsafeRawBufferPointer(start: start, count: event.data.len)))
        } else {
            payload = .owned(event.data.bytes)
        }
        guard event.header_count > 0, let headers = event.headers else {
            headerBlock = []
            return
        }
        var size = 0
        for index in 0..<event.header_count { size += 8 + headers[index].name.len + headers[index].value.len }
        headerBlock = [UInt8](writingUpTo: size) { out in
            // Bounds: `size` counts every field's two lengths and bytes.
            var at = 0
            for index in 0..<event.header_count {
                let name = headers[index].name, value = headers[index].value
                out.storeBytes(of: UInt32(truncatingIfNeeded: name.len), toByteOffset: at, as: UInt32.self)
                out.storeBytes(of: UInt32(truncatingIfNeeded: value.len), toByteOffset: at + 4, as: UInt32.self)
                at += 8
                if let pointer = name.ptr, name.len > 0 { (out + at).copyMemory(from: pointer, byteCount: name.len) }
                at += name.len
                if let pointer = value.ptr, value.len > 0 { (out + at).copyMemory(from: pointer, byteCount: value.len) }
                at += value.len
            }
            return at
        }
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

extension PluginEvent {
    /// Called when the event's callback returns: a payload read in place is copied if the event
    /// was kept (stored, or sent to another thread), and never read in place again.
    mutating func callbackReturned() {
        guard case .lent(var lent) = payload else { return }
        payload = .owned([]) // drop this reference, so a kept copy shows as another one
        if !isKnownUniquelyReferenced(&lent) { lent.keepCopy() }
    }
}

/// Bytes the host lends for the duration of an event callback, copied when the callback returns
/// if anything still holds them. The lock orders a reader on another thread with that copy.
final class LentBytes: Sendable {
    private let state: Mutex<State>
    let count: Int

    private enum State: @unchecked Sendable { // the pointer is read only under the lock, while valid
        case lent(UnsafeRawBufferPointer)
        case copied([UInt8])
    }

    init(_ bytes: UnsafeRawBufferPointer) {
        state = Mutex(.lent(bytes))
        count = bytes.count
    }

    func withBytes<R>(_ body: (UnsafeRawBufferPointer) -> R) -> R {
        var result: R?
        state.withLock { state in
            switch state {
            case .lent(let pointer): result = body(pointer)
            case .copied(let bytes): result = bytes.withUnsafeBytes(body)
            }
        }
        return result!
    }

    /// The callback returned and the host will reuse the memory: keep a copy.
    func keepCopy() {
        state.withLock { state in
            if case .lent(let pointer) = state { state = .copied(Array(pointer)) }
        }
    }
}
