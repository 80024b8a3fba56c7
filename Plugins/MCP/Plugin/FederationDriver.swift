import Dispatch
import JSON
import JSONRPC
import MCPCore
import PluginKit
import Synchronization

/// Runs one route's ``Federation`` (the state machine in MCPCore) on the gateway: keeps it under
/// one lock, feeds it the host's events, and performs the actions it returns.
///
/// Actions run on the loop that got the event when they may: a client's HTTP call from that
/// client's own stream, a delivery to the exchange being served without a hop. Process work,
/// timers, GET streams and the rest belong to the route configuration's home loop: from a stream
/// they are queued (``homeWork``) and the home loop is woken. Actions are performed outside the
/// lock, so a host call may come straight back with another event.
final class FederationDriver: @unchecked Sendable {
    /// Where an action is being performed: on a client's stream (its scope and exchange), or on
    /// the home loop (the configuration's scope).
    struct Context {
        var stream: (scope: Scope, exchange: ExchangeID)?
        var home: Scope?
        /// Deliveries for the exchange being served, handed out by the caller.
        var inline: [Delivery] = []
    }

    private struct State {
        var federation: Federation
        var mailboxes: [ExchangeID: Mailbox] = [:]
        var nextExchange: UInt64 = 1
        /// Actions waiting for the home loop.
        var homeWork: [FederationAction] = []
        var restartTimers: [UInt64: Int] = [:]
        var sweepTimer: UInt64?
    }

    static let startEventID: UInt64 = 1
    static let homeWorkEventID: UInt64 = 2
    static let documentsEventID: UInt64 = 3
    static let sweepMilliseconds: UInt32 = 250

    private let state: Mutex<State>
    private let homeScheduler: Scheduler?
    private let logScope: Scope
    private let refusals: Counter?
    private let metrics: MCPMetrics?
    private let documents: DocumentWatch

    init(config: MCPRouteConfig, scope: Scope, refusals: Counter?, metrics: MCPMetrics? = nil) {
        let federation = Federation(config: config)
        documents = DocumentWatch(federation.watchedDocuments)
        state = Mutex(State(federation: federation))
        homeScheduler = scope.makeScheduler()
        logScope = scope
        self.refusals = refusals
        self.metrics = metrics
        // Targets start on the home loop, once the configuration exists.
        homeScheduler?.post(Self.startEventID)
    }

    /// Monotonic seconds, the federation's clock.
    static func now() -> Double { Double(DispatchTime.now().uptimeNanoseconds) / 1_000_000_000 }

    /// Runs `body` on the federation under the lock, then performs what it returned.
    @discardableResult
    func run(_ context: inout Context, _ body: (inout Federation) -> [FederationAction]) -> [Delivery] {
        let actions = state.withLock { body(&$0.federation) }
        perform(actions, &context)
        return context.inline
    }

    /// Reads the federation under the lock.
    func read<R>(_ body: (borrowing Federation) -> R) -> R { state.withLock { body($0.federation) } }

    // MARK: - exchanges

    /// A new client exchange whose deliveries go to `mailbox` (posted to its stream).
    func open(_ mailbox: Mailbox) -> ExchangeID {
        state.withLock { state in
            let id = ExchangeID(state.nextExchange)
            state.nextExchange += 1
            state.mailboxes[id] = mailbox
            return id
        }
    }

    /// The exchange is over: deliveries to it are dropped from now on.
    func close(_ id: ExchangeID) { _ = state.withLock { $0.mailboxes.removeValue(forKey: id) } }

    // MARK: - home loop

    /// Every configuration-scope event of the route.
    func configurationEvent(_ event: PluginEvent, scope: Scope) {
        var context = Context(home: scope)
        let now = Self.now()
        switch event.kind {
        case .scheduled where event.id == Self.startEventID:
            run(&context) { $0.start(now: now) }
            let timer = scope.startTimer(milliseconds: Self.sweepMilliseconds)
            state.withLock { $0.sweepTimer = timer }
        case .scheduled where event.id == Self.homeWorkEventID:
            let work = state.withLock { state in
                defer { state.homeWork.removeAll() }
                return state.homeWork
            }
            perform(work, &context)
        case .scheduled where event.id == Self.documentsEventID:
            for reread in documents.takeResults() {
                run(&context) { $0.documentReread(targetIndex: reread.targetIndex, reread.result, now: now) }
            }
        case .timer:
            let (isSweep, restart) = state.withLock { state in
                (event.id == state.sweepTimer, state.restartTimers.removeValue(forKey: event.id))
            }
            if isSweep {
                run(&context) { $0.tick(now: now) }
                documents.tick { [homeScheduler] in homeScheduler?.post(Self.documentsEventID) }
                let timer = scope.startTimer(milliseconds: Self.sweepMilliseconds)
                state.withLock { $0.sweepTimer = timer }
            } else if let restart {
                run(&context) { $0.restartDue(targetIndex: restart, now: now) }
            }
        case .processStdout:
            run(&context) { $0.processOutput(event.id, .stdout(event.data)) }
        case .processStderr:
            run(&context) { $0.processOutput(event.id, .stderr(event.text)) }
        case .processExit:
            run(&context) { $0.processOutput(event.id, .exit(event.code)) }
        case .httpResponse, .httpBody, .httpFailed:
            httpEvent(event, scope: scope, &context)
        default:
            break
        }
    }

