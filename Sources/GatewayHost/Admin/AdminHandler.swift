import NIOCore
import NIOHTTP1
import Prometheus

/// The admin listener: `GET /metrics` (Prometheus text format), `GET /healthz`.
final class AdminHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let registry: PrometheusCollectorRegistry
    private let inFlight: InFlightCounter
    private var path: String?

    init(registry: PrometheusCollectorRegistry, inFlight: InFlightCounter) {
        self.registry = registry
        self.inFlight = inFlight
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch Self.unwrapInboundIn(data) {
        case .head(let head): path = head.uri
        case .body: break
        case .end:
            let (status, contentType, body): (HTTPResponseStatus, String, [UInt8])
            switch path {
            case "/metrics":
                var bytes = registry.emitToBuffer()
                bytes.append(contentsOf: Array("# TYPE agw_requests_in_flight gauge\nagw_requests_in_flight \(inFlight.value)\n".utf8))
                (status, contentType, body) = (.ok, "text/plain; version=0.0.4", bytes)
            case "/healthz":
                (status, contentType, body) = (.ok, "text/plain", Array("ok\n".utf8))
            default:
                (status, contentType, body) = (.notFound, "text/plain", Array("admin endpoints: /metrics, /healthz\n".utf8))
            }
            var head = HTTPResponseHead(version: .http1_1, status: status)
            head.headers.add(name: "content-type", value: contentType)
            head.headers.add(name: "content-length", value: String(body.count))
            context.write(Self.wrapOutboundOut(.head(head)), promise: nil)
            context.write(Self.wrapOutboundOut(.body(.byteBuffer(ByteBuffer(bytes: body)))), promise: nil)
            context.writeAndFlush(Self.wrapOutboundOut(.end(nil)), promise: nil)
        }
    }
}
