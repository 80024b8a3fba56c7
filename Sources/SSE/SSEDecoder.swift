/// Splits a `text/event-stream` body into events, chunk by chunk (WHATWG HTML §9.2.6): lines end
/// in LF, CRLF or CR; `data:` lines join with LF; an empty line dispatches; comments are skipped.
public struct SSEDecoder: Sendable {
    private var line: [UInt8] = []
    private var data: [UInt8] = []
    private var hasData = false
    private var event = ""
    private var id: String?
    private var lastWasCR = false
    /// Refuses events larger than this, so a broken upstream cannot grow memory without end.
    public let maxEventBytes: Int

    public init(maxEventBytes: Int = 16 << 20) { self.maxEventBytes = maxEventBytes }

    public enum Failure: Error, Sendable { case eventTooLarge(Int) }

    /// Feeds the next chunk; returns the events it completed.
    public mutating func feed(_ chunk: some Sequence<UInt8>) throws(Failure) -> [SSEEvent] {
        var events: [SSEEvent] = []
        for byte in chunk {
            if byte == 0x0A, lastWasCR {
                lastWasCR = false
                continue
            }
            lastWasCR = byte == 0x0D
            if byte == 0x0A || byte == 0x0D {
                if let event = endLine() { events.append(event) }
            } else {
                line.append(byte)
                if line.count + data.count > maxEventBytes { throw .eventTooLarge(maxEventBytes) }
            }
        }
        return events
    }

    private mutating func endLine() -> SSEEvent? {
        defer { line.removeAll(keepingCapacity: true) }
        if line.isEmpty {
            defer {
                data.removeAll(keepingCapacity: false)
                hasData = false
                event = ""
            }
            guard hasData else { return nil }
            return SSEEvent(event: event.isEmpty ? "message" : event, data: data, id: id)
        }
        if line.first == UInt8(ascii: ":") { return nil }
        let colon = line.firstIndex(of: UInt8(ascii: ":")) ?? line.endIndex
        let field = String(decoding: line[..<colon], as: UTF8.self)
        var value = colon < line.endIndex ? line[(colon + 1)...] : []
        if value.first == UInt8(ascii: " ") { value = value.dropFirst() }
        switch field {
        case "data":
            if hasData { data.append(0x0A) }
            data += value
            hasData = true
        case "event": event = String(decoding: value, as: UTF8.self)
        case "id": id = String(decoding: value, as: UTF8.self)
        default: break
        }
        return nil
    }
}