    /// An HTTP call's event on the scope that made it (the home loop's, or a client stream's).
    /// Returns false when the call is not the federation's.
    @discardableResult
    func httpEvent(_ event: PluginEvent, scope: Scope, _ context: inout Context) -> Bool {
        let key = HostCallKey(scope: scope.identity, id: event.id)
        switch event.kind {
        case .httpResponse:
            let hasBody = event.endOfStream && event.dataCount > 0 // a whole answer in one event (AGW_HTTP_CALL_WHOLE_WHEN_READY)
            let head = HTTPCallEvent.response(status: Int(event.code), contentType: event.header("content-type"),
                                              sessionID: event.header("mcp-session-id"),
                                              contentLength: event.header("content-length").flatMap { Int($0) }, end: event.endOfStream && !hasBody)
            guard hasBody else { return apply(key, &context) { $0.httpEvent(key, head, now: $1) } }
            return event.withUnsafeData { bytes in
                apply(key, &context) { $0.httpEvent(key, head, then: .body(bytes, end: true), now: $1) }
            }
        case .httpBody:
            // Read in place: the chunk is copied once, into the answer being gathered.
            return event.withUnsafeData { bytes in apply(key, &context) { $0.httpEvent(key, .body(bytes, end: event.endOfStream), now: $1) } }
        case .httpFailed:
            return apply(key, &context) { $0.httpEvent(key, .failed(event.text), now: $1) }
        default:
            return false
        }
    }

    /// Runs `body` on the federation (with the time) when `key` is one of its calls, and performs
    /// what it returns. False when the call is not the federation's.
    private func apply(_ key: HostCallKey, _ context: inout Context,
                       _ body: (inout Federation, Double) -> [FederationAction]) -> Bool {
        let now = Self.now()
        let actions: [FederationAction]? = state.withLock { state in
            guard state.federation.isFederationCall(key) else { return nil }
            return body(&state.federation, now)
        }
        guard let actions else { return false }
        perform(actions, &context)
        return true
    }

    // MARK: - performing

    private func perform(_ actions: [FederationAction], _ context: inout Context) {
        for action in actions { perform(action, &context) }
    }

    private func perform(_ action: FederationAction, _ context: inout Context) {
        switch action {
        case .deliver(let exchange, let delivery):
            if context.stream?.exchange == exchange {
                context.inline.append(delivery)
            } else {
                state.withLock { $0.mailboxes[exchange] }?.deliver(delivery)
            }
        case .httpCall(let id, let request, let via):
            let onStream = via != nil && context.stream?.exchange == via
            guard let scope = onStream ? context.stream?.scope : context.home else { return toHome(action) }
            let headers = request.headers.map { ($0.name, $0.value) }
            if let callID = scope.httpCall(method: request.method, url: request.url, headers: headers, body: request.body,
                                           timeoutMilliseconds: UInt32(request.timeoutMilliseconds), streamBody: request.streamsBody,
                                           wholeWhenReady: true) {
                let key = HostCallKey(scope: scope.identity, id: callID)
                run(&context) { $0.httpCallStarted(id, key: key, onStream: onStream) }
            } else {
                run(&context) { $0.httpCallRefused(id) }
            }
        case .log(let severity, let message):
            switch severity {
            case .debug: logScope.log(.debug, message)
            case .info: logScope.log(.info, message)
            case .warning: logScope.log(.warning, message)
            }
        case .countRefusedServerRequest:
            refusals?.increment()
        case .targetStatus(let index, let status):
            metrics?.target(index, status)
        case .sessionCount(let count):
            metrics?.sessionCount(count)
        default:
            guard let home = context.home else { return toHome(action) }
            performOnHome(action, home, &context)
        }
    }

    /// Process work, timers and cancellations: the configuration's scope owns them.
    private func performOnHome(_ action: FederationAction, _ home: Scope, _ context: inout Context) {
        switch action {
        case .spawn(let connection, let command, let arguments, let environment, let directory):
            if let processID = home.spawnProcess([command] + arguments, environment: environment, workingDirectory: directory) {
                run(&context) { $0.processStarted(connection, processID: processID) }
            } else {
                run(&context) { $0.processFailed(connection) }
            }
        case .write(let connection, let processID, let bytes, let requestID):
            if !home.writeToProcess(processID, bytes) { run(&context) { $0.writeFailed(connection, requestID: requestID) } }
        case .terminate(let processID, let grace):
            home.terminateProcess(processID, graceMilliseconds: UInt32(grace))
        case .cancelHTTPCall(let key):
            if key.scope == home.identity { home.cancelHTTPCall(key.id) }
        case .armRestart(let targetIndex, let delay):
            if let timer = home.startTimer(milliseconds: UInt32(delay)) { state.withLock { $0.restartTimers[timer] = targetIndex } }
        default:
            break
        }
    }

    /// Queues an action for the home loop and wakes it.
    private func toHome(_ action: FederationAction) {
        state.withLock { $0.homeWork.append(action) }
        homeScheduler?.post(Self.homeWorkEventID)
    }
}
