import NIOCore
import NIOHTTP1

/// Writes an HTTP/1.1 request to an upstream as bytes, framed as NIO's request encoder frames
/// it: the head as given (the caller sets `content-length` or `transfer-encoding: chunked`); a
/// POST, PUT or PATCH with neither gets `transfer-encoding: chunked`; chunked bodies are framed
/// chunk by chunk.
struct HTTP1RequestWriter {
    /// The request being written is chunked (its body is framed chunk by chunk).
    var isChunked = false

    /// Writes `head`; returns whether its body is chunked.
    static func writeHead(_ head: HTTPRequestHead, into out: inout ByteBuffer) -> Bool {
        out.writeString(head.method.rawValue)
        out.writeInteger(UInt8(ascii: " "))
        out.writeString(head.uri)
        out.writeStaticString(head.version.minor == 0 ? " HTTP/1.0\r\n" : " HTTP/1.1\r\n")
        var hasLength = false
        var isChunked = false
        for (name, value) in head.headers {
            if HeadBytes.nameIs(name, "content-length") { hasLength = true }
            if HeadBytes.nameIs(name, "transfer-encoding") { isChunked = value.lowercased().hasSuffix("chunked") }
        }
        HeadBytes.writeFields(head.headers, into: &out) { _ in true }
        if !hasLength, !isChunked, [.POST, .PUT, .PATCH].contains(head.method) {
            out.writeStaticString("transfer-encoding: chunked\r\n")
            isChunked = true
        }
        out.writeStaticString("\r\n")
        return isChunked
    }

    /// A body chunk copied into `out`, framed when chunked.
    func writeBody(_ chunk: ByteBuffer, into out: inout ByteBuffer) {
        guard chunk.readableBytes > 0 else { return }
        if isChunked { HTTP1ResponseWriter.writeChunkSize(chunk.readableBytes, into: &out) }
        var chunk = chunk
        out.writeBuffer(&chunk)
        if isChunked { out.writeStaticString("\r\n") }
    }

    /// For a chunk written on its own: the framing before it.
    func writeChunkSize(_ count: Int, into out: inout ByteBuffer) {
        if isChunked { HTTP1ResponseWriter.writeChunkSize(count, into: &out) }
    }

    /// And after it.
    func writeChunkEnd(into out: inout ByteBuffer) {
        if isChunked { out.writeStaticString("\r\n") }
    }

    func writeEnd(into out: inout ByteBuffer) {
        if isChunked { out.writeStaticString("0\r\n\r\n") }
    }
}
