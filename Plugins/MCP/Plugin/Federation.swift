import Foundation
import JSON
import JSONRPC
import MCPCore
import PluginKit

/// The federated server behind one MCP route: the targets' connections, the requests in flight,
/// and the merging of lists.
///
/// Its state is guarded by one lock. Most work runs on the route configuration's home loop (its
/// config-scope events): streams on other loops hand it in through ``submit(_:)`` and get answers
/// through their ``Mailbox``. A client's call to a ready Streamable HTTP target takes the short
/// way: it is sent from the client's own stream (``submitCall(_:from:)``) and its answer comes back
/// to that stream (``streamEvent(_:scope:)``), so it never waits for another thread. Anything that
/// must outlive a stream (timers, GET streams, child processes) stays on the home loop.
final class Federation: UpstreamDelegate, @unchecked Sendable {
    /// A client request routed to one target.
    final class Call: @unchecked Sendable {
        /// Replaced when a 2026-07-28 client retries after an `InputRequiredResult`.
        var mailbox: Mailbox
        /// The client's id, as raw JSON.
        var clientID: String
        let method: String
        let target: String
        let params: JSONValue?
        var rewrite: ParamsRewrite
        /// Stateless-era exchanges cancel when the client goes away; handshake-era ones do not.
        let cancelsWhenAbandoned: Bool
        /// The client's headers the target is configured to receive (`forward_headers`).
        var forwardedHeaders: [(String, String)] = []
        /// Sent from the client's stream: its HTTP call ends with the stream.
        fileprivate var viaStream = false
        fileprivate var upstreamID: Int?
        /// Server→client requests waiting for the client's next retry (2026-07-28 clients).
        fileprivate var queuedInputRequests: [(key: String, request: [UInt8])] = []
        /// Whether an `InputRequiredResult` was sent and the retry has not come yet.
        fileprivate var awaitingRetry = false
        /// Cancelled by its client before it could be sent.
        fileprivate var isCancelled = false

        init(mailbox: Mailbox, clientID: String, method: String, target: String, params: JSONValue?, rewrite: ParamsRewrite,
             cancelsWhenAbandoned: Bool) {
            self.mailbox = mailbox
            self.clientID = clientID
            self.method = method
            self.target = target
            self.params = params
            self.rewrite = rewrite
            self.cancelsWhenAbandoned = cancelsWhenAbandoned
        }

        var clientProgressToken: String? { params.flatMap(ParamsRewrite.progressToken(in:)) }
        /// The client this call serves (its current exchange's).
        var owner: Owner { mailbox.owner }
    }

    enum Work: Sendable {
        case call(Call)
        case list(ListKind, Mailbox)
        case describe(Mailbox)
        /// The client's answer to a relayed server→client request.
        case clientResponse(JSONValue, JSONRPCEnvelope, Owner)
        /// `notifications/cancelled` from a client (its raw request id).
        case cancel(Owner, requestID: String)
        /// The client left before the answer.
        case abandon(Mailbox)
        case setLogLevel(JSONValue)
        /// A 2026-07-28 client retries a request with the answers to its input requests.
        case resume(requestState: String, responses: JSONValue?, mailbox: Mailbox, clientID: String)
        /// A client session ended: what it held goes (its GET streams are given).
        case sessionEnded(String, listeners: [Mailbox])
        /// Something that must happen on the home loop (a timer, a GET stream).
        case onHome(HomeTask)
    }

    struct HomeTask: @unchecked Sendable { let body: () -> Void }

    private enum ConnectionState { case starting, ready, down(String) }

    /// One connection to a target: the shared one (2026-07-28 servers, anonymous stateless
    /// clients, lists for the gateway itself, everyone with `upstream_sessions = "shared"`), or
    /// one per client (``usesOwnConnection(_:owner:)``).
    private final class Connection {
        let upstream: Upstream
        let targetIndex: Int
        /// The client this connection belongs to; nil for the shared one.
        let owner: Owner?
        /// When a request last went through it (a stateless client's own connection idles out).
        var lastUsed = Date()
        var state = ConnectionState.starting
        /// False until the first start succeeded or failed (`initialize` waits for that).
        var settled = false
        var capabilities: JSONValue?
        var instructions: String?
        var nextID = 1
        var pending: [Int: Pending] = [:]
        var waiting: [() -> Void] = []
        var restartAttempts = 0
        /// Spoken to in the 2026-07-28 era (found by the `server/discover` probe).
        var modern = false
        let timeout: TimeInterval
        var name: String { upstream.target.name }
        init(upstream: Upstream, targetIndex: Int, owner: Owner?, timeout: TimeInterval) {
            self.upstream = upstream
            self.targetIndex = targetIndex
            self.owner = owner
            self.timeout = timeout
        }
        var downReason: String? { if case .down(let reason) = state { return reason } else { return nil } }
        var isReady: Bool { if case .ready = state { return true } else { return false } }
    }

    private struct Pending {
        enum Purpose {
            /// `server/discover`, to learn whether an HTTP target speaks 2026-07-28.
            case probe
            case handshake
            case call(Call)
            case listPage(ListJob, targetIndex: Int)
            case ignore
        }
        var purpose: Purpose
        var deadline: Date
    }

    /// One merged list being collected from every target.
    private final class ListJob {
        let kind: ListKind
        let mailbox: Mailbox?
        var items: [[MergedList.Item]?]
        var failures: [(target: String, reason: String)] = []
        var pages = 0
        init(kind: ListKind, mailbox: Mailbox?, targetCount: Int) {
            self.kind = kind
            self.mailbox = mailbox
            items = Array(repeating: nil, count: targetCount)
        }
        var isComplete: Bool { items.allSatisfy { $0 != nil } }
    }

    static let startEventID: UInt64 = 1
    static let inboxEventID: UInt64 = 2
    static let handshakeVersion = "2025-11-25"
    /// Prefix of the `requestState` the gateway issues (and of relayed request ids).
    static let requestStatePrefix = OwnedTokens<Int>.prefix

    let config: MCPRouteConfig
    let names: NameMapper
    let sessions: SessionStore
    /// Name → target for `prefix = "never"` (and to report collisions); shared with streams.
    let index = Locked<[String: String]>([:])
    private let inbox = Locked<[Work]>([])
    private let scheduler: Scheduler?
    /// The shared connection of each target, in config order.
    private var targets: [Connection] = []
    /// Per client session, its own connections by target index.
    private var ownConnections: [Owner: [Int: Connection]] = [:]
    private var byUpstream: [ObjectIdentifier: Connection] = [:]
    private var describeWaiters: [Mailbox] = []

