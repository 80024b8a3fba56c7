import NIOCore

/// How long an HTTP/1 client may take, per listener (`[[listeners]]` keys; defaults like
/// nginx's `client_header_timeout`, `client_body_timeout` and `keepalive_timeout`, shorter).
struct ListenerTimeouts: Sendable, Equatable {
    /// From a connection's first byte (or its opening) to the end of a request head.
    var requestHeadMilliseconds = 15_000
    /// Between two reads of a request body.
    var requestBodyMilliseconds = 30_000
    /// A kept-alive connection with no request in progress.
    var idleMilliseconds = 60_000
    /// From accept to a completed TLS handshake.
    var tlsHandshakeMilliseconds = 10_000
    /// An HTTP/2 connection with no open stream.
    var http2IdleMilliseconds = 300_000
    /// How often an HTTP/2 connection that has been silent is pinged; no answer within the same
    /// time closes it.
    var http2PingMilliseconds = 60_000
}

/// The timeouts of one HTTP/1 connection, with one timer: a state change only moves a deadline
/// (no timer is scheduled per request); when the timer fires it either reports the timeout or
/// sleeps until the deadline the connection has by then. No deadline runs while a response is
/// being written — a streamed response (SSE) keeps the connection as long as it lasts.
struct ConnectionTimeouts {
    typealias Kind = ConnectionTimeoutKind

    private let limits: ListenerTimeouts
    private weak var handler: HTTP1ServerHandler?
    private var eventLoop: EventLoop?
    /// What the connection is waiting for, and until when.
    private var waiting: (kind: Kind, deadline: NIODeadline)?
    private var timer: Scheduled<Void>?
    private var timerDeadline: NIODeadline?

    init(_ limits: ListenerTimeouts) { self.limits = limits }

    /// The connection is open: it waits for its first request's head.
    mutating func connectionOpened(_ handler: HTTP1ServerHandler, eventLoop: EventLoop) {
        guard self.eventLoop == nil else { return }
        self.handler = handler
        self.eventLoop = eventLoop
        wait(for: .requestHead)
    }

    /// Bytes arrived: an idle connection now waits for the rest of a head.
    mutating func bytesArrived() {
        if case .idle? = waiting?.kind { wait(for: .requestHead) }
    }

    /// The head is read: a body follows (its reads are timed), or the request is complete.
    mutating func headRead(hasBody: Bool) {
        if hasBody { wait(for: .requestBody) } else { waiting = nil }
    }

    mutating func bodyArrived() {
        if case .requestBody? = waiting?.kind { wait(for: .requestBody) }
    }

    /// The request is read whole; its response has no deadline here.
    mutating func requestRead() { waiting = nil }

    /// The connection waits for its next request (`hasBytes`: some of it is buffered already).
    mutating func waitingForRequest(hasBytes: Bool) {
        wait(for: hasBytes ? .requestHead : .idle)
    }

    mutating func cancel() {
        timer?.cancel()
        timer = nil
        timerDeadline = nil
        waiting = nil
        eventLoop = nil
    }

    private func milliseconds(_ kind: Kind) -> Int {
        switch kind {
        case .requestHead: limits.requestHeadMilliseconds
        case .requestBody: limits.requestBodyMilliseconds
        default: limits.idleMilliseconds
        }
    }

    private mutating func wait(for kind: Kind) {
        let deadline = (eventLoop?.now ?? .now()) + .milliseconds(Int64(milliseconds(kind)))
        waiting = (kind, deadline)
        if let timerDeadline, timerDeadline <= deadline { return } // it fires first and looks again
        timer?.cancel()
        schedule(at: deadline)
    }

    private mutating func schedule(at deadline: NIODeadline) {
        guard let eventLoop else { return }
        timerDeadline = deadline
        timer = eventLoop.scheduleTask(deadline: deadline) { [weak handler] in
            handler?.timerFired()
        }
    }

    /// The timer fired: the timeout that is due, or nil (the timer now waits for the deadline
    /// the connection has moved to, or for none).
    mutating func fired() -> Kind? {
        timer = nil
        timerDeadline = nil
        guard let waiting else { return nil }
        if waiting.deadline <= eventLoop?.now ?? .now() {
            self.waiting = nil
            return waiting.kind
        }
        schedule(at: waiting.deadline)
        return nil
    }
}
