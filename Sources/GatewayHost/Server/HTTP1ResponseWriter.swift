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
        let code = head.status.code
        let mayHaveBody = !(100..<200).contains(code) && code != 204 && code != 304
        let hasLength = mayHaveBody && head.headers.contains { HeadBytes.nameIs($0.name, "content-length") }
        let isChunked = mayHaveBody && !hasLength && head.version.minor >= 1
        if !mayHaveBody || requestIsHEAD {
            framing = .none
        } else {
            framing = hasLength ? .length : (isChunked ? .chunked : .untilClose)
        }
        let keepOpen = !closing && framing != .untilClose
        // The writer frames the body itself: the handler's or upstream's coding never goes out
        // (a length and a coding at once would be smuggling bait), nor a length where no body may be.
        Self.write(head, into: &pending, addChunked: isChunked, addClose: !keepOpen) { name in
            !HeadBytes.nameIs(name, "transfer-encoding") && (mayHaveBody || !HeadBytes.nameIs(name, "content-length"))
                && (keepOpen || !HeadBytes.nameIs(name, "connection"))
        }
        return keepOpen
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
        if framing == .chunked { Self.writeChunkSize(count, into: &pending) }
        return chunk
    }

    /// Gathers a chunk of up to ``coalesceLimit`` bytes from borrowed memory; false for a larger
    /// one (the caller writes it as a buffer).
    mutating func writeBody(bytes: UnsafeRawBufferPointer) -> Bool {
        guard bytes.count <= Self.coalesceLimit else { return false }
        guard bytes.count > 0, framing != .none else { return true }
        if framing == .chunked { Self.writeChunkSize(bytes.count, into: &pending) }
        pending.writeBytes(bytes)
        if framing == .chunked { pending.writeStaticString("\r\n") }
        return true
    }

    /// After a large chunk went out on its own: its trailing CRLF (chunked).
    mutating func chunkWritten() {
        if framing == .chunked { pending.writeStaticString("\r\n") }
    }

    /// The end of the response: the last chunk when chunked.
    mutating func writeEnd() {
        if framing == .chunked { pending.writeStaticString("0\r\n\r\n") }
        framing = .none
    }

    /// What was gathered, for one write. The buffer is reused: once the socket took the bytes
    /// it is the writer's alone again, so the next response writes into it without allocating.
    mutating func takePending() -> ByteBuffer? {
        guard pending.readableBytes > 0 else { return nil }
        let out = pending
        pending.clear()
        return out
    }

    // MARK: - Bytes

    /// The whole head in one reservation: the status line, the fields `keep` accepts, the framing
    /// fields the writer adds (a HEAD response says what the GET's framing would be), the blank line.
    static func write(_ head: HTTPResponseHead, into buffer: inout ByteBuffer, addChunked: Bool, addClose: Bool,
                      keep: (String) -> Bool) {
        let chunked: StaticString = "transfer-encoding: chunked\r\n", close: StaticString = "connection: close\r\n"
        let version: StaticString = "HTTP/1.1 ", crlf: StaticString = "\r\n"
        var reason = head.status.reasonPhrase
        let code = Int(head.status.code)
        reason.withUTF8 { reason in
            var total = 13 + reason.count + 2 + chunked.utf8CodeUnitCount + close.utf8CodeUnitCount + 2
            for (name, value) in head.headers { total += name.utf8.count + value.utf8.count + 4 }
            // Bounds: `total` counts every byte below (the fields written are a subset of those counted).
            buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: total) { room in
                var at = HeadBytes.copy(version, to: room, at: 0)
                if head.version.minor == 0 { room[7] = UInt8(ascii: "0") }
                room[at] = UInt8(truncatingIfNeeded: 48 + code / 100 % 10)
                room[at + 1] = UInt8(truncatingIfNeeded: 48 + code / 10 % 10)
                room[at + 2] = UInt8(truncatingIfNeeded: 48 + code % 10)
                room[at + 3] = UInt8(ascii: " ")
                at += 4
                at += HeadBytes.copy(UnsafeRawBufferPointer(reason), to: room, at: at)
                at += HeadBytes.copy(crlf, to: room, at: at)
                at += HeadBytes.writeFields(head.headers, into: UnsafeMutableRawBufferPointer(rebasing: room[at...]), keep: keep)
                if addChunked { at += HeadBytes.copy(chunked, to: room, at: at) }
                if addClose { at += HeadBytes.copy(close, to: room, at: at) }
                at += HeadBytes.copy(crlf, to: room, at: at)
                return at
            }
        }
    }

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
