import A2ACore
import JSON
import JSONRPC
import PluginKit
import SSE

/// Requests to an agent: read in the binding of the interface they came to, published to the
/// route's filters, checked against the caller's tasks and the webhook allow-list, relayed to
/// the agent, and the answer relayed back — an event stream event by event, JSON whole (so the
/// tasks it names are bound to the caller first, and a task list is filtered).
extension A2AHandler {
    /// The body is here: find the interface and read the request.
    func route(_ stream: FilterStream, _ exchange: A2AExchange) -> FilterStatus {
        guard case .agent(let agent, let rest) = exchange.target else { return .stop }
        let method = stream.attribute(.method) ?? "POST"
        guard let card = directory.card(agent.name) else {
            if case .awaitingCard = exchange.phase, exchange.awaitedCards == 0, let scheduler = stream.makeScheduler(),
               directory.awaitCard(agent.name, scheduler: scheduler) {
                exchange.awaitedCards = 1
                return .stop
            }
            // No card, so no interface: answer in the binding the request looks like.
            if method != "POST" || rest.contains(":") || rest.contains("/tasks") {
                exchange.interface = AgentInterfaces.Interface(binding: .rest, version: exchange.version, url: "", slug: "rest")
            } else {
                exchange.request = try? A2ARequest.jsonRPC(exchange.body, version: exchange.version) // for the error's id
            }
            return fail(stream, exchange, .unavailable(agent: agent.name, reason: directory.lastError(agent.name)))
        }
        guard let (interface, suffix) = card.interfaces.route(rest, version: exchange.version) else {
            return Self.plainError(stream, status: 404, "A2A agent '\(agent.name)' has no interface at \(rest.prefix { $0 != "?" })")
        }
        exchange.interface = interface
        exchange.suffix = suffix
        do {
            switch interface.binding {
            case .jsonRPC:
                guard method == "POST" else { return Self.methodNotAllowed(stream, allow: "POST") }
                exchange.request = try A2ARequest.jsonRPC(exchange.body, version: exchange.version)
            case .rest:
                exchange.request = try A2ARequest.rest(httpMethod: method, path: suffix, body: exchange.body, version: exchange.version)
            }
        } catch {
            return fail(stream, exchange, error)
        }
        return publish(stream, exchange)
    }

    /// Runs the route's filters on the request (RBAC, rate limits, …).
    private func publish(_ stream: FilterStream, _ exchange: A2AExchange) -> FilterStatus {
        guard let request = exchange.request, let agent = exchange.agent else { return .stop }
        guard stream.hasRPCFilters else { return admitted(stream, exchange) }
        let (target, kind) = request.skill.map { ($0, "skill") } ?? request.taskID.map { ($0, "task") } ?? ("", "")
        let verdict = stream.publishRPC(method: request.method.rawValue, id: request.id ?? "", target: target, targetKind: kind,
                                        upstream: agent.name, params: request.paramsText, protocol: .a2a)
        return decided(verdict, stream, exchange)
    }

    /// The filters decided.
    func decided(_ verdict: RPCVerdict, _ stream: FilterStream, _ exchange: A2AExchange) -> FilterStatus {
        switch verdict.decision {
        case .pending:
            exchange.phase = .awaitingVerdict
            return .stop
        case .reject:
            let code = verdict.errorCode == 0 ? -32603 : Int(verdict.errorCode)
            let error = A2AError(code: code, message: verdict.errorMessage.isEmpty ? "refused by the gateway's policy" : verdict.errorMessage,
                                 httpStatus: verdict.httpStatus ?? 403, status: verdict.httpStatus == 429 ? "RESOURCE_EXHAUSTED" : "PERMISSION_DENIED")
            exchange.outcome = .rejected
            return fail(stream, exchange, error, headers: verdict.responseHeaders, status: verdict.httpStatus)
        case .allow:
            if let params = verdict.rewrittenParams, let request = exchange.request {
                // A filter rewrote the params: send those, and check what they name now.
                if request.binding == .jsonRPC {
                    exchange.body = JSONText.request(id: request.id ?? "null", method: request.method.rawValue, params: Array(params.utf8))
                } else {
                    exchange.body = Array(params.utf8)
                }
                exchange.request = nil
                exchange.phase = .awaitingCard
                exchange.awaitedCards = -1
                guard route(stream, exchange) != .replied, exchange.request != nil else { return .replied }
            }
            return admitted(stream, exchange)
        }
    }

