import NIOCore
import NIOHTTP1

/// The admin listener's connection handler: collects one request (body up to
/// `AdminAPI.maxBodyBytes`, else 413), asks `AdminAPI`, writes its answer.
final class AdminHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let api: AdminAPI
    private var head: HTTPRequestHead?
    private var body: ByteBuffer?
    private var tooLarge = false

    init(api: AdminAPI) { self.api = api }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch Self.unwrapInboundIn(data) {
        case .head(let head):
            self.head = head
            body = nil
            tooLarge = false
        case .body(var chunk):
            guard !tooLarge else { return }
            if (body?.readableBytes ?? 0) + chunk.readableBytes > AdminAPI.maxBodyBytes {
                tooLarge = true
                body = nil
            } else if body == nil {
                body = chunk
            } else {
                body!.writeBuffer(&chunk)
            }
        case .end:
            guard let head else { return }
            self.head = nil
            if tooLarge {
                write(.text(.payloadTooLarge, "the body exceeds \(AdminAPI.maxBodyBytes) bytes\n"), version: head.version, context: context)
                return
            }
            let request = AdminAPI.Request(method: head.method, uri: head.uri, authorization: head.headers.first(name: "authorization"),
                                           body: body, peer: context.channel.remoteAddress)
            body = nil
            let api = self.api
            let loop = context.eventLoop
            let bound = NIOLoopBound((self, context), eventLoop: loop)
            let promise = loop.makePromise(of: AdminAPI.Response.self)
            promise.completeWithTask { await api.respond(request) }
            promise.futureResult.whenSuccess { response in
                let (handler, context) = bound.value
                handler.write(response, version: head.version, context: context)
            }
        }
    }

    private func write(_ response: AdminAPI.Response, version: HTTPVersion, context: ChannelHandlerContext) {
        var head = HTTPResponseHead(version: version, status: response.status)
        head.headers.add(name: "content-type", value: response.contentType)
        head.headers.add(name: "content-length", value: String(response.body.count))
        for (name, value) in response.headers { head.headers.add(name: name, value: value) }
        context.write(Self.wrapOutboundOut(.head(head)), promise: nil)
        context.write(Self.wrapOutboundOut(.body(.byteBuffer(ByteBuffer(bytes: response.body)))), promise: nil)
        context.writeAndFlush(Self.wrapOutboundOut(.end(nil)), promise: nil)
    }
}
