import NIOCore
import NIOHTTP1
import NIOHTTP2
import NIOSSL
import NIOTLS
import Prometheus

/// One generation's view of a listener: its name, TLS context (certificate files read when the
/// generation was built, so a reload serves a rotated certificate to new handshakes), and how to
/// set up each connection's pipeline (TLS → ALPN → HTTP/2 streams or HTTP/1.1, then
/// ``HTTP1ServerHandler`` or ``HTTP2StreamHandler``), with the listener's timeouts and
/// connection limits. The socket itself is `ListenerSet`'s and outlives generations.
final class ListenerRuntime: Sendable {
    let name: String
    let address: SocketAddressSpec
    let timeouts: ListenerTimeouts
    /// Open connections kept (`max_connections`, or what the open-file limit allows).
    let maxConnections: Int
    let maxConnectionsPerClient: Int
    let metrics: ListenerMetrics
    /// Requests that matched no route (404), or were refused before routing (400, 431).
    let unmatched: RequestMetrics
    private let sslContext: NIOSSLContext?

    var isTLS: Bool { sslContext != nil }

    /// The route label of requests no route took.
    static let unmatchedRoute = "(unmatched)"

    init(config: ListenerConfig, metrics: GatewayMetrics = ProcessWide.gatewayMetrics) throws {
        self.name = config.name
        self.address = config.address
        self.timeouts = config.timeouts
        self.maxConnections = config.maxConnections ?? FileDescriptorLimit.defaultMaxConnections
        self.maxConnectionsPerClient = config.maxConnectionsPerClient
        self.metrics = ListenerMetrics(metrics: metrics, listener: config.name)
        self.unmatched = metrics.requestMetrics(listener: config.name, route: Self.unmatchedRoute)
        guard let tls = config.tls else {
            self.sslContext = nil
            return
        }
        do {
            let chain = try NIOSSLCertificate.fromPEMFile(tls.certificatePath).map { NIOSSLCertificateSource.certificate($0) }
            let key = NIOSSLPrivateKeySource.privateKey(try NIOSSLPrivateKey(file: tls.privateKeyPath, format: .pem))
            var configuration: TLSConfiguration
            if let clientCA = tls.clientCAPath {
                configuration = .makeServerConfigurationWithMTLS(certificateChain: chain, privateKey: key, trustRoots: .file(clientCA))
                configuration.certificateVerification = .noHostnameVerification
            } else {
                configuration = .makeServerConfiguration(certificateChain: chain, privateKey: key)
            }
            configuration.applicationProtocols = tls.http2 ? ["h2", "http/1.1"] : ["http/1.1"]
            self.sslContext = try NIOSSLContext(configuration: configuration)
        } catch {
            throw ConfigError(file: "listener '\(config.name)'", keyPath: "tls",
                              message: "cannot load TLS certificate/key (cert \(tls.certificatePath), key \(tls.privateKeyPath)): \(error)")
        }
    }

    /// Sets up a freshly accepted connection; its requests are served by `live`'s generation of
    /// the moment each starts.
    func configure(_ channel: Channel, live: LiveRuntime) -> EventLoopFuture<Void> {
        let metrics = self.metrics
        let timeouts = self.timeouts
        // HTTP/1.1: one handler reads and writes the bytes (no NIO HTTP/1 codec).
        let http1: NIOChannelInitializer = { channel in
            channel.eventLoop.makeCompletedFuture {
                let sync = channel.pipeline.syncOperations
                try sync.addHandler(ConnectionCounter(active: metrics.active.h1, accepted: metrics.accepted.h1))
                try sync.addHandler(HTTP1ServerHandler(live: live, listener: self, allocator: channel.allocator))
            }
        }
        guard let sslContext else { return http1(channel) }
        let info = TLSConnectionInfo()
        do {
            try channel.pipeline.syncOperations.addHandlers([
                info,
                ByteToMessageHandler(SNIHandler { result in
                    if case .hostname(let name) = result { info.serverName = name }
                    return channel.eventLoop.makeSucceededVoidFuture()
                }),
                NIOSSLServerHandler(context: sslContext),
                TLSHandshakeWatcher(failures: metrics.tlsHandshakeFailures, timeouts: metrics.timeout(.tlsHandshake),
                                    timeout: .milliseconds(Int64(timeouts.tlsHandshakeMilliseconds))),
            ])
        } catch {
            return channel.eventLoop.makeFailedFuture(error)
        }
        return channel.configureHTTP2SecureUpgrade(
            h2ChannelConfigurator: { connection in
                let keeper = HTTP2ConnectionKeeper(timeouts: timeouts, metrics: metrics, eventLoop: connection.eventLoop)
                try? connection.pipeline.syncOperations.addHandler(ConnectionCounter(active: metrics.active.h2, accepted: metrics.accepted.h2))
                return connection.configureHTTP2Pipeline(mode: .server) { stream in
                    keeper.streamOpened(stream)
                    return stream.eventLoop.makeCompletedFuture {
                        try stream.pipeline.syncOperations.addHandler(HTTP2FramePayloadToHTTP1ServerCodec())
                        try stream.pipeline.syncOperations.addHandler(HTTP2StreamHandler(live: live, listener: self))
                    }
                }.flatMapThrowing { _ in
                    try connection.pipeline.syncOperations.addHandler(keeper)
                }
            },
            http1ChannelConfigurator: http1)
    }

