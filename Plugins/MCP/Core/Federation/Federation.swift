/// The federated server behind one MCP route, as a state machine: events in (a client's
/// request, a target's message, a host call's result, a tick of the clock), a list of
/// ``FederationAction``s out. It knows no event loop, socket or C type; the plugin glue performs
/// the actions, and keeps one instance under one lock.
///
/// What lives where:
/// - `Federation.swift`: the state and the events from the host (processes, HTTP calls, ticks).
/// - `+Targets`: connections to targets: start, era probe, handshake, failure, restart, sending.
/// - `+Calls`: clients' calls routed to targets: dispatch, answers, cancellation, deadlines.
/// - `+Lists`: merged lists and the federation's description (`initialize`, `server/discover`).
/// - `+ServerMessages`: what targets send on their own: requests relayed or bridged to the client
///   that owns them (``ServerRequestOwnership``), notifications, and clients' answers.
/// - `+Sessions`: the gateway's sessions, their GET streams, heartbeats and the end of a session.
///
/// The state it keeps, one type per file beside it: ``TargetConnection``, ``ClientCall``,
/// ``HTTPCallUse``, ``Relay`` and ``InputBridge``, ``Sessions``, ``OwnedTokens``; what crosses to
/// the glue: ``FederationAction`` (out), ``ProcessOutput`` and ``HTTPCallEvent`` (in), ``RoutedCall``,
/// the ids (`FederationIDs.swift`).
///
/// A struct with one owner (the glue's lock): what changes on every request (connections, calls,
/// HTTP calls) is held by reference and mutated in place, so do not copy a running federation.
public struct Federation: @unchecked Sendable {
    public let config: MCPRouteConfig
    public let names: NameMapper

    // Connections.
    var connections: [ConnectionID: TargetConnection] = [:]
    /// The shared connection of each target, in config order.
    var shared: [ConnectionID] = []
    /// Each client's own connections, by target index.
    var own: [Owner: [Int: ConnectionID]] = [:]
    var nextConnection = 0

    // Host calls.
    /// Calls the host has not started yet, by the federation's id.
    var httpCalls: [HTTPCallID: HTTPCallUse] = [:]
    /// Started calls, by the host's name for them.
    var hostCalls: [HostCallKey: HTTPCallUse] = [:]
    var nextHTTPCall = 0
    var processes: [UInt64: ConnectionID] = [:]

    // Client requests.
    /// Client requests in flight, by owner and client id, for `notifications/cancelled`.
    var inFlight: [ClientRequestKey: ClientCall] = [:]
    var lists: [Int: ListJob] = [:]
    var nextList = 0
    var describeWaiters: [ExchangeID] = []
    /// Name → target for `prefix = "never"` (filled from the merged lists).
    var index: [String: String] = [:]

    // What was handed to clients.
    var relayed = OwnedTokens<Relay>()
    var bridged = OwnedTokens<(bridge: Int, key: String)>()
    var bridges: [Int: InputBridge] = [:]
    var nextBridge = 0
    var parked = OwnedTokens<(connection: ConnectionID, upstreamID: Int)>()

    var sessions: Sessions
    var lastSessionSweep: Double = 0
    var lastHeartbeat: Double = 0
    var random: Randomness

    var now: Double = 0
    var actions: [FederationAction] = []

    static let handshakeVersion = "2025-11-25"
    static let modernVersion = "2026-07-28"
    /// Prefix of the `requestState` the gateway issues (and of relayed request ids).
    public static let requestStatePrefix = OwnedTokens<Int>.prefix

    /// `random` supplies the 128-bit session ids and tokens (the system CSPRNG unless a test
    /// passes its own).
    public init(config: MCPRouteConfig, random: @escaping @Sendable () -> UInt64 = { UInt64.random(in: .min ... .max) }) {
        self.config = config
        names = NameMapper(targetNames: config.targets.map(\.name), prefixes: config.prefixes)
        sessions = Sessions(ttl: Double(config.sessionTTLSeconds), capacity: config.maxSessions)
        self.random = Randomness(next: random)
        shared = config.targets.indices.map { makeConnection(targetIndex: $0, owner: nil) }
    }

