import NIOCore
import NIOHTTP2

/// Ends HTTP/2 connections that are gone or unused: every `http2_ping_interval_ms` it pings the
/// client and closes the connection when the previous ping got no answer (a peer that vanished
/// without a FIN); a connection with no open stream for `http2_idle_timeout_ms` gets a GOAWAY and
/// is closed. A stream in progress, however quiet (an SSE stream), keeps the connection.
///
/// Used only on its connection's event loop (the stream initializer, its handler hooks and its
/// timer all run there), hence `@unchecked Sendable`.
final class HTTP2ConnectionKeeper: ChannelInboundHandler, RemovableChannelHandler, @unchecked Sendable {
    typealias InboundIn = HTTP2Frame
    typealias OutboundOut = HTTP2Frame

    private let timeouts: ListenerTimeouts
    private let metrics: ListenerMetrics
    private var openStreams = 0
    private var idleSince: NIODeadline
    private var pingOutstanding: UInt64?
    private var pingsSent: UInt64 = 0
    private var tick: Scheduled<Void>?

    init(timeouts: ListenerTimeouts, metrics: ListenerMetrics, eventLoop: EventLoop) {
        self.timeouts = timeouts
        self.metrics = metrics
        idleSince = eventLoop.now
    }

    /// A stream of this connection opened (its initializer runs on the connection's loop).
    func streamOpened(_ stream: Channel) {
        openStreams += 1
        stream.closeFuture.assumeIsolatedUnsafeUnchecked().whenComplete { [weak self] _ in
            guard let self else { return }
            self.openStreams -= 1
            if self.openStreams == 0 { self.idleSince = stream.eventLoop.now }
        }
    }

    func handlerAdded(context: ChannelHandlerContext) {
        scheduleCheck(context: context)
    }

    private func scheduleCheck(context: ChannelHandlerContext) {
        let interval = min(timeouts.http2PingMilliseconds, timeouts.http2IdleMilliseconds)
        tick = context.eventLoop.assumeIsolatedUnsafeUnchecked().scheduleTask(in: .milliseconds(Int64(interval))) { [weak self] in
            guard let self, self.tick != nil else { return }
            if self.check(context: context) { self.scheduleCheck(context: context) }
        }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        tick?.cancel()
        tick = nil
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = Self.unwrapInboundIn(data)
        if case .ping(let payload, ack: true) = frame.payload, payload.integer == pingOutstanding {
            pingOutstanding = nil
        }
        context.fireChannelRead(data)
    }

    /// One interval passed; returns whether the connection goes on.
    private func check(context: ChannelHandlerContext) -> Bool {
        let now = context.eventLoop.now
        if openStreams == 0, now - idleSince >= .milliseconds(Int64(timeouts.http2IdleMilliseconds)) {
            metrics.timeout(.http2Idle).increment()
            let goAway = HTTP2Frame(streamID: .rootStream, payload: .goAway(lastStreamID: .maxID, errorCode: .noError, opaqueData: nil))
            context.writeAndFlush(Self.wrapOutboundOut(goAway)).whenComplete { _ in context.close(promise: nil) }
            return false
        }
        if pingOutstanding != nil {
            metrics.timeout(.http2Ping).increment()
            context.close(promise: nil)
            return false
        }
        pingsSent += 1
        pingOutstanding = pingsSent
        let ping = HTTP2Frame(streamID: .rootStream, payload: .ping(HTTP2PingData(withInteger: pingsSent), ack: false))
        context.writeAndFlush(Self.wrapOutboundOut(ping), promise: nil)
        return true
    }
}
