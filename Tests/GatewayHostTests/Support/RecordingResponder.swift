@testable import GatewayHost
import NIOCore
import NIOHTTP1

/// An ``ExchangeResponder`` that records what an exchange writes.
final class RecordingResponder: ExchangeResponder {
    var head: HTTPResponseHead?
    var body = ByteBuffer()
    var ended = false
    var aborted = false
    var finished = 0
    var isWritable = true

    var status: Int? { head.map { Int($0.status.code) } }
    var text: String { String(buffer: body) }

    func writeHead(_ head: HTTPResponseHead) { self.head = head }

    func writeBody(_ buffer: ByteBuffer, promise: EventLoopPromise<Void>?) {
        var buffer = buffer
        body.writeBuffer(&buffer)
        promise?.succeed()
    }

    /// Gathers like the HTTP/1 writer does (pieces of up to 4 KiB), so both body paths run.
    func writeBody(bytes: UnsafeRawBufferPointer) -> Bool {
        guard bytes.count <= 4096 else { return false }
        body.writeBytes(bytes)
        return true
    }

    func writeEnd() { ended = true }
    func flush() {}
    func abortResponse() { aborted = true }
    func exchangeFinished(_ exchange: Exchange) { finished += 1 }
}