    /// A server→client request the gateway passed on to one client, under a token of its own.
    private struct Relay {
        let connection: Connection
        /// The server's id for it (raw JSON).
        let upstreamID: String
        /// Where the client received it (a call's exchange, or a session's GET stream).
        let mailbox: Mailbox
    }
    /// Server→client requests relayed to a client (the token is the id the client saw).
    private var relayed = OwnedTokens<Relay>()
    /// Input requests of a 2026-07-28 upstream relayed to a handshake-era client, by relayed id.
    private var bridged = OwnedTokens<(bridge: InputBridge, key: String)>()

    /// A handshake-era client answering the input requests of a 2026-07-28 upstream; when all are
    /// answered the gateway retries the call upstream with `inputResponses` and `requestState`.
    private final class InputBridge {
        let call: Call
        let requestState: [UInt8]?
        var responses: [(String, [UInt8])] = []
        var waiting = Set<String>()
        init(call: Call, requestState: [UInt8]?) {
            self.call = call
            self.requestState = requestState
        }
    }

    /// Calls waiting for a client's retry, by the `requestState` the gateway gave out.
    private var parked = OwnedTokens<(connection: Connection, upstreamID: Int)>()
    /// A client request in flight, named as its client names it, for `notifications/cancelled`.
    private struct ClientRequestKey: Hashable {
        let owner: Owner
        let requestID: String
    }
    /// Client requests in flight, by owner and client id, for cancellation. Anonymous stateless
    /// clients are not listed: one could name another's id; they cancel by closing the stream.
    private var inFlight: [ClientRequestKey: (call: Call, sentOn: (connection: Connection, upstreamID: Int)?)] = [:]
    private var sweepTimer: UInt64?
    private var restartTimers: [UInt64: Int] = [:]
    private var lastSessionSweep = Date()
    private var lastHeartbeat = Date()
    /// Counts server→client requests refused because their owner was not known.
    private let refusedMetric: UInt32?

    init(config: MCPRouteConfig, scope: Scope, refusedMetric: UInt32? = nil) {
        self.config = config
        self.refusedMetric = refusedMetric
        names = NameMapper(targetNames: config.targets.map(\.name), prefixes: config.prefixes)
        sessions = SessionStore(ttlSeconds: config.sessionTTLSeconds, capacity: config.maxSessions)
        scheduler = scope.makeScheduler()
        targets = config.targets.indices.map { makeConnection(targetIndex: $0, owner: nil) }
        sessions.onRemoved = { [weak self] id, listeners in self?.submit(.sessionEnded(id, listeners: listeners)) }
        // Targets start on the home loop, once the configuration exists.
        scheduler?.post(Self.startEventID)
    }

    private func makeConnection(targetIndex: Int, owner: Owner?) -> Connection {
        let target = config.targets[targetIndex]
        let timeout = target.timeoutMilliseconds ?? config.requestTimeoutMilliseconds
        let connection = Connection(upstream: Upstream.make(target, timeoutMilliseconds: timeout), targetIndex: targetIndex,
                                    owner: owner, timeout: TimeInterval(timeout) / 1000)
        connection.upstream.delegate = self
        byUpstream[ObjectIdentifier(connection.upstream)] = connection
        return connection
    }

    /// Why a request has no connection to go through.
    private struct NoConnection: Error {
        let reason: String
    }

    /// Whether a client's requests to this target go through a connection of its own: a process
    /// for stdio targets, an upstream session for handshake-era HTTP and SSE targets (2026-07-28
    /// targets have no sessions: the shared connection serves everyone). A client is a session,
    /// or a stateless client with an authenticated caller; anonymous stateless clients share.
    private func usesOwnConnection(_ targetIndex: Int, owner: Owner) -> Bool {
        guard config.upstreamSessions == .perClient, owner.isIdentifiable else { return false }
        if let sessionID = owner.sessionID, ownConnections[owner] == nil, !sessions.exists(sessionID) { return false }
        let shared = targets[targetIndex]
        if case .stdio = shared.upstream.target.transport { return true }
        return shared.isReady && !shared.modern
    }

    /// The connection a request of `owner` goes through: its own (created on first use, see
    /// ``usesOwnConnection(_:owner:)``), else the shared one. Fails when a new per-client
    /// process would exceed the target's `max_processes`.
    private func connection(for targetIndex: Int, owner: Owner) -> Result<Connection, NoConnection> {
        guard usesOwnConnection(targetIndex, owner: owner) else { return .success(targets[targetIndex]) }
        if let own = ownConnections[owner]?[targetIndex] {
            own.lastUsed = Date()
            return .success(own)
        }
        let target = config.targets[targetIndex]
        if case .stdio = target.transport {
            let running = ownConnections.values.reduce(0) { $0 + ($1[targetIndex] == nil ? 0 : 1) }
            guard running < target.maxProcesses else {
                log(.warning, "target '\(target.name)': max_processes = \(target.maxProcesses) per-client processes are running; "
                    + "a request of \(owner) is refused")
                return .failure(NoConnection(reason: "it has reached max_processes = \(target.maxProcesses) (one process per "
                    + "client); try again when a client's session ends, or raise max_processes"))
            }
        }
        let own = makeConnection(targetIndex: targetIndex, owner: owner)
        ownConnections[owner, default: [:]][targetIndex] = own
        own.upstream.start(scope)
        return .success(own)
    }

    /// The connection `connection(for:owner:)` would pick, without creating one.
    private func existingConnection(for targetIndex: Int, owner: Owner) -> Connection? {
        guard usesOwnConnection(targetIndex, owner: owner) else { return targets[targetIndex] }
        return ownConnections[owner]?[targetIndex]
    }

    /// Every connection: the shared ones, then those of client sessions.
    private var allConnections: [Connection] { targets + ownConnections.values.flatMap(\.values) }

    /// A client session ended (DELETE, expiry, eviction): its GET streams end, its upstream
    /// sessions and processes stop, and what was relayed to it is answered upstream with an error.
    private func endSession(_ sessionID: String, listeners: [Mailbox]) {
        for listener in listeners { listener.deliver(.endStream) }
        for (_, relay) in relayed.removeAll(where: { owner, _ in owner.sessionID == sessionID }) {
            relay.connection.upstream.send(JSONText.errorResponse(id: relay.upstreamID, code: -32603, message: "The client session ended"),
                                           requestID: nil, scope: scope)
        }
        _ = bridged.removeAll { owner, _ in owner.sessionID == sessionID }
        for key in inFlight.keys where key.owner.sessionID == sessionID { inFlight[key] = nil }
        for owner in ownConnections.keys where owner.sessionID == sessionID {
            stopOwnConnections(of: owner, reason: "the client session ended")
        }
    }