    /// What exchanges know of the connection `channel` (an HTTP/2 stream's parent).
    func connectionInfo(for channel: Channel, isHTTP2: Bool) -> ConnectionInfo {
        let connectionChannel = isHTTP2 ? (channel.parent ?? channel) : channel
        let tls = tlsInfo(for: connectionChannel)
        return ConnectionInfo(listenerName: name, peerAddress: connectionChannel.remoteAddress?.formatted ?? "unknown",
                              isTLS: isTLS, serverName: tls.serverName, peerSubject: tls.peerSubject,
                              httpVersion: isHTTP2 ? "HTTP/2" : "HTTP/1.1")
    }

    /// SNI and client certificate of a TLS connection (nil fields without TLS).
    func tlsInfo(for connection: Channel) -> (serverName: String?, peerSubject: String?) {
        guard isTLS, let info = try? connection.pipeline.syncOperations.handler(type: TLSConnectionInfo.self) else { return (nil, nil) }
        if info.peerSubject == nil, let ssl = try? connection.pipeline.syncOperations.handler(type: NIOSSLServerHandler.self),
           let certificate = ssl.peerCertificate {
            info.peerSubject = certificate.subjectName.map { "\($0.type.shortName)=\($0.value)" }.joined(separator: ",")
        }
        return (info.serverName, info.peerSubject)
    }
}

/// Counts a connection in its listener's gauges from when its HTTP pipeline is set up (the
/// protocol is known then: after ALPN with TLS) until it closes.
final class ConnectionCounter: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = NIOAny
    private let active: Prometheus.Gauge
    private var counted = false

    init(active: Prometheus.Gauge, accepted: Prometheus.Counter) {
        self.active = active
        accepted.increment()
    }

    func handlerAdded(context: ChannelHandlerContext) {
        counted = true
        active.increment()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        guard counted else { return }
        counted = false
        active.decrement()
    }
}

/// Counts TLS handshakes that fail (an error before `handshakeCompleted`), and closes a
/// connection whose handshake has not completed within `tls_handshake_timeout_ms`.
final class TLSHandshakeWatcher: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = NIOAny
    private let failures: Prometheus.Counter
    private let timeouts: Prometheus.Counter
    private let timeout: TimeAmount
    private var done = false
    private var timer: Scheduled<Void>?

    init(failures: Prometheus.Counter, timeouts: Prometheus.Counter, timeout: TimeAmount) {
        self.failures = failures
        self.timeouts = timeouts
        self.timeout = timeout
    }

    func handlerAdded(context: ChannelHandlerContext) {
        let channel = context.channel
        timer = context.eventLoop.assumeIsolated().scheduleTask(in: timeout) { [weak self] in
            guard let self, !self.done else { return }
            self.done = true
            self.timeouts.increment()
            channel.close(promise: nil)
        }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        timer?.cancel()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case TLSUserEvent.handshakeCompleted = event {
            done = true
            timer?.cancel()
        }
        context.fireUserInboundEventTriggered(event)
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        if !done {
            done = true
            timer?.cancel()
            failures.increment()
        }
        context.fireErrorCaught(error)
    }
}

/// Holds what the TLS layer learned about one connection.
final class TLSConnectionInfo: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = NIOAny
    var serverName: String?
    var peerSubject: String?
}

extension SSLCertificateNameType {
    var shortName: String {
        switch self {
        case .commonName: return "CN"
        case .organization: return "O"
        case .organizationalUnit: return "OU"
        case .country: return "C"
        case .state: return "ST"
        case .city: return "L"
        case .emailAddress: return "emailAddress"
        case .userId: return "UID"
        default: return "?"
        }
    }
}
