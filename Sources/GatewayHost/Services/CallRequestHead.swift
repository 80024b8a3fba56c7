import ABIInterop
import HTTP1
import NIOCore
import PluginABI

/// Writes the request head of a plugin's `http_call` straight from the plugin's bytes: no
/// `String` per header, one buffer. Hop-by-hop fields and `content-length` are the host's to
/// set; `host` is added when the plugin did not set it. The caller checked the fields
/// (`HeaderValidation`) and the method; the target comes from `CallTarget`, which admits only
/// request-target bytes.
struct CallRequestHead {
    /// The encoded head, ready to send (and to send again on a retry).
    private(set) var bytes: ByteBuffer
    /// The plugin set `traceparent` itself.
    let hasTraceparent: Bool
    let isHEAD: Bool

    /// Nil when the method is not a token.
    init?(request: agw_http_call_request, target: CallTarget) {
        let get: StaticString = "GET"
        let method = request.method.len == 0 ? UnsafeRawBufferPointer(start: get.utf8Start, count: 3) : request.method.rawBuffer
        guard method.allSatisfy(HTTP1Characters.isToken) else { return nil }
        var total = method.count + target.pathAndQuery.utf8.count + target.hostHeader.utf8.count + 64
        for index in 0..<request.header_count {
            total += request.headers[index].name.len + request.headers[index].value.len + 4
        }
        var out = ByteBufferAllocator().buffer(capacity: total + request.body.len)
        out.writeBytes(method)
        out.writeInteger(UInt8(ascii: " "))
        out.writeString(target.pathAndQuery)
        out.writeStaticString(" HTTP/1.1\r\n")
        var hasHost = false
        var hasTraceparent = false
        // Bounds: `room` holds every field's name, value, ": " and CRLF (counted in `total`);
        // the loop writes a subset of them.
        out.writeWithUnsafeMutableBytes(minimumWritableBytes: total) { room in
            var at = 0
            for index in 0..<request.header_count {
                let name = request.headers[index].name.rawBuffer
                if Self.isDropped(name) { continue }
                if FieldName.bytes(name, are: "host") { hasHost = true }
                if FieldName.bytes(name, are: "traceparent") { hasTraceparent = true }
                at += Self.copy(name, to: room, at: at)
                room[at] = UInt8(ascii: ":")
                room[at + 1] = UInt8(ascii: " ")
                at += 2
                at += Self.copy(request.headers[index].value.rawBuffer, to: room, at: at)
                room[at] = 0x0D
                room[at + 1] = 0x0A
                at += 2
            }
            return at
        }
        if !hasHost { HeadBytes.writeField("host", target.hostHeader, into: &out) }
        let sendsLength = request.body.len > 0 || Self.method(method, is: "POST") || Self.method(method, is: "PUT") || Self.method(method, is: "PATCH")
        if sendsLength {
            out.writeStaticString("content-length: ")
            out.writeString(String(request.body.len))
            out.writeStaticString("\r\n")
        }
        bytes = out
        self.hasTraceparent = hasTraceparent
        isHEAD = Self.method(method, is: "HEAD")
    }

    /// Adds a field (before ``finish()``).
    mutating func add(_ name: String, _ value: String) {
        HeadBytes.writeField(name, value, into: &bytes)
    }

    /// Ends the head.
    mutating func finish() {
        bytes.writeStaticString("\r\n")
    }

    /// The fields a plugin may not set on a call: hop-by-hop ones and `content-length` (the host
    /// frames the message).
    private static func isDropped(_ name: UnsafeRawBufferPointer) -> Bool {
        FieldName.isHopByHop(name) || FieldName.bytes(name, are: "content-length")
    }

    /// Methods are case-sensitive.
    private static func method(_ bytes: UnsafeRawBufferPointer, is method: StaticString) -> Bool {
        bytes.count == method.utf8CodeUnitCount && bytes.elementsEqual(UnsafeRawBufferPointer(start: method.utf8Start, count: method.utf8CodeUnitCount))
    }

    private static func copy(_ bytes: UnsafeRawBufferPointer, to room: UnsafeMutableRawBufferPointer, at offset: Int) -> Int {
        guard let base = bytes.baseAddress, bytes.count > 0 else { return 0 }
        UnsafeMutableRawBufferPointer(rebasing: room[offset..<(offset + bytes.count)]).copyMemory(from: UnsafeRawBufferPointer(start: base, count: bytes.count))
        return bytes.count
    }
}