    /// Stops a client's own connections: their calls fail, processes and upstream sessions end.
    private func stopOwnConnections(of owner: Owner, reason: String) {
        guard let own = ownConnections.removeValue(forKey: owner) else { return }
        log(.debug, "\(owner): \(reason); stopping its \(own.count) upstream connection(s)")
        for connection in own.values {
            connection.state = .down(reason)
            let pending = connection.pending
            connection.pending.removeAll()
            for (id, entry) in pending { fail(entry, of: connection, upstreamID: id, reason: reason) }
            runWaiting(connection) // they find the connection down and fail
            connection.upstream.stop(scope)
            byUpstream[ObjectIdentifier(connection.upstream)] = nil
        }
    }

    /// A stateless client's own connections end after `session_ttl_seconds` without a request.
    private func stopIdleOwnConnections(now: Date) {
        for (owner, own) in ownConnections where owner.sessionID == nil {
            guard own.values.allSatisfy({ $0.pending.isEmpty && now.timeIntervalSince($0.lastUsed) >= sessions.ttl }) else { continue }
            stopOwnConnections(of: owner, reason: "it made no request for \(Int(sessions.ttl)) s")
        }
    }

    /// Hands work to the home loop (any thread).
    func submit(_ work: Work) {
        inbox.withLock { $0.append(work) }
        scheduler?.post(Self.inboxEventID)
    }

    /// The target name for a client's tool/prompt name or resource URI, and the target's own name.
    func resolve(_ clientName: String, uri: Bool) -> (target: String, name: String)? {
        if let resolved = names.resolve(clientName, uri: uri) { return resolved }
        if names.prefixes { return nil }
        if config.targets.count == 1 { return (config.targets[0].name, clientName) }
        return index.withLock { $0[(uri ? "uri:" : "name:") + clientName] }.map { ($0, clientName) }
    }

    // MARK: - home loop

    /// Every config-scope event of the route lands here.
    func handle(_ event: PluginEvent, scope: Scope) {
        lock.lock()
        defer { lock.unlock() }
        homeScope = scope
        switch event.kind {
        case .scheduled where event.id == Self.startEventID:
            for target in targets { start(target, scope: scope) }
            sweepTimer = scope.startTimer(milliseconds: 250)
        case .scheduled where event.id == Self.inboxEventID:
            for work in inbox.withLock({ inbox in defer { inbox.removeAll() }; return inbox }) { perform(work, scope: scope) }
        case .timer where event.id == sweepTimer:
            sweep(scope: scope)
            sweepTimer = scope.startTimer(milliseconds: 250)
        case .timer:
            if let index = restartTimers.removeValue(forKey: event.id) { start(targets[index], scope: scope) }
        default:
            for connection in allConnections where connection.upstream.handle(event, scope: scope) { return }
        }
    }

    /// The route configuration's scope (set by the first event; the same handle every time).
    private var homeScope: Scope?
    /// A client stream's scope while its call is handled on its own loop; nil on the home loop.
    private var streamScope: Scope?
    private let lock = NSRecursiveLock()

    /// Runs `body` on the home loop: now if this is it, else as the next inbox work.
    private func onHome(_ body: @escaping () -> Void) {
        if streamScope == nil { body() } else { submit(.onHome(HomeTask(body: body))) }
    }

    /// A client's call: sent from its own stream when the target is a ready Streamable HTTP
    /// connection, else handed to the home loop.
    func submitCall(_ call: Call, from scope: Scope) {
        lock.lock()
        defer { lock.unlock() }
        guard homeScope != nil, let targetIndex = config.targets.firstIndex(where: { $0.name == call.target }),
              targets[targetIndex].upstream.sendsFromAnyScope,
              let connection = existingConnection(for: targetIndex, owner: call.owner), connection.isReady,
              // A 2026-07-28 client answered with an InputRequiredResult ends its stream while a
              // handshake-era upstream still works on the call: that call must not die with it.
              call.mailbox.serverRequests == .relay || connection.modern else {
            submit(.call(call))
            return
        }
        streamScope = scope
        defer { streamScope = nil }
        call.viaStream = true
        dispatch(call)
    }

    /// An event of an HTTP call a stream made for the federation.
    func streamEvent(_ event: PluginEvent, scope: Scope) {
        lock.lock()
        defer { lock.unlock() }
        guard homeScope != nil else { return }
        streamScope = scope
        defer { streamScope = nil }
        for connection in allConnections where connection.upstream.sendsFromAnyScope {
            if connection.upstream.handle(event, scope: scope) { return }
        }
    }

    private func start(_ target: Connection, scope: Scope) {
        homeScope = scope
        target.state = .starting
        target.upstream.start(scope)
    }

    private func perform(_ work: Work, scope: Scope) {
        homeScope = scope
        switch work {
        case .call(let call): dispatch(call)
        case .list(let kind, let mailbox): startList(kind, mailbox: mailbox)
        case .describe(let mailbox): describe(to: mailbox)
        case .clientResponse(let message, let envelope, let owner): relayBack(message, envelope, from: owner)
        case .cancel(let owner, let requestID): cancel(ClientRequestKey(owner: owner, requestID: requestID), reason: "cancelled by the client")
        case .abandon(let mailbox): abandon(mailbox)
        case .resume(let state, let responses, let mailbox, let clientID):
            resume(state, responses: responses, mailbox: mailbox, clientID: clientID)
        case .sessionEnded(let sessionID, let listeners):
            endSession(sessionID, listeners: listeners)
        case .onHome(let task):
            task.body()
        case .setLogLevel(let params):
            for target in targets where target.isReady && !target.modern && target.capabilities?["logging"] != nil {
                send(request: "logging/setLevel", params: Array(params.raw), to: target, purpose: .ignore)
            }
        }
    }

    /// How a client names one of its requests in flight; nil for anonymous stateless clients.
    private static func key(_ call: Call) -> ClientRequestKey? {
        call.owner.isIdentifiable ? ClientRequestKey(owner: call.owner, requestID: call.clientID) : nil
    }

    /// Registers a call for cancellation: when it arrives (it may wait for its connection to
    /// start) and again when it is sent.
    private func track(_ call: Call, on connection: Connection? = nil, upstreamID: Int? = nil) {
        guard let key = Self.key(call) else { return }
        inFlight[key] = (call, connection.flatMap { connection in upstreamID.map { (connection, $0) } })
    }

    private func untrack(_ call: Call) {
        if let key = Self.key(call) { inFlight[key] = nil }
    }

    // MARK: targets

    func upstreamConnected(_ upstream: Upstream) {
        guard let target = target(of: upstream) else { return }
        target.modern = false
        if case .http = upstream.target.transport, upstream.target.protocolChoice != .handshake {
            upstream.protocolVersion = Self.modernVersion
            send(request: "server/discover", params: nil, to: target, purpose: .probe)
            return
        }
        initialize(target)
    }

    private func initialize(_ target: Connection) {
        target.upstream.protocolVersion = nil
        let params = """
            {"protocolVersion":"\(Self.handshakeVersion)","capabilities":{"elicitation":{},"sampling":{},"roots":{"listChanged":true}},\
            "clientInfo":{"name":"agentgateway","version":"0.1.0"}}
            """
        send(request: "initialize", params: Array(params.utf8), to: target, purpose: .handshake)
    }