    /// The filters allowed it: the gateway's own checks, then the agent.
    private func admitted(_ stream: FilterStream, _ exchange: A2AExchange) -> FilterStatus {
        guard let request = exchange.request, let agent = exchange.agent else { return .stop }
        if config.taskIsolation, let refusal = isolationRefusal(request, agent: agent, caller: exchange.caller) {
            refusals?.increment()
            stream.log(.info, "a2a: \(request.method.rawValue) to '\(agent.name)' by \(exchange.caller ?? "an anonymous caller") refused: \(refusal.message)")
            return fail(stream, exchange, refusal)
        }
        if let url = request.pushURL, !agent.allowsPushURL(url) {
            refusals?.increment()
            stream.log(.warning, "a2a: push notification URL '\(url)' for '\(agent.name)' refused (not under push_url_prefixes)")
            return fail(stream, exchange, .pushURLRefused(url, agent: agent.name))
        }
        return forward(stream, exchange, agent: agent)
    }

    /// Another caller's task or context (or one the gateway never saw) is not found.
    private func isolationRefusal(_ request: A2ARequest, agent: A2AAgent, caller: String?) -> A2AError? {
        let now = Self.now
        return tasks.withLock { registry -> A2AError? in
            for task in [request.taskID].compactMap({ $0 }) + request.referenceTaskIDs
            where registry.access(task: task, agent: agent.name, caller: caller, now: now) != .allowed {
                return .taskNotFound(task)
            }
            if let context = request.contextID, request.method == .sendMessage || request.method == .sendStreamingMessage,
               registry.claim(context: context, agent: agent.name, caller: caller, now: now) == .foreign {
                return .invalidParams("unknown contextId '\(context)'")
            }
            return nil
        }
    }

    private func forward(_ stream: FilterStream, _ exchange: A2AExchange, agent: A2AAgent) -> FilterStatus {
        guard let interface = exchange.interface, let request = exchange.request else { return .stop }
        var url = interface.url
        var method = "POST"
        switch request.binding {
        case .jsonRPC:
            let query = exchange.suffix.drop { $0 != "?" }
            url += query
        case .rest(let httpMethod, let path):
            method = httpMethod
            url = (url.hasSuffix("/") ? String(url.dropLast()) : url) + path
        }
        var headers: [(String, String)] = []
        if !exchange.body.isEmpty {
            headers.append(("content-type", stream.header("content-type") ?? (interface.binding == .rest ? "application/a2a+json" : "application/json")))
        }
        headers.append(("accept", stream.header("accept") ?? "application/json, text/event-stream"))
        for name in ["a2a-version", "a2a-extensions"] {
            for value in stream.headerValues(name) { headers.append((name, value)) }
        }
        for name in agent.forwardHeaders where !agent.headers.contains(where: { $0.0 == name }) {
            for value in stream.headerValues(name) { headers.append((name, value)) }
        }
        headers += agent.headers
        let timeout = agent.timeoutMilliseconds ?? config.requestTimeoutMilliseconds
        guard let call = stream.scope.httpCall(method: method, url: url, headers: headers, body: exchange.body,
                                               timeoutMilliseconds: UInt32(timeout), streamBody: true) else {
            return fail(stream, exchange, .unavailable(agent: agent.name, reason: "the gateway cannot call \(url)"))
        }
        exchange.phase = .forwarded(call: call)
        return .stop
    }

    // MARK: - the agent's answer

    func agentAnswered(_ event: PluginEvent, _ stream: FilterStream, _ exchange: A2AExchange) {
        exchange.answerStatus = Int(event.code)
        exchange.answerContentType = event.header("content-type") ?? "application/json"
        exchange.streaming = exchange.answerContentType.lowercased().hasPrefix("text/event-stream")
        if exchange.streaming {
            _ = stream.respond(status: exchange.answerStatus, headers: [("content-type", exchange.answerContentType), ("cache-control", "no-cache"),
                                                                        ("x-accel-buffering", "no")])
        }
        if !event.data.isEmpty || event.endOfStream { agentSent(event.data, end: event.endOfStream, stream, exchange) }
    }

