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
/// copy). A call reads fields as bytes; ``forwardedHead`` makes NIO's type for the exchange.
struct UpstreamHead {
    let head: HTTP1Head
    let bytes: ByteBuffer

    var status: Int { head.status }
    var version: HTTPVersion { head.minorVersion == 1 ? .http1_1 : .http1_0 }

    /// The head to forward: hop-by-hop fields and those the `Connection` field names left out,
    /// a `String` made only for what is kept.
    var forwardedHead: HTTPResponseHead {
        let headers = bytes.withUnsafeReadableBytes { bytes -> HTTPHeaders in
            func view(_ range: Range<Int>) -> UnsafeRawBufferPointer { UnsafeRawBufferPointer(rebasing: bytes[range]) }
            var connectionTokens: [UnsafeRawBufferPointer] = []
            for field in head.fields where FieldName.bytes(view(field.name), are: "connection") {
                for token in view(field.value).split(separator: UInt8(ascii: ",")) {
                    var token = token
                    while let first = token.first, first == 0x20 || first == 0x09 { token = token.dropFirst() }
                    while let last = token.last, last == 0x20 || last == 0x09 { token = token.dropLast() }
                    if !token.isEmpty { connectionTokens.append(UnsafeRawBufferPointer(rebasing: token)) }
                }
            }
            var kept: [(String, String)] = []
            kept.reserveCapacity(head.fields.count)
            for field in head.fields {
                let name = view(field.name)
                if FieldName.isHopByHop(name) || connectionTokens.contains(where: { Self.equalIgnoringCase($0, name) }) { continue }
                kept.append((String(decoding: name, as: UTF8.self), String(decoding: view(field.value), as: UTF8.self)))
            }
            return HTTPHeaders(kept)
        }
        return HTTPResponseHead(version: version, status: HTTPResponseStatus(statusCode: head.status), headers: headers)
    }

    private static func equalIgnoringCase(_ a: UnsafeRawBufferPointer, _ b: UnsafeRawBufferPointer) -> Bool {
        a.count == b.count && zip(a, b).allSatisfy { x, y in (x >= 0x41 && x <= 0x5A ? x | 0x20 : x) == (y >= 0x41 && y <= 0x5A ? y | 0x20 : y) }
    }

    /// Calls `body` with each field's name and value in place, valid during the call.
    func withFields<R>(_ body: (UnsafeRawBufferPointer, [HTTP1Field]) -> R) -> R {
        bytes.withUnsafeReadableBytes { body($0, head.fields) }
    }
}
