import NIOCore
import NIOHTTP1

/// Writes an HTTP/1.1 response into bytes: the head (framed as NIO's encoder frames it: no
/// body for HEAD, 1xx, 204 and 304; `Transfer-Encoding: chunked` added when a body has no
/// length), body chunks in the chosen framing, and the end.
///
/// Small pieces (the head, chunk framing, bodies up to ``coalesceLimit``) are gathered in one
/// buffer so a typical response leaves in one write; a larger body is written as its own buffer
/// (no copy), after what was gathered.
struct HTTP1ResponseWriter {
    /// Bodies up to this size are copied next to the head rather than written on their own.
    static let coalesceLimit = 4096

    /// How the body of the response being written is framed.
    enum Framing {
        case none, length, chunked, untilClose
    }

    private(set) var framing: Framing = .none
    /// Bytes gathered for the next write.
    private(set) var pending: ByteBuffer

    init(allocator: ByteBufferAllocator) {
        pending = allocator.buffer(capacity: 512)
    }

    /// Writes `head`. `closing`: the connection closes after this response, which then says
    /// `connection: close`. Returns whether the connection may stay open (not when an HTTP/1.0
    /// body has no length: its end is the close).
    mutating func writeHead(_ head: HTTPResponseHead, requestIsHEAD: Bool, closing: Bool) -> Bool {
        let code = Int(head.status.code)
        var fieldsSize = 0
        for (name, value) in head.headers { fieldsSize += name.utf8.count + value.utf8.count + 4 }
        let framed = head.version.minor >= 1 || head.headers.contains { HeadBytes.nameIs($0.name, "content-length") }
        let keepOpenIfFramed = !closing && (Self.mayHaveBody(code) && !requestIsHEAD ? framed : true)
        return writeHead(code: code, reason: head.status.reasonPhrase, minorVersion: head.version.minor, requestIsHEAD: requestIsHEAD,
                         closing: closing, fieldsSize: fieldsSize) { room in
            var hasLength = false
            // Bounds: `fieldsSize` counts every field with its ": " and CRLF; a subset is written.
            let written = HeadBytes.writeFields(head.headers, into: room) { name in
                if HeadBytes.nameIs(name, "content-length") { hasLength = true }
                return Self.keeps(name: { HeadBytes.nameIs(name, $0) }, code: code, keepOpen: keepOpenIfFramed)
            }
            return (written, hasLength)
        }
    }

    /// Writes an upstream's head from its bytes: the fields ``UpstreamHead/forEachForwardedField(_:)``
    /// keeps, framed as ``writeHead(_:requestIsHEAD:closing:)`` frames NIO's type (what it writes
    /// for `upstream.forwardedHead` with `version`), with no `String` per field.
    mutating func writeHead(forwarding upstream: UpstreamHead, version: HTTPVersion, requestIsHEAD: Bool, closing: Bool) -> Bool {
        let code = upstream.status
        // Each field line as read is at least name + ":" + value + CRLF; written, it is name + ": "
        // + value + CRLF: one byte more per field at most.
        let fieldsSize = upstream.bytes.readableBytes + upstream.head.fields.count
        return writeHead(code: code, reason: HTTPResponseStatus(statusCode: code).reasonPhrase, minorVersion: version.minor,
                         requestIsHEAD: requestIsHEAD, closing: closing, fieldsSize: fieldsSize) { room in
            var at = 0, hasLength = false
            upstream.forEachForwardedField { name, value in
                // `keepOpen` only decides a `connection` field, which is hop-by-hop: never forwarded.
                guard Self.keeps(name: { FieldName.bytes(name, are: $0) }, code: code, keepOpen: true) else { return }
                if FieldName.bytes(name, are: "content-length") { hasLength = true }
                // Bounds: within `fieldsSize` (above).
                at += HeadBytes.copy(name, to: room, at: at)
                room[at] = UInt8(ascii: ":")
                room[at + 1] = UInt8(ascii: " ")
                at += 2
                at += HeadBytes.copy(value, to: room, at: at)
                room[at] = 0x0D
                room[at + 1] = 0x0A
                at += 2
            }
            return (at, hasLength)
        }
    }

    private static func mayHaveBody(_ code: Int) -> Bool { !(100..<200).contains(code) && code != 204 && code != 304 }

    /// The writer frames the body itself: the handler's or upstream's coding never goes out (a
    /// length and a coding at once would be smuggling bait), nor a length where no body may be,
    /// nor the response's own `connection` when the writer closes.
    @inline(__always)
    private static func keeps(name nameIs: (StaticString) -> Bool, code: Int, keepOpen: Bool) -> Bool {
        !nameIs("transfer-encoding") && (mayHaveBody(code) || !nameIs("content-length")) && (keepOpen || !nameIs("connection"))
    }

