/// Reads HTTP/1.x messages — requests on the gateway's listeners, responses from its upstreams —
/// from the bytes of one connection, as strictly as NIO's llhttp decoder or more: what could make
/// two parsers disagree about where a message ends (request smuggling) is refused.
///
/// I/O-free: the caller keeps the connection's unread bytes and calls ``parse(_:)`` with them;
/// each call returns one part and how many bytes it consumed. Heads are returned as ranges into
/// those bytes (``HTTP1Head``) and body data as a range, so the caller copies nothing it does not
/// keep. The parser remembers how far it searched an incomplete head, so a client sending one
/// byte at a time costs one scan of each byte, not one per read.
///
/// Refused (``HTTP1Error``), each with the status a server answers with:
/// - line ends other than CRLF (a bare LF or CR), obs-fold, whitespace before a field's colon,
///   control characters in a field, a field name that is not a token;
/// - `Content-Length` values that disagree or are not decimal digits; `Content-Length` with
///   `Transfer-Encoding`; `Transfer-Encoding` in an HTTP/1.0 request, or without `chunked` last,
///   or with `chunked` twice; a transfer coding other than `chunked` (501);
/// - a request without `Host` (HTTP/1.1) or with two;
/// - malformed chunk sizes and extensions, chunk data not followed by CRLF;
/// - a request line over `maxRequestLineBytes` (414 when it is the target that is long), a head
///   over `maxHeadBytes` or with more than `maxFields` fields (431); versions other than 1.0 and 1.1
///   (505).
public struct HTTP1Parser: Sendable {
    public enum Role: Sendable {
        /// Requests, on a server connection.
        case request
        /// Responses, on a client connection.
        case response
    }

    /// What one call found. A call may consume bytes and still return `needMore` (framing, or
    /// empty lines before a head): call again with the rest until a call consumes nothing.
    public enum Part: Sendable, Equatable {
        /// Nothing complete: when nothing was consumed, wait for more bytes.
        case needMore
        /// A message's head. Its ranges are into the bytes of this call.
        case head(HTTP1Head)
        /// Body data: this range of the bytes of this call.
        case body(Range<Int>)
        /// The message ended (its body, if any, was all returned).
        case end
    }

    private enum State: Sendable {
        /// Waiting for a head; how far it was searched.
        case head(HTTP1Scan)
        case body(remaining: Int)
        case chunkSize(value: Int, digits: Int)
        /// After the size: extensions (skipped), up to CR.
        case chunkExtension(lineBytes: Int)
        case chunkSizeLF(size: Int)
        case chunkData(remaining: Int)
        case chunkDataCR
        case chunkDataLF
        /// The trailer section after the last chunk, searched like a head.
        case trailers(HTTP1Scan)
        case untilClose
        /// The message ended; the next call says so.
        case ending
    }

    public let role: Role
    public var limits: HTTP1Limits
    /// For responses: the request was HEAD (its response has no body whatever its fields say).
    public var requestIsHEAD = false
    private var state: State = .head(HTTP1Scan())
    /// A chunk size being read, for `chunkExtension` to return to.
    private var pendingChunkSize = 0

    public init(role: Role, limits: HTTP1Limits = HTTP1Limits()) {
        self.role = role
        self.limits = limits
    }

    /// Whether the parser is between messages (nothing of the next one read yet).
    public var isIdle: Bool {
        if case .head(let scan) = state { return scan.searched == 0 }
        return false
    }

    /// Whether the current response's body ends when the connection closes.
    public var readsUntilClose: Bool { if case .untilClose = state { true } else { false } }

