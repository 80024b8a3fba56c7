#if canImport(Glibc)
import Glibc
#endif
import Logging
import NIOCore
import Synchronization

/// The connections open on one listening socket, in all and per client address, and the limits
/// on them (`max_connections`, `max_connections_per_client`). A connection over a limit is
/// answered `503` with `connection: close` (plain HTTP) or closed (TLS, where nothing can be said
/// before a handshake), counted, and never served; the connections already open keep being served.
final class ConnectionGate: Sendable {
    enum Refusal: Sendable {
        case listenerFull(Int)
        case clientFull(Int)

        var label: String {
            switch self {
            case .listenerFull: "max_connections"
            case .clientFull: "max_connections_per_client"
            }
        }
    }

    private struct Counts {
        var total = 0
        var byClient: [SocketAddressKey: Int] = [:]
    }

    /// A client's address without its port.
    struct SocketAddressKey: Hashable, Sendable {
        let ip: String
    }

    private let counts = Mutex(Counts())

    /// Connections open now.
    var open: Int { counts.withLock { $0.total } }

    /// Counts a new connection from `address` in, unless a limit refuses it.
    func admit(_ address: SocketAddress?, maxConnections: Int, perClient: Int) -> Refusal? {
        let key = address?.ipAddress.map(SocketAddressKey.init)
        return counts.withLock { counts in
            if counts.total >= maxConnections { return .listenerFull(maxConnections) }
            if perClient > 0, let key {
                let current = counts.byClient[key, default: 0]
                if current >= perClient { return .clientFull(perClient) }
                counts.byClient[key] = current + 1
            }
            counts.total += 1
            return nil
        }
    }

    /// A connection `admit` let in closed.
    func release(_ address: SocketAddress?, perClient: Int) {
        let key = address?.ipAddress.map(SocketAddressKey.init)
        counts.withLock { counts in
            counts.total -= 1
            if perClient > 0, let key, let current = counts.byClient[key] {
                if current <= 1 { counts.byClient.removeValue(forKey: key) } else { counts.byClient[key] = current - 1 }
            }
        }
    }

    /// Answers a refused connection and closes it.
    static func refuse(_ channel: Channel, _ refusal: Refusal, isTLS: Bool) -> EventLoopFuture<Void> {
        guard !isTLS else { return channel.close() }
        let body = "503 Service Unavailable: the gateway has too many connections (\(refusal.label))\n"
        let text = "HTTP/1.1 503 Service Unavailable\r\ncontent-type: text/plain; charset=utf-8\r\ncontent-length: \(body.utf8.count)\r\n"
            + "connection: close\r\nretry-after: 1\r\n\r\n" + body
        // Half-close after the answer and let the client close: closing at once with its request
        // unread would reset the connection and could destroy the 503 before the client reads it.
        channel.writeAndFlush(ByteBuffer(string: text)).whenComplete { _ in
            channel.close(mode: .output, promise: nil)
            channel.eventLoop.scheduleTask(in: .seconds(2)) { channel.close(promise: nil) }
        }
        return channel.eventLoop.makeSucceededVoidFuture()
    }
}

/// Logs and counts errors accepting connections (`EMFILE` when the gateway is out of file
/// descriptors) — once per interval, with how many came since — and passes them on to NIO's
/// accept backoff, which retries after a pause; established connections keep being served.
final class AcceptErrorWatcher: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = NIOAny

    static let logInterval = TimeAmount.seconds(10)

    private let logger: Logger
    private let listener: String
    private let errors: (String) -> Void
    private var lastLogged: NIODeadline?
    private var unlogged = 0

    init(logger: Logger, listener: String, errors: @escaping (String) -> Void) {
        self.logger = logger
        self.listener = listener
        self.errors = errors
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        let reason = (error as? IOError).map { Self.name($0.errnoCode) } ?? "other"
        errors(reason)
        unlogged += 1
        let now = NIODeadline.now()
        if lastLogged.map({ now - $0 >= Self.logInterval }) ?? true {
            logger.error("cannot accept connections", metadata: [
                "listener": "\(listener)", "error": "\(error)", "errors_since_last_log": "\(unlogged)",
                "hint": "\(reason == "EMFILE" || reason == "ENFILE" ? "out of file descriptors: raise the open-file limit or lower max_connections" : "")",
            ])
            lastLogged = now
            unlogged = 0
        }
        context.fireErrorCaught(error)
    }

    static func name(_ errno: CInt) -> String {
        switch errno {
        case EMFILE: "EMFILE"
        case ENFILE: "ENFILE"
        case ENOBUFS: "ENOBUFS"
        case ENOMEM: "ENOMEM"
        default: "errno \(errno)"
        }
    }
}