    /// The actions collected so far, handed over.
    mutating func take() -> [FederationAction] {
        defer { actions.removeAll(keepingCapacity: true) }
        return actions
    }

    mutating func emit(_ action: FederationAction) { actions.append(action) }
    mutating func log(_ severity: LogSeverity, _ message: String) { actions.append(.log(severity, message)) }

    // MARK: - starting and the clock

    /// The configuration exists: start every target (home loop).
    public mutating func start(now: Double) -> [FederationAction] {
        self.now = now
        lastSessionSweep = now
        lastHeartbeat = now
        for id in shared { if let connection = connections[id] { startConnection(connection) } }
        return take()
    }

    /// The sweep (every 250 ms on the home loop): deadlines, expired sessions, idle client
    /// connections, heartbeats.
    public mutating func tick(now: Double) -> [FederationAction] {
        self.now = now
        expireDeadlines()
        // Expired sessions go within a quarter of their TTL (at least every 10 s, at most every second).
        if now - lastSessionSweep >= min(10, max(1, sessions.ttl / 4)) {
            lastSessionSweep = now
            for (id, session) in sessions.sweep(now: now) { endSession(id, listeners: session.listeners) }
            stopIdleOwnConnections()
        }
        for connection in connections.values where connection.isReady {
            if case .a2a(let transport) = connection.transport { perform(transport.tick(now: now), on: connection) }
        }
        if config.heartbeatSeconds > 0, now - lastHeartbeat >= Double(config.heartbeatSeconds) {
            lastHeartbeat = now
            for listener in sessions.allListeners() { emit(.deliver(listener, .heartbeat)) }
        }
        return take()
    }

    /// A restart timer fired.
    public mutating func restartDue(targetIndex: Int, now: Double) -> [FederationAction] {
        self.now = now
        if let connection = connections[shared[targetIndex]] {
            emit(.targetStatus(targetIndex: targetIndex, .restarting))
            startConnection(connection)
        }
        return take()
    }

    // MARK: - processes

    /// The child process of a stdio connection started.
    public mutating func processStarted(_ id: ConnectionID, processID: UInt64) -> [FederationAction] {
        guard let connection = connections[id] else { return [] }
        processes[processID] = id
        connection.processID = processID
        transportConnected(connection)
        return take()
    }

    /// The host could not start it.
    public mutating func processFailed(_ id: ConnectionID) -> [FederationAction] {
        guard let connection = connections[id], case .stdio(let command, _, _, _) = config.targets[connection.targetIndex].transport else { return [] }
        connectionFailed(connection, reason: "cannot start '\(command)'")
        return take()
    }

    /// A line on a process's stdout (one message), stderr (a log line), or its exit.
    public mutating func processOutput(_ processID: UInt64, _ output: ProcessOutput) -> [FederationAction] {
        guard let id = processes[processID] else { return [] }
        guard let connection = connections[id] else {
            if case .exit = output { processes[processID] = nil }
            return []
        }
        switch output {
        case .stdout(let line):
            if !line.isEmpty { received(line, on: connection, relatedTo: nil) }
        case .stderr(let line):
            log(.debug, "target '\(connection.name)' stderr: \(line)")
        case .exit(let code):
            processes[processID] = nil
            if connection.processID == processID { connection.processID = nil }
            connectionFailed(connection, reason: code < 0 ? "the process was killed by signal \(-code)" : "the process exited with status \(code)")
        }
        return take()
    }

    /// A write to a connection's process did not reach it.
    public mutating func writeFailed(_ id: ConnectionID, requestID: Int?) -> [FederationAction] {
        if let requestID, let connection = connections[id] { requestFailed(requestID, on: connection, reason: "the process is not running") }
        return take()
    }

    // MARK: - HTTP calls