    /// Reads the next part from `bytes` (the connection's unread bytes).
    public mutating func parse(_ bytes: UnsafeRawBufferPointer) throws(HTTP1Error) -> (part: Part, consumed: Int) {
        switch state {
        case .head(var scan):
            // Empty lines before a request line are ignored (RFC 9112 §2.2).
            if scan.searched == 0, bytes.first == 0x0D {
                guard bytes.count >= 2 else { return (.needMore, 0) }
                if bytes[1] == 0x0A { return (.needMore, 2) }
            }
            guard let end = try scan.sectionEnd(bytes, limits: limits, role: role) else {
                state = .head(scan)
                return (.needMore, 0)
            }
            var head = try HTTP1HeadReader(bytes: bytes, end: end, role: role, limits: limits).read()
            if role == .response, requestIsHEAD || (100..<200).contains(head.status) || head.status == 204 || head.status == 304 {
                head.framing = .none
            }
            state = .head(HTTP1Scan())
            if role == .response, (100..<200).contains(head.status) { return (.head(head), end) } // interim: no body, no end
            switch head.framing {
            case .none: state = .ending
            case .length(let count): state = .body(remaining: count)
            case .chunked: state = .chunkSize(value: 0, digits: 0)
            case .untilClose: state = .untilClose
            }
            return (.head(head), end)
        case .ending:
            state = .head(HTTP1Scan())
            return (.end, 0)
        case .body(let remaining):
            guard !bytes.isEmpty else { return (.needMore, 0) }
            let count = min(remaining, bytes.count)
            state = count == remaining ? .ending : .body(remaining: remaining - count)
            return (.body(0..<count), count)
        case .untilClose:
            guard !bytes.isEmpty else { return (.needMore, 0) }
            return (.body(0..<bytes.count), bytes.count)
        case .trailers(var scan):
            guard let end = try scan.sectionEnd(bytes, limits: limits, role: nil) else {
                state = .trailers(scan)
                return (.needMore, 0)
            }
            try HTTP1HeadReader.checkTrailers(bytes, end: end, limits: limits)
            state = .head(HTTP1Scan())
            return (.end, end)
        default:
            return try parseChunked(bytes)
        }
    }

    /// The connection closed. Returns `.end` when that ends a body read until close; throws when
    /// it cuts a message short (nil: between messages, nothing lost).
    public mutating func connectionClosed() throws(HTTP1Error) -> Part? {
        switch state {
        case .untilClose, .ending:
            state = .head(HTTP1Scan())
            return .end
        case .head(let scan) where scan.searched == 0:
            return nil
        default:
            throw HTTP1Error(.malformed, "the connection closed in the middle of a message")
        }
    }

    /// Chunk framing: sizes, extensions and the CRLF after each chunk, until the data of a chunk
    /// (returned as body) or the trailers.
    private mutating func parseChunked(_ bytes: UnsafeRawBufferPointer) throws(HTTP1Error) -> (part: Part, consumed: Int) {
        var index = 0
        while index < bytes.count {
            let byte = bytes[index]
            switch state {
            case .chunkSize(let value, let digits):
                if let digit = HTTP1Scan.hexValue(byte) {
                    guard digits < 15 else { throw HTTP1Error(.malformed, "a chunk size is too large") }
                    state = .chunkSize(value: value << 4 | digit, digits: digits + 1)
                } else {
                    guard digits > 0 else { throw HTTP1Error(.malformed, "a chunk size is not hexadecimal") }
                    pendingChunkSize = value
                    if byte == 0x0D {
                        state = .chunkSizeLF(size: value)
                    } else if byte == UInt8(ascii: ";") || byte == 0x20 || byte == 0x09 {
                        state = .chunkExtension(lineBytes: digits + 1)
                    } else {
                        throw HTTP1Error(.malformed, "a chunk size is followed by something other than an extension or CRLF")
                    }
                }
            case .chunkExtension(let lineBytes):
                if byte == 0x0D {
                    state = .chunkSizeLF(size: pendingChunkSize)
                } else {
                    guard byte == 0x09 || (byte >= 0x20 && byte != 0x7F) else {
                        throw HTTP1Error(.malformed, "a chunk extension has a control character")
                    }
                    guard lineBytes < 4096 else { throw HTTP1Error(.malformed, "a chunk extension is longer than 4096 bytes") }
                    state = .chunkExtension(lineBytes: lineBytes + 1)
                }
            case .chunkSizeLF(let size):
                guard byte == 0x0A else { throw HTTP1Error(.malformed, "a chunk size line does not end with CRLF") }
                state = size == 0 ? .trailers(HTTP1Scan(firstLineEnded: true)) : .chunkData(remaining: size)
                index += 1
                if size == 0 { return (.needMore, index) } // the trailers are searched from here
                continue
            case .chunkData(let remaining):
                if index > 0 { return (.needMore, index) } // framing consumed; the data comes in its own call
                let count = min(remaining, bytes.count)
                state = count == remaining ? .chunkDataCR : .chunkData(remaining: remaining - count)
                return (.body(0..<count), count)
            case .chunkDataCR:
                guard byte == 0x0D else { throw HTTP1Error(.malformed, "chunk data is not followed by CRLF") }
                state = .chunkDataLF
            case .chunkDataLF:
                guard byte == 0x0A else { throw HTTP1Error(.malformed, "chunk data is not followed by CRLF") }
                state = .chunkSize(value: 0, digits: 0)
            default:
                return (.needMore, index)
            }
            index += 1
        }
        return (.needMore, index)
    }
}