    /// The answer to `server/discover`: a 2026-07-28 server, or else the handshake.
    private func probed(_ target: Connection, result: JSONValue?, failure: String?) {
        let versions = result?["supportedVersions"]?.elements?.compactMap(\.string) ?? []
        if let result, versions.contains(Self.modernVersion) {
            target.modern = true
            handshakeCompleted(target, result: result)
            return
        }
        if target.upstream.target.protocolChoice == .modern {
            upstream(target.upstream, failed: "it does not speak \(Self.modernVersion): \(failure ?? "server/discover offered \(versions)")")
        } else if let failure, !failure.hasPrefix("HTTP 4") {
            // Not even an HTTP answer (refused, reset, timed out): the target is down.
            upstream(target.upstream, failed: "server/discover failed: \(failure)")
        } else {
            initialize(target) // any other answer means a handshake-era server (spec: era detection)
        }
    }

    private func handshakeCompleted(_ target: Connection, result: JSONValue) {
        target.capabilities = result["capabilities"]
        target.instructions = result["instructions"]?.string
        if target.modern {
            target.upstream.protocolVersion = Self.modernVersion
        } else {
            target.upstream.protocolVersion = result["protocolVersion"]?.string ?? Self.handshakeVersion
            sendNotification("notifications/initialized", params: nil, to: target)
            onHome { [self] in target.upstream.listen(scope) }
        }
        target.state = .ready
        target.settled = true
        target.restartAttempts = 0
        let server = (result["serverInfo"] ?? result["_meta"]?["io.modelcontextprotocol/serverInfo"])?["name"]?.string ?? "?"
        let whose = target.owner.map { " for \($0)" } ?? ""
        log(.info, "target '\(target.name)' is ready\(whose) (server '\(server)', protocol \(target.upstream.protocolVersion ?? "?"))")
        runWaiting(target)
        answerDescribeWaiters()
        if !names.prefixes, targets.count > 1 {
            // Route by lookup: learn who owns which name now.
            onHome { [self] in for kind in ListKind.allCases { startList(kind, mailbox: nil) } }
        }
    }

    func upstream(_ upstream: Upstream, failed reason: String) {
        guard let target = target(of: upstream) else { return }
        if case .down = target.state { return }
        target.state = .down(reason)
        target.settled = true
        // Its GET stream and process belong to the home loop's scope, whoever noticed the failure.
        onHome { [self] in upstream.stop(scope) }
        let pending = target.pending
        target.pending.removeAll()
        for (id, entry) in pending.sorted(by: { $0.key < $1.key }) { fail(entry, of: target, upstreamID: id, reason: reason) }
        runWaiting(target)
        if let owner = target.owner {
            // A client's own connection is not restarted: its next request opens a new one.
            if ownConnections[owner]?[target.targetIndex] === target { ownConnections[owner]?[target.targetIndex] = nil }
            if ownConnections[owner]?.isEmpty == true { ownConnections[owner] = nil }
            byUpstream[ObjectIdentifier(upstream)] = nil
            log(.info, "target '\(target.name)': the connection of \(owner) ended: \(reason)")
            return
        }
        let index = target.targetIndex
        let delay = min(30_000, 500 << min(target.restartAttempts, 6))
        target.restartAttempts += 1
        log(.warning, "target '\(target.name)' is down: \(reason); restarting in \(delay) ms")
        onHome { [self] in
            if let timer = scope.startTimer(milliseconds: UInt32(delay)) { restartTimers[timer] = index }
        }
        answerDescribeWaiters()
    }

    func upstream(_ upstream: Upstream, requestFailed requestID: Int, reason: String) {
        guard let target = target(of: upstream), let entry = target.pending.removeValue(forKey: requestID) else { return }
        if case .probe = entry.purpose {
            probed(target, result: nil, failure: reason)
            return
        }
        if case .handshake = entry.purpose {
            self.upstream(upstream, failed: "initialize failed: \(reason)")
            return
        }
        fail(entry, of: target, upstreamID: requestID, reason: reason)
    }

    func upstream(_ upstream: Upstream, rejected requestID: Int, error: JSONValue) {
        guard let target = target(of: upstream), let entry = target.pending.removeValue(forKey: requestID) else { return }
        complete(entry, of: target, upstreamID: requestID, result: nil, error: error)
    }

    func upstream(_ upstream: Upstream, log line: String) {
        log(.debug, "target '\(upstream.target.name)' stderr: \(line)")
    }

    func upstream(_ upstream: Upstream, received bytes: [UInt8], relatedTo requestID: Int?) {
        guard let target = target(of: upstream) else { return }
        let envelope: JSONRPCEnvelope
        do {
            envelope = try JSONRPCEnvelope.scan(bytes)
        } catch {
            log(.warning, "target '\(target.name)' sent a message that is not JSON-RPC (\(error)); ignored")
            return
        }
        let message = JSONValue(bytes)
        let params = envelope.params.map { JSONValue(bytes, range: $0) }
        switch envelope.kind {
        case .result, .error:
            guard let idRange = envelope.id, let id = JSONValue(bytes, range: idRange).int,
                  let entry = target.pending.removeValue(forKey: id) else { return }
            let result = envelope.result.map { JSONValue(bytes, range: $0) }
            let error = envelope.error.map { JSONValue(bytes, range: $0) }
            complete(entry, of: target, upstreamID: id, result: result, error: error)
        case .request:
            let id = envelope.id.map { JSONValue(bytes, range: $0).text } ?? "null"
            serverRequest(envelope.method ?? "", id: id, params: params, from: target, relatedTo: requestID)
        case .notification:
            serverNotification(envelope.method ?? "", params: params, message: message, from: target, relatedTo: requestID)
        }
    }

    private func target(of upstream: Upstream) -> Connection? { byUpstream[ObjectIdentifier(upstream)] }

    /// Where host calls go: the client stream being served, else the configuration.
    private var scope: Scope { streamScope ?? homeScope! }

    private func runWaiting(_ target: Connection) {
        let waiting = target.waiting
        target.waiting.removeAll()
        waiting.forEach { $0() }
    }

    // MARK: requests to targets

    private func send(request method: String, params: [UInt8]?, to target: Connection, purpose: Pending.Purpose) {
        let id = target.nextID
        target.nextID += 1
        target.pending[id] = Pending(purpose: purpose, deadline: Date().addingTimeInterval(target.timeout))
        var isProbe = false
        if case .probe = purpose { isProbe = true }
        var (params, headers) = envelope(method, params, for: target, modern: target.modern || isProbe)
        if case .call(let call) = purpose { headers += call.forwardedHeaders }
        target.upstream.send(JSONText.request(id: String(id), method: method, params: params), requestID: id, headers: headers, scope: scope)
    }

