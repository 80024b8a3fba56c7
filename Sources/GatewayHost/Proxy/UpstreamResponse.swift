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
/// copy). A call reads fields as bytes; ``nioHead`` makes NIO's type for the exchange.
struct UpstreamHead {
    let head: HTTP1Head
    let bytes: ByteBuffer

    var status: Int { head.status }
    var version: HTTPVersion { head.minorVersion == 1 ? .http1_1 : .http1_0 }

    /// NIO's head (a `String` per name and value), for what reads `HTTPHeaders`.
    var nioHead: HTTPResponseHead {
        HTTPResponseHead(version: version, status: HTTPResponseStatus(statusCode: head.status),
                         headers: bytes.withUnsafeReadableBytes { HTTP1Parser.headers(head, in: $0) })
    }

    /// Calls `body` with each field's name and value in place, valid during the call.
    func withFields<R>(_ body: (UnsafeRawBufferPointer, [HTTP1Field]) -> R) -> R {
        bytes.withUnsafeReadableBytes { body($0, head.fields) }
    }
}
