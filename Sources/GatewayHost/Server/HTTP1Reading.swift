import HTTP1
import NIOCore
import NIOHTTP1

/// ``HTTP1Parser`` over a connection's `ByteBuffer`: what both HTTP/1 sides of the gateway (the
/// listeners' ``HTTP1ServerHandler`` and the upstream pools' `PooledConnection.Handler`) do with
/// each read.
extension HTTP1Parser {
    /// What one step found.
    enum Step {
        /// Nothing complete; `progress`: bytes were used (framing), so there may be more to read.
        case needMore(progress: Bool)
        /// A head, and its bytes (a slice, no copy: the head's ranges index them).
        case head(HTTP1Head, bytes: ByteBuffer)
        /// Body data: a slice of the buffer (no copy).
        case body(ByteBuffer)
        case end
    }

    /// One step over `buffer`'s readable bytes; what it used is consumed.
    mutating func step(_ buffer: inout ByteBuffer) throws(HTTP1Error) -> Step {
        let result: Result<(part: Part, consumed: Int), HTTP1Error> = buffer.withUnsafeReadableBytes { bytes in
            Result { () throws(HTTP1Error) in try parse(bytes) }
        }
        let (part, consumed) = try result.get()
        defer { buffer.moveReaderIndex(forwardBy: consumed) }
        switch part {
        case .needMore: return .needMore(progress: consumed > 0)
        case .head(let head): return .head(head, bytes: buffer.getSlice(at: buffer.readerIndex, length: consumed)!)
        case .body(let range): return .body(buffer.getSlice(at: buffer.readerIndex + range.lowerBound, length: range.count)!)
        case .end: return .end
        }
    }

    /// A request head as NIO's type (the exchange and plugins read it): a `String` per name and value.
    static func requestHead(_ head: HTTP1Head, in buffer: ByteBuffer) -> HTTPRequestHead {
        buffer.withUnsafeReadableBytes { bytes in
            HTTPRequestHead(version: head.minorVersion == 1 ? .http1_1 : .http1_0,
                            method: HTTPMethodBytes.method(UnsafeRawBufferPointer(rebasing: bytes[head.method])),
                            uri: String(decoding: UnsafeRawBufferPointer(rebasing: bytes[head.target]), as: UTF8.self),
                            headers: headers(head, in: bytes))
        }
    }

    /// The head's fields as `HTTPHeaders` (a `String` per name and value).
    static func headers(_ head: HTTP1Head, in bytes: UnsafeRawBufferPointer) -> HTTPHeaders {
        var fields: [(String, String)] = []
        fields.reserveCapacity(head.fields.count)
        for field in head.fields {
            fields.append((String(decoding: UnsafeRawBufferPointer(rebasing: bytes[field.name]), as: UTF8.self),
                           String(decoding: UnsafeRawBufferPointer(rebasing: bytes[field.value]), as: UTF8.self)))
        }
        return HTTPHeaders(fields)
    }
}