    /// The host made call `id`; `onStream`: from the exchange's stream (it ends with it).
    public mutating func httpCallStarted(_ id: HTTPCallID, key: HostCallKey, onStream: Bool) -> [FederationAction] {
        guard let use = httpCalls.removeValue(forKey: id) else { return [] } // cancelled meanwhile: its events are ignored
        use.key = key
        hostCalls[key] = use
        if onStream { use.call?.viaStream = true }
        return []
    }

    /// The host refused call `id`.
    public mutating func httpCallRefused(_ id: HTTPCallID) -> [FederationAction] {
        guard let use = httpCalls.removeValue(forKey: id) else { return [] }
        switch use.kind {
        case .message(let requestID):
            if let requestID { requestFailed(requestID, on: use.connection, reason: "the gateway refused the HTTP call") }
        case .sseStream:
            connectionFailed(use.connection, reason: "the gateway refused the HTTP call")
        case .agent(let purpose):
            if case .a2a(let transport) = use.connection.transport {
                apply(transport.ended(purpose, failure: "the gateway refused the HTTP call"), from: use.connection)
            }
        case .openapi(let purpose):
            if case .openapi(let transport) = use.connection.transport {
                switch purpose {
                case .document: connectionFailed(use.connection, reason: "the gateway refused the HTTP call for its OpenAPI document")
                case .call(let requestID): apply(transport.failed(requestID, reason: "the gateway refused the HTTP call"), from: use.connection)
                }
            }
        case .listen, .delete:
            break
        }
        return take()
    }

    /// Whether the host call is one of the federation's (so the glue may route a stream's events).
    public func isFederationCall(_ key: HostCallKey) -> Bool { hostCalls[key] != nil }

    /// An event of one of the federation's host calls.
    public mutating func httpEvent(_ key: HostCallKey, _ event: HTTPCallEvent, then next: HTTPCallEvent? = nil,
                                   now: Double) -> [FederationAction] {
        guard let use = hostCalls[key] else { return [] }
        self.now = now
        let connection = use.connection
        // `next`: a response whole in one host event comes as its head then its body, handled
        // with one lookup and one list of actions.
        var (outputs, finished) = transportEvent(use, event)
        if let next, !finished {
            if !outputs.isEmpty { apply(outputs, from: connection) } // in order, as two events would
            (outputs, finished) = transportEvent(use, next)
        }
        if finished { hostCalls[key] = nil }
        if !outputs.isEmpty { apply(outputs, from: connection) }
        return take()
    }

    /// What `use`'s transport makes of one event, and whether the call is over.
    private mutating func transportEvent(_ use: HTTPCallUse, _ event: HTTPCallEvent) -> ([TransportOutput], Bool) {
        var outputs: [TransportOutput]
        var finished: Bool
        switch (use.connection.transport, event) {
        case (.http(let transport), .response(let status, let contentType, let sessionID, let contentLength, let end)):
            outputs = transport.response(use, status: status, contentType: contentType, sessionID: sessionID, contentLength: contentLength)
            if end { outputs += transport.ended(use) }
            finished = end
        case (.http(let transport), .body(let bytes, let end)):
            outputs = transport.body(use, bytes, end: end)
            finished = end
        case (.http(let transport), .failed(let reason)):
            outputs = transport.failed(use, reason: reason)
            finished = true
        case (.sse(let transport), .response(let status, _, _, _, let end)):
            outputs = transport.response(use, status: status)
            finished = end || use.kind != .sseStream
        case (.sse(let transport), .body(let bytes, let end)):
            outputs = transport.body(use, bytes, end: end)
            finished = end
        case (.sse(let transport), .failed(let reason)):
            outputs = transport.failed(use, reason: reason)
            finished = true
        case (.a2a(let transport), _):
            (outputs, finished) = agentEvent(use, event, transport)
        case (.openapi(let transport), _):
            (outputs, finished) = apiEvent(use, event, transport)
        default:
            outputs = []
            finished = true
        }
        return (outputs, finished)
    }

