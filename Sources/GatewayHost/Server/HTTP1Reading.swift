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
        /// A head, its fields as NIO's type (the exchange and plugins read them); a request's
        /// method and target (a response's are `.GET` and "").
        case head(HTTP1Head, HTTPHeaders, method: HTTPMethod, target: String)
        /// Body data: a slice of the buffer (no copy).
        case body(ByteBuffer)
        case end
    }

    /// One step over `buffer`'s readable bytes; what it used is consumed.
    mutating func step(_ buffer: inout ByteBuffer) throws(HTTP1Error) -> Step {
        let role = self.role
        let result: Result<(part: Part, consumed: Int, head: Step?), HTTP1Error> = buffer.withUnsafeReadableBytes { bytes in
            Result { () throws(HTTP1Error) in
                let (part, consumed) = try parse(bytes)
                guard case .head(let head) = part else { return (part, consumed, nil) }
                // Copied out while the bytes are at hand: the fields, and a request's method and target.
                let headers = Self.headers(head, in: bytes)
                guard role == .request else { return (part, consumed, .head(head, headers, method: .GET, target: "")) }
                let method = HTTPMethodBytes.method(UnsafeRawBufferPointer(rebasing: bytes[head.method]))
                let target = String(decoding: UnsafeRawBufferPointer(rebasing: bytes[head.target]), as: UTF8.self)
                return (part, consumed, .head(head, headers, method: method, target: target))
            }
        }
        let (part, consumed, head) = try result.get()
        defer { buffer.moveReaderIndex(forwardBy: consumed) }
        switch part {
        case .needMore: return .needMore(progress: consumed > 0)
        case .head: return head!
        case .body(let range): return .body(buffer.getSlice(at: buffer.readerIndex + range.lowerBound, length: range.count)!)
        case .end: return .end
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
