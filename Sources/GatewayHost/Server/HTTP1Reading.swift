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
}

/// A connection's parser and the bytes it has not consumed yet, as one stored value: a handler
/// that keeps them in two properties pays a runtime exclusivity check on each per step (~80
/// instructions apiece); as one, a step is one check.
struct HTTP1Input {
    var parser: HTTP1Parser
    /// Bytes read and not parsed yet.
    var unread = ByteBuffer()

    init(_ parser: HTTP1Parser) { self.parser = parser }

    /// Adds a read's bytes (kept as they are when nothing was waiting: no copy).
    mutating func append(_ bytes: inout ByteBuffer) {
        if unread.readableBytes == 0 { unread = bytes } else { unread.writeBuffer(&bytes) }
    }

    mutating func step() throws(HTTP1Error) -> HTTP1Parser.Step {
        try parser.step(&unread)
    }
}