    /// An event of an A2A target's call to its agent: a JSON answer read whole, an event stream
    /// event by event.
    mutating func agentEvent(_ use: HTTPCallUse, _ event: HTTPCallEvent, _ transport: A2AAgentTransport) -> ([TransportOutput], Bool) {
        guard case .agent(let purpose) = use.kind else { return ([], true) }
        switch event {
        case .response(let status, let contentType, _, _, let end):
            use.answer.status = status
            use.answer.isEventStream = contentType.map { $0.hasPrefixIgnoringCase("text/event-stream") } ?? false
            guard end else { return ([], false) }
            return (transport.answered(purpose, status: status, body: [], now: now) + transport.ended(purpose, failure: nil), true)
        case .body(let bytes, let end):
            var outputs: [TransportOutput] = []
            if use.answer.isEventStream {
                do {
                    for event in try use.answer.decoder.feed(bytes) { outputs += transport.streamed(purpose, event: event.data, now: now) }
                } catch {
                    return (outputs + transport.ended(purpose, failure: "the agent's event stream broke: \(error)"), true)
                }
                if end { outputs += transport.ended(purpose, failure: nil) }
            } else {
                use.answer.body.append(contentsOf: bytes)
                if end { outputs += transport.answered(purpose, status: use.answer.status, body: use.answer.body, now: now) + transport.ended(purpose, failure: nil) }
            }
            return (outputs, end)
        case .failed(let reason):
            return (transport.ended(purpose, failure: reason), true)
        }
    }

    /// An event of an OpenAPI target's call: the answer is read whole, then handed over.
    mutating func apiEvent(_ use: HTTPCallUse, _ event: HTTPCallEvent, _ transport: OpenAPITransport) -> ([TransportOutput], Bool) {
        guard case .openapi(let purpose) = use.kind else { return ([], true) }
        func done() -> [TransportOutput] {
            switch purpose {
            case .document: transport.documentArrived(status: use.answer.status, body: use.answer.body)
            case .call(let requestID): transport.answered(requestID, status: use.answer.status, contentType: use.answer.contentType, body: use.answer.body)
            }
        }
        func failure(_ reason: String) -> [TransportOutput] {
            switch purpose {
            case .document: [.failed("its OpenAPI document could not be fetched: \(reason)")]
            case .call(let requestID): transport.failed(requestID, reason: reason)
            }
        }
        switch event {
        case .response(let status, let contentType, _, _, let end):
            use.answer.status = status
            use.answer.contentType = contentType
            return end ? (done(), true) : ([], false)
        case .body(let bytes, let end):
            use.answer.body.append(contentsOf: bytes)
            if use.answer.body.count > OpenAPITransport.maxResponseBytes {
                cancelHTTPCall(use.id)
                return (failure("the answer is larger than \(OpenAPITransport.maxResponseBytes) bytes"), true)
            }
            return end ? (done(), true) : ([], false)
        case .failed(let reason):
            return (failure(reason), true)
        }
    }

    /// What a transport made of an event, applied.
    mutating func apply(_ outputs: [TransportOutput], from connection: TargetConnection) {
        for output in outputs {
            switch output {
            case .message(let bytes, let relatedTo): received(bytes, on: connection, relatedTo: relatedTo)
            case .requestFailed(let requestID, let reason): requestFailed(requestID, on: connection, reason: reason)
            case .rejected(let requestID, let error): rejected(requestID, on: connection, error: error)
            case .responseEnded(let requestID): requestFailed(requestID, on: connection, reason: "the response ended without an answer")
            case .connected: transportConnected(connection)
            case .failed(let reason): connectionFailed(connection, reason: reason)
            case .log(let line): log(.debug, "target '\(connection.name)': \(line)")
            }
        }
    }


    // MARK: - names

    /// The target name for a client's tool/prompt name or resource URI, and the target's own name.
    public func resolve(_ clientName: String, uri: Bool) -> (target: String, name: String)? {
        if let resolved = names.resolve(clientName, uri: uri) { return resolved }
        if names.prefixes { return nil }
        if config.targets.count == 1 { return (config.targets[0].name, clientName) }
        return index[(uri ? "uri:" : "name:") + clientName].map { ($0, clientName) }
    }
}
