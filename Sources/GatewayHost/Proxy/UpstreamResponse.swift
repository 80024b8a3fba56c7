import HTTP1
import NIOCore
import NIOHTTP1

/// What an upstream connection hands its call, part by part.
enum UpstreamPart {
    case head(UpstreamHead)
    /// Body data: a slice of what was read (no copy).
    case body(ByteBuffer)
    case end
}

/// A response head as read: the parsed ranges over the head's bytes (a slice of the read, no
/// copy). A call reads fields as bytes; an HTTP/1 client gets the kept fields from these bytes
/// (``forEachForwardedField(_:)``), anything else NIO's type (``forwardedHead``).
struct UpstreamHead {
    let head: HTTP1Head
    let bytes: ByteBuffer

    var status: Int { head.status }
    var version: HTTPVersion { head.minorVersion == 1 ? .http1_1 : .http1_0 }

    /// The head to forward as NIO's type (for filters, handlers and HTTP/2), a `String` made only
    /// for each field kept (see ``forEachForwardedField(_:)``).
    var forwardedHead: HTTPResponseHead {
        var kept: [(String, String)] = []
        kept.reserveCapacity(head.fields.count)
        forEachForwardedField { name, value in
            kept.append((String(decoding: name, as: UTF8.self), String(decoding: value, as: UTF8.self)))
        }
        return HTTPResponseHead(version: version, status: HTTPResponseStatus(statusCode: head.status), headers: HTTPHeaders(kept))
    }

    /// Calls `body` with the name and value of each field to forward, in order, in place (valid
    /// during the call): all but hop-by-hop fields and those a `Connection` field names.
    func forEachForwardedField(_ body: (UnsafeRawBufferPointer, UnsafeRawBufferPointer) -> Void) {
        bytes.withUnsafeReadableBytes { bytes in
            func view(_ range: Range<Int>) -> UnsafeRawBufferPointer { UnsafeRawBufferPointer(rebasing: bytes[range]) }
            let hasConnection = head.fields.contains { FieldName.bytes(view($0.name), are: "connection") }
            for field in head.fields {
                let name = view(field.name)
                if FieldName.isHopByHop(name) { continue }
                if hasConnection, head.fields.contains(where: { FieldName.bytes(view($0.name), are: "connection") && Self.list(view($0.value), names: name) }) {
                    continue
                }
                body(name, view(field.value))
            }
        }
    }

    /// Whether the comma-separated `list` (a `Connection` value) has `name` as an element, in any case.
    static func list(_ list: UnsafeRawBufferPointer, names name: UnsafeRawBufferPointer) -> Bool {
        var cursor = 0
        while let element = HTTP1Characters.nextListElement(list, in: 0..<list.count, at: &cursor) {
            if FieldName.bytes(UnsafeRawBufferPointer(rebasing: list[element]), equal: name) { return true }
        }
        return false
    }

    /// Calls `body` with each field's name and value in place, valid during the call.
    func withFields<R>(_ body: (UnsafeRawBufferPointer, [HTTP1Field]) -> R) -> R {
        bytes.withUnsafeReadableBytes { body($0, head.fields) }
    }
}