    /// The status line with `reason`, the fields `writeFields` writes into its room (at most
    /// `fieldsSize` bytes; it returns how many it wrote and whether a `content-length` was among
    /// them), the framing fields the writer adds (a HEAD response says what the GET's framing
    /// would be) and the blank line, in one reservation. Sets ``framing``; returns whether the
    /// connection may stay open.
    private mutating func writeHead(code: Int, reason: String, minorVersion: Int, requestIsHEAD: Bool, closing: Bool, fieldsSize: Int,
                                    writeFields: (UnsafeMutableRawBufferPointer) -> (Int, Bool)) -> Bool {
        let chunked: StaticString = "transfer-encoding: chunked\r\n", close: StaticString = "connection: close\r\n"
        let version: StaticString = "HTTP/1.1 ", crlf: StaticString = "\r\n"
        let mayHaveBody = Self.mayHaveBody(code)
        var framing = Framing.none
        var reason = reason
        reclaim()
        reason.withUTF8 { reason in
            let total = 13 + reason.count + 2 + fieldsSize + chunked.utf8CodeUnitCount + close.utf8CodeUnitCount + 2
            // Bounds: `total` counts every byte below.
            pending.writeWithUnsafeMutableBytes(minimumWritableBytes: total) { room in
                var at = HeadBytes.copy(version, to: room, at: 0)
                if minorVersion == 0 { room[7] = UInt8(ascii: "0") }
                room[at] = UInt8(truncatingIfNeeded: 48 + code / 100 % 10)
                room[at + 1] = UInt8(truncatingIfNeeded: 48 + code / 10 % 10)
                room[at + 2] = UInt8(truncatingIfNeeded: 48 + code % 10)
                room[at + 3] = UInt8(ascii: " ")
                at += 4
                at += HeadBytes.copy(UnsafeRawBufferPointer(reason), to: room, at: at)
                at += HeadBytes.copy(crlf, to: room, at: at)
                let (written, hasLength) = writeFields(UnsafeMutableRawBufferPointer(rebasing: room[at..<(at + fieldsSize)]))
                at += written
                let isChunked = mayHaveBody && !hasLength && minorVersion >= 1
                if mayHaveBody, !requestIsHEAD { framing = hasLength ? .length : (isChunked ? .chunked : .untilClose) }
                if isChunked { at += HeadBytes.copy(chunked, to: room, at: at) }
                if closing || framing == .untilClose { at += HeadBytes.copy(close, to: room, at: at) }
                at += HeadBytes.copy(crlf, to: room, at: at)
                return at
            }
        }
        self.framing = framing
        return !closing && framing != .untilClose
    }

    /// Adds a body chunk. Returns a buffer to write on its own (after taking ``pending``) when the
    /// chunk is too large to gather; nil when it was gathered.
    mutating func writeBody(_ chunk: ByteBuffer, gather: Bool) -> ByteBuffer? {
        let count = chunk.readableBytes
        guard count > 0, framing != .none else { return nil }
        if gather, count <= Self.coalesceLimit {
            _ = chunk.withUnsafeReadableBytes { writeBody(bytes: $0) }
            return nil
        }
        reclaim()
        if framing == .chunked { Self.writeChunkSize(count, into: &pending) }
        return chunk
    }

    /// Gathers a chunk of up to ``coalesceLimit`` bytes from borrowed memory; false for a larger
    /// one (the caller writes it as a buffer).
    mutating func writeBody(bytes: UnsafeRawBufferPointer) -> Bool {
        guard bytes.count <= Self.coalesceLimit else { return false }
        guard bytes.count > 0, framing != .none else { return true }
        reclaim()
        if framing == .chunked { Self.writeChunkSize(bytes.count, into: &pending) }
        pending.writeBytes(bytes)
        if framing == .chunked { pending.writeStaticString("\r\n") }
        return true
    }

    /// After a large chunk went out on its own: its trailing CRLF (chunked).
    mutating func chunkWritten() {
        reclaim()
        if framing == .chunked { pending.writeStaticString("\r\n") }
    }

    /// The end of the response: the last chunk when chunked.
    mutating func writeEnd() {
        reclaim()
        if framing == .chunked { pending.writeStaticString("0\r\n\r\n") }
        framing = .none
    }

    /// What was gathered, for one write. The buffer is reused: once the socket took the bytes
    /// it is the writer's alone again, so the next response writes into it without allocating.
    mutating func takePending() -> ByteBuffer? {
        guard pending.readableBytes > 0 else { return nil }
        let out = pending
        // Not `clear()`: while `out` is in flight the storage is shared, and clearing would
        // allocate new storage now. The next write clears it (``reclaim()``), by then usually the
        // writer's alone again.
        pending.moveReaderIndex(to: pending.writerIndex)
        return out
    }

    /// Before writing: a fully taken buffer starts over at its beginning.
    @inline(__always)
    private mutating func reclaim() {
        if pending.readerIndex > 0, pending.readableBytes == 0 { pending.clear() }
    }

    // MARK: - Bytes

    static func writeChunkSize(_ count: Int, into buffer: inout ByteBuffer) {
        var digits: (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8) =
            (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        var value = count
        var length = 0
        withUnsafeMutableBytes(of: &digits) { room in
            repeat {
                let digit = UInt8(value & 0xF)
                room[15 - length] = digit < 10 ? 48 + digit : 87 + digit
                value >>= 4
                length += 1
            } while value > 0
            buffer.writeBytes(UnsafeRawBufferPointer(rebasing: room[(16 - length)...]))
        }
        buffer.writeStaticString("\r\n")
    }
}
