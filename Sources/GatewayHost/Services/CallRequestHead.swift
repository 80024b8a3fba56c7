import ABIInterop
import HTTP1
import JSON
import NIOCore
import PluginABI

/// Writes the request head of a plugin's `http_call` straight from the plugin's bytes: no
/// `String` per header, one buffer. Hop-by-hop fields and `content-length` are the host's to
/// set; `host` is added when the plugin did not set it. The caller checked the fields
/// (`HeaderValidation`) and the method; the target comes from `CallTarget`, which admits only
/// request-target bytes.
struct CallRequestHead {
    /// The encoded head, ready to send (and to send again on a retry); with a small body, the
    /// body too (see ``finish(body:)``).
    private(set) var bytes: ByteBuffer
    /// The plugin set `traceparent` itself.
    let hasTraceparent: Bool
    let isHEAD: Bool

    /// Nil when the method is not a token.
    init?(request: agw_http_call_request, target: CallTarget) {
        let get: StaticString = "GET"
        let method = request.method.len == 0 ? UnsafeRawBufferPointer(start: get.utf8Start, count: 3) : request.method.rawBuffer
        guard HTTP1Characters.areToken(method) else { return nil }
        let sendsLength = request.body.len > 0 || method.isExactly("POST") || method.isExactly("PUT") || method.isExactly("PATCH")
        let requestLine: StaticString = " HTTP/1.1\r\n", hostName: StaticString = "host: ", lengthName: StaticString = "content-length: "
        var total = method.count + 1 + target.pathAndQuery.utf8.count + requestLine.utf8CodeUnitCount
            + hostName.utf8CodeUnitCount + target.hostHeader.utf8.count + 2 + lengthName.utf8CodeUnitCount + 20 + 2
        for index in 0..<request.header_count {
            total += request.headers[index].name.len + request.headers[index].value.len + 4
        }
        var out = ByteBufferAllocator().buffer(capacity: total + 2 + request.body.len)
        var hasTraceparent = false
        // One reservation for the whole head. Bounds: `room` holds the request line, every
        // field's name, value, ": " and CRLF, `host`, and a length of up to 20 digits (all
        // counted in `total`); what is written is a subset of that.
        out.writeWithUnsafeMutableBytes(minimumWritableBytes: total) { room in
            var at = HeadBytes.copy(method, to: room, at: 0)
            room[at] = UInt8(ascii: " ")
            at += 1
            at += HeadBytes.copy(target.pathAndQuery, to: room, at: at)
            at += HeadBytes.copy(requestLine, to: room, at: at)
            var hasHost = false
            for index in 0..<request.header_count {
                let name = request.headers[index].name.rawBuffer
                if Self.isDropped(name) { continue }
                if FieldName.bytes(name, are: "host") { hasHost = true }
                if FieldName.bytes(name, are: "traceparent") { hasTraceparent = true }
                at += HeadBytes.copy(name, to: room, at: at)
                room[at] = UInt8(ascii: ":")
                room[at + 1] = UInt8(ascii: " ")
                at += 2
                at += HeadBytes.copy(request.headers[index].value.rawBuffer, to: room, at: at)
                room[at] = 0x0D
                room[at + 1] = 0x0A
                at += 2
            }
            if !hasHost {
                at += HeadBytes.copy(hostName, to: room, at: at)
                at += HeadBytes.copy(target.hostHeader, to: room, at: at)
                room[at] = 0x0D
                room[at + 1] = 0x0A
                at += 2
            }
            if sendsLength {
                at += HeadBytes.copy(lengthName, to: room, at: at)
                at += Self.writeDecimal(request.body.len, to: room, at: at)
                room[at] = 0x0D
                room[at + 1] = 0x0A
                at += 2
            }
            return at
        }
        bytes = out
        self.hasTraceparent = hasTraceparent
        isHEAD = method.isExactly("HEAD")
    }

    /// Adds a field (before ``finish()``).
    mutating func add(_ name: String, _ value: String) {
        HeadBytes.writeField(name, value, into: &bytes)
    }

    /// Ends the head. A body up to ``HTTP1ResponseWriter/coalesceLimit`` is written after it,
    /// into the room reserved with the head (one copy, one write); a larger one is returned to
    /// go out as its own buffer.
    mutating func finish(body: UnsafeRawBufferPointer) -> ByteBuffer? {
        bytes.writeStaticString("\r\n")
        guard !body.isEmpty else { return nil }
        if body.count <= HTTP1ResponseWriter.coalesceLimit {
            bytes.writeBytes(body)
            return nil
        }
        return ByteBuffer(bytes: body)
    }

    /// The fields a plugin may not set on a call: hop-by-hop ones and `content-length` (the host
    /// frames the message).
    private static func isDropped(_ name: UnsafeRawBufferPointer) -> Bool {
        FieldName.isHopByHop(name) || FieldName.bytes(name, are: "content-length")
    }

    /// `value`'s decimal digits (at most 20 for an `Int`) at `offset`; returns how many.
    private static func writeDecimal(_ value: Int, to room: UnsafeMutableRawBufferPointer, at offset: Int) -> Int {
        var digits = 1, rest = value / 10
        while rest > 0 {
            digits += 1
            rest /= 10
        }
        var remaining = value
        for position in stride(from: offset + digits - 1, through: offset, by: -1) {
            room[position] = UInt8(truncatingIfNeeded: 48 + remaining % 10)
            remaining /= 10
        }
        return digits
    }
}