    func agentSent(_ chunk: [UInt8], end: Bool, _ stream: FilterStream, _ exchange: A2AExchange) {
        guard exchange.streaming else {
            exchange.answer += chunk
            if exchange.answer.count > Self.maxAnswerBytes, let agent = exchange.agent {
                stream.scope.cancelHTTPCall(callID(exchange))
                fail(stream, exchange, .notA2A(agent: agent.name, detail: "an answer over \(Self.maxAnswerBytes) bytes"))
                return
            }
            if end { finishAnswer(stream, exchange) }
            return
        }
        // Events are read before they are passed on, so the tasks they name are the caller's
        // before the caller can name them.
        if let agent = exchange.agent, let events = try? exchange.events.feed(chunk) {
            for event in events { record(AgentAnswer.named(in: JSONValue(event.data)), agent: agent, caller: exchange.caller) }
            metrics.streamed(agent: agent.name, events: events.count)
        }
        _ = stream.respondBody(chunk, endOfStream: end)
        if end { exchange.phase = .done }
    }

    static let maxAnswerBytes = 16 << 20

    private func callID(_ exchange: A2AExchange) -> UInt64 {
        if case .forwarded(let call) = exchange.phase { return call }
        return 0
    }

    /// A whole JSON answer: bind what it names, filter a task list, rewrite an extended card.
    private func finishAnswer(_ stream: FilterStream, _ exchange: A2AExchange) {
        guard let agent = exchange.agent, let request = exchange.request else { return }
        var body = exchange.answer
        if !body.isEmpty {
            guard let json = try? JSONValue.validated(body) else {
                fail(stream, exchange, .notA2A(agent: agent.name, detail: "HTTP \(exchange.answerStatus) with a body that is not JSON (\(exchange.answerContentType))"))
                return
            }
            if (200..<300).contains(exchange.answerStatus) {
                record(AgentAnswer.named(in: json), agent: agent, caller: exchange.caller)
                switch request.method {
                case .listTasks where config.taskIsolation:
                    let now = Self.now, caller = exchange.caller
                    let filtered = tasks.withLock { registry in
                        AgentAnswer.filteringTasks(json) { registry.access(task: $0, agent: agent.name, caller: caller, now: now) == .allowed }
                    }
                    if let filtered { body = filtered }
                case .getExtendedCard:
                    if let card = directory.card(agent.name), let rewritten = rewriteExtendedCard(json, agent: agent, card: card, stream, exchange) {
                        body = rewritten
                    }
                default:
                    break
                }
            }
        } else if !(200..<300).contains(exchange.answerStatus) {
            fail(stream, exchange, .notA2A(agent: agent.name, detail: "HTTP \(exchange.answerStatus) without a body"))
            return
        }
        exchange.phase = .done
        _ = stream.respond(status: exchange.answerStatus, headers: [("content-type", exchange.answerContentType)], endOfStream: body.isEmpty)
        if !body.isEmpty { _ = stream.respondBody(body, endOfStream: true) }
    }

    /// The extended card, as JSON-RPC result or REST body, rewritten like the public one.
    private func rewriteExtendedCard(_ json: JSONValue, agent: A2AAgent, card: AgentDirectory.Card, _ stream: FilterStream,
                                     _ exchange: A2AExchange) -> [UInt8]? {
        if let result = json["result"], let members = json.members {
            guard let rewritten = rewrite(result, of: agent, card: card, stream, exchange) else { return nil }
            return JSONText.object(members.map { ($0.name, $0.name == "result" ? rewritten : Array($0.value.raw)) })
        }
        return json["name"] == nil ? nil : rewrite(json, of: agent, card: card, stream, exchange)
    }

    private func record(_ named: [AgentAnswer.Named], agent: A2AAgent, caller: String?) {
        guard config.taskIsolation, !named.isEmpty else { return }
        let now = Self.now
        tasks.withLock { registry in
            for name in named {
                if let task = name.task {
                    registry.record(task: task, context: name.context, agent: agent.name, owner: caller, now: now)
                } else if let context = name.context {
                    registry.record(context: context, agent: agent.name, owner: caller, now: now)
                }
            }
        }
    }

    func agentFailed(_ event: PluginEvent, _ stream: FilterStream, _ exchange: A2AExchange) {
        guard let agent = exchange.agent else { return }
        directory.refresh(agent.name)
        let error: A2AError = event.httpFailure == .timeout
            ? .timeout(agent: agent.name, milliseconds: agent.timeoutMilliseconds ?? config.requestTimeoutMilliseconds)
            : .unavailable(agent: agent.name, reason: event.text)
        stream.log(.warning, "a2a: \(exchange.request?.method.rawValue ?? "request") to '\(agent.name)': \(error.message)")
        if exchange.streaming {
            exchange.phase = .done
            _ = stream.respondBody([], endOfStream: true) // the stream ends where the agent's did
        } else {
            fail(stream, exchange, error)
        }
    }
}