    private func sendNotification(_ method: String, params: [UInt8]?, to target: Connection) {
        let (params, headers) = envelope(method, params, for: target, modern: target.modern)
        target.upstream.send(JSONText.request(id: nil, method: method, params: params), requestID: nil, headers: headers, scope: scope)
    }

    static let modernVersion = "2026-07-28"
    private static let modernMeta: [(String, [UInt8])] = [
        ("io.modelcontextprotocol/protocolVersion", Array(JSONText.quoted(modernVersion).utf8)),
        ("io.modelcontextprotocol/clientCapabilities", Array(#"{"elicitation":{},"sampling":{},"roots":{}}"#.utf8)),
        ("io.modelcontextprotocol/clientInfo", Array(#"{"name":"agentgateway","version":"0.1.0"}"#.utf8)),
    ]

    /// A 2026-07-28 request carries its envelope in `_meta` and repeats the method and the name in
    /// headers (`Mcp-Method`, `Mcp-Name`; non-ASCII as `=?base64?…?=`).
    private func envelope(_ method: String, _ params: [UInt8]?, for target: Connection, modern: Bool) -> ([UInt8]?, [(String, String)]) {
        guard modern else { return (params, []) }
        var rewrite = ParamsRewrite()
        rewrite.metaMembers = Self.modernMeta
        let withMeta = rewrite.apply(to: JSONValue(params ?? Array("{}".utf8)))
        var headers = [("mcp-method", method)]
        let nameKey: String? = switch method {
        case "tools/call", "prompts/get": "name"
        case "resources/read": "uri"
        default: nil
        }
        if let nameKey, let name = JSONValue(withMeta)[nameKey]?.string {
            let plain = name.unicodeScalars.allSatisfy { $0.isASCII && $0.value >= 0x20 && $0.value != 0x7F }
            headers.append(("mcp-name", plain ? name : "=?base64?" + Data(name.utf8).base64EncodedString() + "?="))
        }
        return (withMeta, headers)
    }

    private func dispatch(_ call: Call) {
        guard !call.isCancelled else { return }
        guard let targetIndex = config.targets.firstIndex(where: { $0.name == call.target }) else {
            call.mailbox.deliver(.error(Self.error(-32602, "Unknown target '\(call.target)'")))
            return
        }
        let target: Connection
        switch connection(for: targetIndex, owner: call.owner) {
        case .success(let connection): target = connection
        case .failure(let refusal):
            call.mailbox.deliver(.error(Self.error(-32603, "MCP server '\(call.target)' is unavailable: \(refusal.reason)")))
            return
        }
        switch target.state {
        case .starting:
            track(call) // cancellable while it waits
            target.waiting.append { [weak self] in self?.dispatch(call) }
        case .down(let reason):
            untrack(call)
            call.mailbox.deliver(.error(Self.error(-32603, "MCP server '\(target.name)' is unavailable: \(reason)")))
        case .ready:
            let id = target.nextID
            if call.clientProgressToken != nil { call.rewrite.progressToken = String(id) }
            call.upstreamID = id
            track(call, on: target, upstreamID: id)
            send(request: call.method, params: call.params.map { call.rewrite.apply(to: $0) }, to: target, purpose: .call(call))
        }
    }

    private func complete(_ entry: Pending, of target: Connection, upstreamID: Int, result: JSONValue?, error: JSONValue?) {
        switch entry.purpose {
        case .probe:
            // A JSON-RPC error (method not found, unsupported version, missing session, ...) is
            // not 2026-07-28 evidence: the handshake follows.
            probed(target, result: result, failure: error.map { "HTTP 4xx-equivalent JSON-RPC error \($0["code"]?.text ?? "?")" })
        case .handshake:
            if let result {
                handshakeCompleted(target, result: result)
            } else {
                target.upstream.delegate?.upstream(target.upstream, failed: "initialize was refused: \(error?.text ?? "?")")
            }
        case .call(let call):
            untrack(call)
            if let result, target.modern, call.mailbox.serverRequests == .relay, result["resultType"]?.string == "input_required" {
                bridgeInput(call, result: result)
            } else if let result {
                call.mailbox.deliver(.result(call.method == "resources/read" ? clientURIs(in: result, of: target)[...] : result.raw))
            } else {
                call.mailbox.deliver(.error(error.map { Array($0.raw) } ?? Self.error(-32603, "empty answer")))
            }
        case .listPage(let job, let index):
            if let result {
                collectPage(job, targetIndex: index, result: result)
            } else {
                listFailed(job, targetIndex: index, reason: error?["message"]?.string ?? "the list request failed")
            }
        case .ignore:
            break
        }
    }

    private func fail(_ entry: Pending, of target: Connection, upstreamID: Int, reason: String) {
        switch entry.purpose {
        case .handshake, .ignore, .probe:
            break
        case .call(let call):
            untrack(call)
            call.mailbox.deliver(.error(Self.error(-32603, "MCP server '\(target.name)' failed: \(reason)")))
        case .listPage(let job, let index):
            listFailed(job, targetIndex: index, reason: reason)
        }
    }

    private func sweep(scope: Scope) {
        homeScope = scope
        let now = Date()
        for target in allConnections {
            let expired = target.pending.filter { $0.value.deadline < now }.sorted { $0.key < $1.key }
            for (id, entry) in expired {
                target.pending[id] = nil
                if case .handshake = entry.purpose {
                    upstream(target.upstream, failed: "no answer to initialize within \(Int(target.timeout * 1000)) ms")
                    break
                }
                if case .probe = entry.purpose {
                    upstream(target.upstream, failed: "no answer to server/discover within \(Int(target.timeout * 1000)) ms")
                    break
                }
                sendCancelled(id, to: target, reason: "timed out")
                if case .call(let call) = entry.purpose {
                    untrack(call)
                    call.mailbox.deliver(.error(Self.error(-32001, "MCP server '\(target.name)' did not answer within \(Int(target.timeout * 1000)) ms")))
                } else {
                    fail(entry, of: target, upstreamID: id, reason: "no answer within \(Int(target.timeout * 1000)) ms")
                }
            }
        }
        // Expired sessions go within a quarter of their TTL (at least every 10 s, at most every second).
        if now.timeIntervalSince(lastSessionSweep) >= min(10, max(1, sessions.ttl / 4)) {
            lastSessionSweep = now
            sessions.sweep()
            stopIdleOwnConnections(now: now)
        }
        if config.heartbeatSeconds > 0, now.timeIntervalSince(lastHeartbeat) >= TimeInterval(config.heartbeatSeconds) {
            lastHeartbeat = now
            for listener in sessions.allListeners() { listener.deliver(.heartbeat) }
        }
    }

    private func sendCancelled(_ upstreamID: Int, to target: Connection, reason: String) {
        let params = "{\"requestId\":\(upstreamID),\"reason\":\(JSONText.quoted(reason))}"
        sendNotification("notifications/cancelled", params: Array(params.utf8), to: target)
    }

    /// A 2026-07-28 upstream needs input for a handshake-era client's call: relay each input
    /// request to the client on the call's stream; its answers go into the retry.
    private func bridgeInput(_ call: Call, result: JSONValue) {
        let bridge = InputBridge(call: call, requestState: result["requestState"].map { Array($0.raw) })
        for (key, request) in result["inputRequests"]?.members ?? [] {
            let token = bridged.issue((bridge, key), to: call.owner)
            bridge.waiting.insert(token)
            let method = request["method"]?.string ?? ""
            call.mailbox.deliver(.message(JSONText.request(id: JSONText.quoted(token), method: method, params: request["params"].map { Array($0.raw) })))
        }
        if bridge.waiting.isEmpty { retry(bridge) }
    }

    private func retry(_ bridge: InputBridge) {
        let call = bridge.call
        call.rewrite.extraMembers = [("inputResponses", JSONText.object(bridge.responses))]
            + (bridge.requestState.map { [("requestState", $0)] } ?? [])
        dispatch(call)
    }

    private func cancel(_ key: ClientRequestKey, reason: String) {
        guard key.owner.isIdentifiable, let (call, sentOn) = inFlight.removeValue(forKey: key) else { return }
        if let (target, upstreamID) = sentOn {
            guard target.pending.removeValue(forKey: upstreamID) != nil else { return }
            sendCancelled(upstreamID, to: target, reason: reason)
        }
        // A call still waiting for its connection is dropped when its turn comes.
        call.isCancelled = true
        call.mailbox.deliver(.error(Self.error(-32800, "Request cancelled")))
    }

    private func abandon(_ mailbox: Mailbox) {
        for target in allConnections {
            for (id, entry) in target.pending {
                // A call sent from the stream died with it; other handshake-era calls run on.
                guard case .call(let call) = entry.purpose, call.mailbox === mailbox, call.cancelsWhenAbandoned || call.viaStream else { continue }
                target.pending[id] = nil
                untrack(call)
                sendCancelled(id, to: target, reason: "the client closed the stream")
            }
        }
    }

    // MARK: server → client

    /// A request from a target (elicitation, sampling, roots, ping). It goes to the client that
    /// owns it (``ServerRequestOwnership``), under an id only that client can answer; when the
    /// owner is not known it is refused upstream, logged and counted.
    private func serverRequest(_ method: String, id: String, params: JSONValue?, from target: Connection, relatedTo requestID: Int?) {
        if method == "ping" {
            target.upstream.send(JSONText.response(id: id, result: Array("{}".utf8)), requestID: nil, headers: [], scope: scope)
            return
        }
        let decision = ServerRequestOwnership.decide(method: method, carriedBy: requestID, connectionOwner: target.owner,
                                                     callsInFlight: callsInFlight(on: target))
        let params = params.map { Array($0.raw) }
        switch decision {
        case .call(let upstreamID):
            guard let origin = target.pending[upstreamID].flatMap(Self.call(of:)) else { return }
            relay(method, id: id, params: params, from: target, to: origin, upstreamID: upstreamID)
        case .ownerStream(let owner):
            guard let sessionID = owner.sessionID, let listener = sessions.listener(of: sessionID) else {
                return refuse(method, id: id, from: target, reason: "its client has no call in flight and no GET stream open")
            }
            let token = relayed.issue(Relay(connection: target, upstreamID: id, mailbox: listener), to: owner)
            listener.deliver(.message(JSONText.request(id: JSONText.quoted(token), method: method, params: params)))
        case .refuse(let refusal):
            refuse(method, id: id, from: target, reason: refusal.description)
        }
    }

    /// Passes a server→client request to the call that caused it: on its response stream
    /// (handshake era), or as its `InputRequiredResult` (2026-07-28 clients, SEP-2322: the retry
    /// carries the answer, which goes upstream under the server's id, and the call continues).
    private func relay(_ method: String, id: String, params: [UInt8]?, from target: Connection, to origin: Call, upstreamID: Int) {
        let token = relayed.issue(Relay(connection: target, upstreamID: id, mailbox: origin.mailbox), to: origin.owner)
        switch origin.mailbox.serverRequests {
        case .relay:
            origin.mailbox.deliver(.message(JSONText.request(id: JSONText.quoted(token), method: method, params: params)))
        case .inputRequired:
            let request = JSONText.object([("method", Array(JSONText.quoted(method).utf8))] + (params.map { [("params", $0)] } ?? []))
            origin.queuedInputRequests.append((token, request))
            if !origin.awaitingRetry { askForInput(origin, on: target, upstreamID: upstreamID) }
        }
    }

    /// Answers a server→client request with an error, because no client provably owns it.
    private func refuse(_ method: String, id: String, from target: Connection, reason: String) {
        log(.warning, "target '\(target.name)' sent \(method); refused: \(reason)")
        if let refusedMetric { homeScope?.addToMetric(refusedMetric, 1) }
        let message = "The gateway refused \(method): \(reason)"
        target.upstream.send(JSONText.errorResponse(id: id, code: -32603, message: message), requestID: nil, scope: scope)
    }

    /// Finishes the client's current exchange with an `InputRequiredResult` for the queued
    /// requests, and a `requestState` only this client can retry with.
    private func askForInput(_ call: Call, on target: Connection, upstreamID: Int) {
        guard !call.queuedInputRequests.isEmpty else { return }
        let requests = call.queuedInputRequests
        call.queuedInputRequests.removeAll()
        call.awaitingRetry = true
        let state = parked.issue((target, upstreamID), to: call.owner)
        let result = JSONText.object([
            ("resultType", Array("\"input_required\"".utf8)),
            ("inputRequests", JSONText.object(requests.map { ($0.key, $0.request) })),
            ("requestState", Array(JSONText.quoted(state).utf8)),
        ])
        call.mailbox.deliver(.result(result[...]))
    }

    /// A retry after an `InputRequiredResult`: the answers go upstream; the call's result (or the
    /// next input request) goes to the retry's exchange. A state another client was given is
    /// unknown here, and leaves that client's call alone.
    private func resume(_ state: String, responses: JSONValue?, mailbox: Mailbox, clientID: String) {
        guard let (target, upstreamID) = parked.redeem(state, by: mailbox.owner),
              let call = target.pending[upstreamID].flatMap(Self.call(of:)) else {
            mailbox.deliver(.error(Self.error(-32602, "Unknown or expired requestState '\(state)'; send the request again without it")))
            return
        }
        untrack(call)
        call.mailbox = mailbox
        call.clientID = clientID
        call.awaitingRetry = false
        track(call, on: target, upstreamID: upstreamID)
        target.pending[upstreamID]?.deadline = Date().addingTimeInterval(target.timeout)
        for (key, response) in responses?.members ?? [] {
            guard let relay = relayed.redeem(key, by: mailbox.owner) else { continue }
            target.upstream.send(JSONText.response(id: relay.upstreamID, result: response.raw), requestID: nil, scope: scope)
        }
        askForInput(call, on: target, upstreamID: upstreamID)
    }

    private static func call(of entry: Pending) -> Call? {
        if case .call(let call) = entry.purpose { return call }
        return nil
    }

    /// Whether `owner` was sent a server→client request with this id (raw JSON) that waits for
    /// its answer. Called from the client's stream, so a forged or stale answer is refused at once.
    func isAwaitingAnswer(_ id: JSONValue, from owner: Owner) -> Bool {
        lock.lock()
        defer { lock.unlock() }
        guard let token = id.string else { return false }
        return relayed.entry(token, for: owner) != nil || bridged.entry(token, for: owner) != nil
    }

    /// The client answered a relayed request: send it to the target under the target's id. Only
    /// the owner's answer counts; anyone else's is dropped and leaves the request waiting.
    private func relayBack(_ message: JSONValue, _ envelope: JSONRPCEnvelope, from owner: Owner) {
        guard let idRange = envelope.id, let id = JSONValue(message.bytes, range: idRange).string else { return }
        if let (bridge, key) = bridged.redeem(id, by: owner) {
            bridge.waiting.remove(id)
            if let result = envelope.result {
                bridge.responses.append((key, Array(message.bytes[result])))
                if bridge.waiting.isEmpty { retry(bridge) }
            } else {
                for other in bridge.waiting { bridged.remove(other) }
                bridge.call.mailbox.deliver(.error(envelope.error.map { Array(message.bytes[$0]) } ?? Self.error(-32603, "no answer")))
            }
            return
        }
        guard let relay = relayed.redeem(id, by: owner) else {
            log(.debug, "\(owner) answered \(id), which the gateway did not ask it; ignored")
            return
        }
        let answer: [UInt8]
        if let result = envelope.result {
            answer = JSONText.response(id: relay.upstreamID, result: message.bytes[result])
        } else if let error = envelope.error {
            answer = JSONText.errorResponse(id: relay.upstreamID, error: message.bytes[error])
        } else {
            return
        }
        relay.connection.upstream.send(answer, requestID: nil, scope: scope)
    }

    private func serverNotification(_ method: String, params: JSONValue?, message: JSONValue, from target: Connection, relatedTo requestID: Int?) {
        switch method {
        case "notifications/progress":
            guard let params, let token = params["progressToken"]?.int, let call = target.pending[token].flatMap(Self.call(of:)),
                  let clientToken = call.clientProgressToken, let members = params.members else { return }
            let rewritten = JSONText.object(members.map { ($0.name, $0.name == "progressToken" ? Array(clientToken.utf8) : Array($0.value.raw)) })
            call.mailbox.deliver(.message(JSONText.request(id: nil, method: method, params: rewritten)))
        case "notifications/message":
            // A log line can name a client's data: only its client sees it (the ownership rule).
            switch ServerRequestOwnership.owner(carriedBy: requestID, connectionOwner: target.owner, callsInFlight: callsInFlight(on: target)) {
            case .call(let upstreamID): target.pending[upstreamID].flatMap(Self.call(of:))?.mailbox.deliver(.message(Array(message.raw)))
            case .ownerStream(let owner): owner.sessionID.flatMap(sessions.listener(of:))?.deliver(.message(Array(message.raw)))
            case .refuse(let refusal): log(.debug, "target '\(target.name)': a log message is not passed on: \(refusal)")
            }
        case "notifications/tools/list_changed", "notifications/prompts/list_changed", "notifications/resources/list_changed":
            listeners(of: target).forEach { $0.deliver(.message(Array(message.raw))) }
            if target.owner == nil, !names.prefixes, targets.count > 1, let kind = ListKind(method: method.replacingOccurrences(of: "notifications/", with: "")
                .replacingOccurrences(of: "list_changed", with: "list")) {
                onHome { [self] in startList(kind, mailbox: nil) }
            }
        case "notifications/cancelled":
            // The server gave up a request it relayed to a client: tell that client, in its ids.
            guard let requestID = params?["requestId"]?.text.trimmingCharacters(in: .whitespaces),
                  let (token, relay) = relayed.first(where: { $0.connection === target && $0.upstreamID == requestID }) else { return }
            relayed.remove(token)
            var members: [(String, [UInt8])] = [("requestId", Array(JSONText.quoted(token).utf8))]
            if let reason = params?["reason"] { members.append(("reason", Array(reason.raw))) }
            relay.mailbox.deliver(.message(JSONText.request(id: nil, method: method, params: JSONText.object(members))))
        case "notifications/resources/updated":
            guard let uri = params?["uri"]?.string else { return }
            let mapped = "{\"uri\":\(JSONText.quoted(names.clientName(target: target.name, name: uri, uri: true)))}"
            let notification = JSONText.request(id: nil, method: method, params: Array(mapped.utf8))
            listeners(of: target).forEach { $0.deliver(.message(notification)) }
        default:
            break
        }
    }

    /// Where a connection's notifications for no request go: a client's own connection to that
    /// client's GET stream only; a shared one to every session's.
    private func listeners(of connection: Connection) -> [Mailbox] {
        guard let owner = connection.owner else { return sessions.listeners() }
        return owner.sessionID.flatMap(sessions.listener(of:)).map { [$0] } ?? []
    }

    /// The client calls waiting on a connection, oldest first, for the ownership rule.
    private func callsInFlight(on connection: Connection) -> [ServerRequestOwnership.CallInFlight<Int>] {
        connection.pending.sorted { $0.key < $1.key }.compactMap { entry in
            Self.call(of: entry.value).map { ServerRequestOwnership.CallInFlight(id: entry.key, owner: $0.owner) }
        }
    }

    // MARK: describe

    private func describe(to mailbox: Mailbox) {
        if targets.contains(where: { !$0.settled }) {
            describeWaiters.append(mailbox)
            return
        }
        let down = targets.filter { $0.downReason != nil }
        if config.failureMode == .closed, let first = down.first {
            mailbox.deliver(.error(Self.error(-32603, "MCP server '\(first.name)' is unavailable: \(first.downReason ?? "")")))
            return
        }
        mailbox.deliver(.description(ServerDescription(capabilities: mergedCapabilities(), instructions: mergedInstructions())))
    }

    private func answerDescribeWaiters() {
        guard !targets.contains(where: { !$0.settled }) else { return }
        let waiters = describeWaiters
        describeWaiters.removeAll()
        waiters.forEach(describe(to:))
    }

    /// The union of the ready targets' capabilities: each capability a target declares, with the
    /// sub-flags any target declares. `experimental` and `tasks` are not federated.
    private func mergedCapabilities() -> [UInt8] {
        var order: [String] = []
        var merged: [String: [(String, [UInt8])]] = [:]
        for target in targets where target.isReady {
            for (name, value) in target.capabilities?.members ?? [] where name != "experimental" && name != "tasks" {
                if merged[name] == nil {
                    order.append(name)
                    merged[name] = []
                }
                for (flag, flagValue) in value.members ?? [] where !(merged[name]?.contains { $0.0 == flag } ?? false) {
                    merged[name]?.append((flag, Array(flagValue.raw)))
                }
            }
        }
        return JSONText.object(order.map { ($0, JSONText.object(merged[$0] ?? [])) })
    }

    private func mergedInstructions() -> String? {
        let parts = targets.filter(\.isReady).compactMap { target in target.instructions.map { "[\(target.name)] \($0)" } }
        return parts.isEmpty ? nil : parts.joined(separator: "\n\n")
    }

    // MARK: lists

    private func startList(_ kind: ListKind, mailbox: Mailbox?) {
        let job = ListJob(kind: kind, mailbox: mailbox, targetCount: targets.count)
        for index in targets.indices { requestPage(job, targetIndex: index, cursor: nil) }
    }

    private func requestPage(_ job: ListJob, targetIndex: Int, cursor: String?) {
        let target: Connection
        switch connection(for: targetIndex, owner: job.mailbox?.owner ?? Owner(sessionID: nil, caller: nil)) {
        case .success(let connection): target = connection
        case .failure(let refusal):
            listFailed(job, targetIndex: targetIndex, reason: refusal.reason)
            return
        }
        switch target.state {
        case .starting where !target.settled || cursor != nil || target.owner != nil:
            target.waiting.append { [weak self] in self?.requestPage(job, targetIndex: targetIndex, cursor: cursor) }
        case .starting:
            listFailed(job, targetIndex: targetIndex, reason: "it is restarting")
        case .down(let reason):
            listFailed(job, targetIndex: targetIndex, reason: reason)
        case .ready:
            guard target.capabilities?[job.kind.capability] != nil else {
                job.items[targetIndex] = []
                finishIfComplete(job)
                return
            }
            if cursor == nil { job.items[targetIndex] = nil }
            let params = cursor.map { Array("{\"cursor\":\(JSONText.quoted($0))}".utf8) }
            send(request: job.kind.method, params: params, to: target, purpose: .listPage(job, targetIndex: targetIndex))
        }
    }

    /// Pages collected so far per target, while more pages come.
    private var partialPages: [ObjectIdentifier: [Int: [MergedList.Item]]] = [:]

    private func collectPage(_ job: ListJob, targetIndex: Int, result: JSONValue) {
        let target = targets[targetIndex]
        var collected = partialPages[ObjectIdentifier(job)]?[targetIndex] ?? []
        for item in result[job.kind.arrayKey]?.elements ?? [] {
            guard let key = item[job.kind.keyField], let name = key.string else { continue }
            let clientName = names.clientName(target: target.name, name: name, uri: job.kind.namesAreURIs)
            collected.append(MergedList.Item(target: target.name, name: name, json: clientName == name ? Array(item.raw)
                : JSONText.replacing(key.range, in: item, with: JSONText.quoted(clientName))))
        }
        job.pages += 1
        if let next = result["nextCursor"]?.string, !next.isEmpty, job.pages < 1000 {
            partialPages[ObjectIdentifier(job), default: [:]][targetIndex] = collected
            requestPage(job, targetIndex: targetIndex, cursor: next)
            return
        }
        partialPages[ObjectIdentifier(job)]?[targetIndex] = nil
        job.items[targetIndex] = collected
        finishIfComplete(job)
    }

    private func listFailed(_ job: ListJob, targetIndex: Int, reason: String) {
        guard job.items[targetIndex] == nil else { return }
        partialPages[ObjectIdentifier(job)]?[targetIndex] = nil
        job.failures.append((targets[targetIndex].name, reason))
        job.items[targetIndex] = []
        finishIfComplete(job)
    }

    private func finishIfComplete(_ job: ListJob) {
        guard job.isComplete else { return }
        partialPages[ObjectIdentifier(job)] = nil
        if let failure = job.failures.first {
            if config.failureMode == .closed {
                job.mailbox?.deliver(.error(Self.error(-32603, "MCP server '\(failure.target)' is unavailable: \(failure.reason)")))
                return
            }
            for failure in job.failures {
                log(.warning, "\(job.kind.method): leaving out MCP server '\(failure.target)': \(failure.reason)")
            }
        }
        var items = job.items.flatMap { $0 ?? [] }
        if !names.prefixes {
            items = deduplicated(items, kind: job.kind)
        }
        job.mailbox?.deliver(.list(MergedList(items: items)))
    }

    /// Without prefixes, a name offered by two targets goes to the first; the collision is logged.
    private func deduplicated(_ items: [MergedList.Item], kind: ListKind) -> [MergedList.Item] {
        var owners: [String: String] = [:]
        var kept: [MergedList.Item] = []
        for item in items {
            if let owner = owners[item.name] {
                if owner != item.target {
                    log(.warning, "\(kind.targetKind) '\(item.name)' is offered by '\(owner)' and '\(item.target)'; "
                        + "'\(item.target)''s is hidden (set prefix = \"always\" to keep both)")
                }
                continue
            }
            owners[item.name] = item.target
            kept.append(item)
        }
        let prefix = kind.namesAreURIs ? "uri:" : "name:"
        if kind != .resourceTemplates {
            index.withLock { index in for (name, target) in owners { index[prefix + name] = target } }
        }
        return kept
    }

    /// A `resources/read` result with each `contents[].uri` mapped to the name clients see.
    private func clientURIs(in result: JSONValue, of target: Connection) -> [UInt8] {
        guard names.prefixes, let members = result.members else { return Array(result.raw) }
        return JSONText.object(members.map { member in
            guard member.name == "contents", let contents = member.value.elements else { return (member.name, Array(member.value.raw)) }
            return (member.name, JSONText.array(contents.map { content in
                guard let fields = content.members, let uri = content["uri"]?.string else { return Array(content.raw) }
                let mapped = names.clientName(target: target.name, name: uri, uri: true)
                return JSONText.object(fields.map { ($0.name, $0.name == "uri" ? Array(JSONText.quoted(mapped).utf8) : Array($0.value.raw)) })
            }))
        })
    }

    // MARK: helpers

    static func error(_ code: Int, _ message: String) -> [UInt8] {
        Array("{\"code\":\(code),\"message\":\(JSONText.quoted(message))}".utf8)
    }

    private func log(_ level: LogLevel, _ message: String) { homeScope?.log(level, message) }
}
