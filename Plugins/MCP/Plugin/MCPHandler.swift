import JSON
import JSONRPC
import MCPCore
import PluginKit

/// The `mcp` handler: speaks MCP's Streamable HTTP transport to clients of both eras on the
/// route's path and answers them as one server federated from the route's targets.
///
/// Glue: the rules (``ClientRequestRules``, ``RoutedMethod``, ``ClientAnswer``) and the
/// federation (``Federation``, run by a ``FederationDriver``) are MCPCore's. Per request it reads
/// the JSON-RPC message once, checks the era's headers, publishes the message to the route's
/// filters (`on_rpc_message`), hands it to the federation, and writes what comes back: JSON, or
/// SSE once a notification or a server→client request precedes the answer.
final class MCPHandler: Filter, RequestBodyFilter, @unchecked Sendable {
    static let name = "mcp"
    static let kind = FilterKind.handler
    static let serverVersion = "0.1.0"

    let config: MCPRouteConfig
    let driver: FederationDriver

    init(configuration: FilterConfiguration) throws {
        do {
            config = try MCPRouteConfig(json: configuration.json)
        } catch {
            throw FilterConfiguration.Invalid(error.description)
        }
        let refusals = configuration.counter(
            name: "agw_mcp_server_requests_refused_total",
            help: "Server-to-client MCP requests (elicitation, sampling, roots) refused because the client they belong to is not known")
        driver = FederationDriver(config: config, scope: configuration.scope, refusals: refusals)
    }

    func configurationEvent(_ event: PluginEvent, scope: Scope) { driver.configurationEvent(event, scope: scope) }

    // MARK: - HTTP

    func requestHeaders(_ stream: FilterStream, endOfStream: Bool) -> FilterStatus {
        switch stream.attribute(.method) ?? "" {
        case "POST":
            let accept = stream.headerValues("accept").joined(separator: ",")
            if let refusal = ClientRequestRules.checkPOST(accept: accept, contentType: stream.header("content-type") ?? "", endOfStream: endOfStream) {
                return reply(stream, refusal)
            }
            return .continue
        case "GET":
            return openListener(stream)
        case "DELETE":
            return closeSession(stream)
        default:
            stream.sendLocalReply(status: 405, headers: [("allow", "GET, POST, DELETE")])
            return .replied
        }
    }

    func requestBody(_ stream: FilterStream) -> FilterStatus {
        let bytes = stream.body(of: .request) ?? []
        let envelope: JSONRPCEnvelope
        do {
            envelope = try JSONRPCEnvelope.scan(bytes)
        } catch {
            let message = (error.code == -32700 ? "Parse error: " : "Invalid Request: ") + error.reason
            return reply(stream, ClientRefusal(status: 400, id: nil, code: error.code, message: message))
        }
        let request = MCPClientRequest(clientID: envelope.id.map { JSONValue(bytes, range: $0).text } ?? "null",
                                       method: envelope.method ?? "", params: envelope.params.map { JSONValue(bytes, range: $0) })
        request.caller = Self.caller(of: stream)
        stream.state = request
        if let refusal = checkEra(stream, request, envelope) { return reply(stream, refusal) }

        switch envelope.kind {
        case .result, .error:
            // Only the client that was asked may answer (the id is unguessable and bound to it).
            guard let idRange = envelope.id, driver.read({ $0.isAwaitingAnswer(JSONValue(bytes, range: idRange), from: request.owner) }) else {
                return reply(stream, ClientRefusal(status: 400, id: nil, code: -32600,
                                                   message: "Invalid Request: no request with id \(request.clientID) waits for this client's answer"))
            }
            var context = FederationDriver.Context()
            driver.run(&context) { $0.clientAnswer(JSONValue(bytes), envelope, from: request.owner, now: FederationDriver.now()) }
            return accepted(stream)
        case .notification:
            let verdict = publish(stream, request, kind: .notification)
            if request.method == "notifications/cancelled", verdict.decision != .reject, let requestID = request.params?["requestId"] {
                var context = FederationDriver.Context()
                driver.run(&context) { $0.cancel(request.owner, requestID: requestID.text, now: FederationDriver.now()) }
            }
            return accepted(stream)
        case .request:
            return handleRequest(stream, request)
        }
    }

    /// Works out the client's era and checks what it requires (a live session of this caller in
    /// the handshake era; matching headers in 2026-07-28). Returns the refusal.
    private func checkEra(_ stream: FilterStream, _ request: MCPClientRequest, _ envelope: JSONRPCEnvelope) -> ClientRefusal? {
        request.era = ClientRequestRules.era(headerVersion: stream.header("mcp-protocol-version"), params: request.params)
        guard request.era == .handshake else {
            return ClientRequestRules.checkModern(header: { stream.header($0) }, clientID: request.clientID, method: request.method,
                                                  params: request.params, isRequestOrNotification: envelope.kind == .request || envelope.kind == .notification)
        }
        guard config.sessions, request.method != "initialize" else { return nil }
        guard let sessionID = stream.header("mcp-session-id") else {
            return ClientRefusal(status: 400, id: request.clientID, code: -32600, message: "Bad Request: missing Mcp-Session-Id header (send initialize first)")
        }
        guard touchSession(sessionID, caller: request.caller) else {
            return ClientRefusal(status: 404, id: request.clientID, code: -32600, message: "Session not found (initialize again)")
        }
        request.sessionID = sessionID
        return nil
    }

    private func touchSession(_ id: String, caller: String?) -> Bool {
        var context = FederationDriver.Context()
        var alive = false
        driver.run(&context) { federation in
            let (isAlive, actions) = federation.touchSession(id, caller: caller, now: FederationDriver.now())
            alive = isAlive
            return actions
        }
        return alive
    }

    // MARK: - requests

    private func handleRequest(_ stream: FilterStream, _ request: MCPClientRequest) -> FilterStatus {
        let method = request.method
        switch method {
        case "initialize" where request.era == .handshake, "server/discover":
            return publishThen(stream, request) { _ in self.runForStream(stream, request) { $0.describe($1) } }
        case "ping":
            return reply(stream, result: Array("{}".utf8), request)
        case "logging/setLevel":
            return publishThen(stream, request) { params in
                if let params {
                    var context = FederationDriver.Context()
                    self.driver.run(&context) { $0.setLogLevel(params) }
                }
                self.finish(stream, request, response: JSONText.response(id: request.clientID, result: Array("{}".utf8)))
            }
        default:
            break
        }
        if let kind = ListKind(method: method) {
            if let cursor = request.params?["cursor"]?.string {
                guard let offset = ListCursor.decode(cursor) else {
                    return reply(stream, ClientRefusal(status: 200, id: request.clientID, code: -32602, message: "Invalid cursor"))
                }
                request.listOffset = offset
            }
            request.listKind = kind
            return publishThen(stream, request) { _ in
                self.runForStream(stream, request) { $0.list(kind, exchange: $1, owner: request.owner, now: FederationDriver.now()) }
            }
        }
        guard let route = RoutedMethod(method: method, params: request.params) else {
            return reply(stream, ClientRefusal(status: request.era == .modern ? 404 : 200, id: request.clientID, code: -32601,
                                               message: "Method not found: \(method)"))
        }
        guard let clientName = route.clientName, let resolved = driver.read({ $0.resolve(clientName, uri: route.isURI) }) else {
            return reply(stream, ClientRefusal(status: 200, id: request.clientID, code: -32602, message: route.unknownMessage))
        }
        return publishThen(stream, request, target: resolved.name, targetKind: route.targetKind, upstream: resolved.target) { params in
            if let state = params?["requestState"]?.string, state.hasPrefix(Federation.requestStatePrefix) {
                // The retry of a request that asked for input: it continues upstream where it waited.
                self.runForStream(stream, request) {
                    $0.resume(requestState: state, responses: params?["inputResponses"], exchange: $1, owner: request.owner,
                              clientID: request.clientID, now: FederationDriver.now())
                }
                return
            }
            let forwarded = self.config.targets.first { $0.name == resolved.target }?.forwardHeaders ?? []
            self.runForStream(stream, request) { federation, exchange in
                // A closed stream cancels a 2026-07-28 call (the spec), and a call without a session:
                // nothing could receive its answer, and its client cannot be named to cancel it.
                federation.call(RoutedCall(exchange: exchange, owner: request.owner, style: request.style, clientID: request.clientID,
                                           method: method, target: resolved.target, params: params, rewrite: route.rewrite(to: resolved.name),
                                           cancelsWhenAbandoned: request.era == .modern || request.sessionID == nil,
                                           forwardedHeaders: forwarded.compactMap { name in stream.header(name).map { (name, $0) } }),
                                now: FederationDriver.now())
            }
        }
    }

    /// Opens the request's exchange with the federation (once), runs `body` on the federation
    /// from this stream, and hands out at once what came back for it.
    private func runForStream(_ stream: FilterStream, _ request: MCPClientRequest,
                              _ body: (inout Federation, ExchangeID) -> [FederationAction]) {
        let exchange = openExchange(stream, request)
        var context = FederationDriver.Context(stream: (stream.scope, exchange))
        for delivery in driver.run(&context, { body(&$0, exchange) }) { deliver(delivery, stream, request) }
    }

    private func openExchange(_ stream: FilterStream, _ request: MCPClientRequest) -> ExchangeID {
        if let exchange = request.exchange { return exchange }
        let mailbox = Mailbox(scheduler: stream.makeScheduler())
        let exchange = driver.open(mailbox)
        request.mailbox = mailbox
        request.exchange = exchange
        return exchange
    }

    /// Publishes the request to the route's filters; runs `proceed` with the (possibly rewritten)
    /// params once they allow it.
    private func publishThen(_ stream: FilterStream, _ request: MCPClientRequest, target: String = "", targetKind: String = "",
                             upstream: String = "", proceed: @escaping (JSONValue?) -> Void) -> FilterStatus {
        let verdict = publish(stream, request, kind: .request, target: target, targetKind: targetKind, upstream: upstream)
        switch verdict.decision {
        case .allow:
            proceed(verdict.rewrittenParams.map { JSONValue(Array($0.utf8)) } ?? request.params)
            return .continue
        case .reject:
            // A filter may ask for its own status and headers (a rate limit: 429 and Retry-After).
            return reply(stream, ClientRefusal(status: verdict.httpStatus ?? 200, id: request.clientID, code: Self.errorCode(verdict),
                                               message: verdict.errorMessage,
                                               headers: verdict.responseHeaders.map { HTTPHeaderPair($0.name, $0.value) }))
        case .pending:
            request.afterVerdict = { verdict in
                guard verdict.decision == .allow else {
                    self.finish(stream, request, response: JSONText.errorResponse(id: request.clientID, code: Self.errorCode(verdict),
                                                                                  message: verdict.errorMessage))
                    return
                }
                proceed(verdict.rewrittenParams.map { JSONValue(Array($0.utf8)) } ?? request.params)
            }
            return .continue
        }
    }

    /// The JSON-RPC code of a rejection: the filter's, or -32603 when it gave none (0).
    private static func errorCode(_ verdict: RPCVerdict) -> Int { verdict.errorCode == 0 ? -32603 : Int(verdict.errorCode) }

    private func publish(_ stream: FilterStream, _ request: MCPClientRequest, kind: RPCMessage.Kind, target: String = "",
                         targetKind: String = "", upstream: String = "") -> RPCVerdict {
        guard request.hasRPCFilters(stream) else { return .allowed }
        return stream.publishRPC(method: request.method, id: request.clientID, target: target, targetKind: targetKind, upstream: upstream,
                                 sessionID: request.sessionID ?? "", params: request.params?.text ?? "", kind: kind)
    }

    /// The authenticated caller a filter before the handler named on the stream, if any.
    static func caller(of stream: FilterStream) -> String? {
        Owner.caller(method: stream.value(forKey: IdentityKeys.method), subject: stream.value(forKey: IdentityKeys.subject))
    }

    // MARK: - answers

    func event(_ event: PluginEvent, stream: FilterStream) {
        guard let request = stream.state as? MCPClientRequest else { return }
        switch event.kind {
        case .scheduled where event.id == Mailbox.eventID:
            for delivery in request.mailbox?.drain() ?? [] { deliver(delivery, stream, request) }
        case .httpResponse, .httpBody, .httpFailed:
            // A call sent from this stream: its answer is handed out here, without a hop.
            var context = FederationDriver.Context(stream: request.exchange.map { (stream.scope, $0) })
            driver.httpEvent(event, scope: stream.scope, &context)
            for delivery in context.inline { deliver(delivery, stream, request) }
        case .rpcVerdict:
            guard let verdict = stream.lastRPCVerdict(), let next = request.afterVerdict else { return }
            request.afterVerdict = nil
            next(verdict)
        default:
            break
        }
    }

    func streamComplete(_ stream: FilterStream) {
        guard let request = stream.state as? MCPClientRequest, let exchange = request.exchange else { return }
        driver.close(exchange)
        var context = FederationDriver.Context()
        if request.isListener, let sessionID = request.sessionID {
            request.finished = true
            driver.run(&context) { federation in
                federation.listenerClosed(exchange, session: sessionID)
                return []
            }
        } else if !request.finished {
            driver.run(&context) { $0.exchangeAbandoned(exchange, now: FederationDriver.now()) }
        }
    }

    private func deliver(_ delivery: Delivery, _ stream: FilterStream, _ request: MCPClientRequest) {
        guard !request.finished else { return }
        switch delivery {
        case .message(let message):
            if !request.streaming {
                request.streaming = true
                stream.respond(status: 200, headers: ClientAnswer.sseHeaders.map { ($0.name, $0.value) })
            }
            stream.respondBody(ClientAnswer.sseEvent(message))
        case .result(let result):
            finish(stream, request, response: JSONText.response(id: request.clientID, result: ClientAnswer.result(result, era: request.era, method: request.method)))
        case .error(let error):
            finish(stream, request, response: JSONText.errorResponse(id: request.clientID, error: error))
        case .list(let list):
            finish(stream, request, response: JSONText.response(id: request.clientID, result: listResult(list, stream, request)))
        case .description(let description):
            describe(description, stream, request)
        case .heartbeat:
            stream.respondBody(ClientAnswer.heartbeat)
        case .endStream:
            request.finished = true
            stream.respondBody(ClientAnswer.sessionEnded, endOfStream: true)
        }
    }

    /// Filters hide items (`on_rpc_message` with kind LIST_ITEM; an item must be decided on the spot,
    /// a STOP hides it), then the page is cut.
    private func listResult(_ list: MergedList, _ stream: FilterStream, _ request: MCPClientRequest) -> [UInt8] {
        guard let kind = request.listKind else { return Array("{}".utf8) }
        let visible = !request.hasRPCFilters(stream) ? list.items : list.items.filter { item in
            stream.publishRPC(method: kind.method, id: request.clientID, target: item.name, targetKind: kind.targetKind,
                              upstream: item.target, sessionID: request.sessionID ?? "",
                              params: String(decoding: item.json, as: UTF8.self), kind: .listItem).decision == .allow
        }
        return ClientAnswer.listPage(visible, kind: kind, offset: request.listOffset, pageSize: config.pageSize, era: request.era)
    }

    private func describe(_ description: ServerDescription, _ stream: FilterStream, _ request: MCPClientRequest) {
        let version = ClientAnswer.handshakeVersion(requested: request.params?["protocolVersion"]?.string)
        var headers: [(String, String)] = []
        if request.era == .handshake, config.sessions {
            var context = FederationDriver.Context()
            var sessionID = ""
            driver.run(&context) { federation in
                let (id, actions) = federation.createSession(protocolVersion: version, caller: request.caller, now: FederationDriver.now())
                sessionID = id
                return actions
            }
            headers.append(("mcp-session-id", sessionID))
        }
        let result = ClientAnswer.description(description, era: request.era, version: version, serverName: config.serverName, serverVersion: Self.serverVersion)
        finish(stream, request, response: JSONText.response(id: request.clientID, result: result), headers: headers)
    }

    /// Sends the final answer: as the last SSE event when a stream was started, else as JSON.
    private func finish(_ stream: FilterStream, _ request: MCPClientRequest, response: [UInt8], headers: [(String, String)] = []) {
        guard !request.finished else { return }
        request.finished = true
        if request.streaming {
            stream.respondBody(ClientAnswer.sseEvent(response), endOfStream: true)
        } else {
            stream.respond(status: 200, headers: [("content-type", "application/json")] + headers)
            stream.respondBody(response, endOfStream: true)
        }
    }

    private func reply(_ stream: FilterStream, result: [UInt8], _ request: MCPClientRequest) -> FilterStatus {
        let body = JSONText.response(id: request.clientID, result: ClientAnswer.localResult(result, era: request.era))
        stream.sendLocalReply(status: 200, headers: [("content-type", "application/json")], body: String(decoding: body, as: UTF8.self))
        return .replied
    }

    /// Answers now with the refusal's status and JSON-RPC error.
    private func reply(_ stream: FilterStream, _ refusal: ClientRefusal) -> FilterStatus {
        let body = JSONText.errorResponse(id: refusal.id, code: refusal.code, message: refusal.message, data: refusal.data)
        stream.sendLocalReply(status: refusal.status, headers: [("content-type", "application/json")] + refusal.headers.map { ($0.name, $0.value) },
                              body: String(decoding: body, as: UTF8.self))
        return .replied
    }

    private func accepted(_ stream: FilterStream) -> FilterStatus {
        stream.sendLocalReply(status: 202)
        return .replied
    }

    // MARK: - sessions

    /// GET and DELETE name a gateway session; without sessions (or for a 2026-07-28 client) they
    /// get 405. Returns the session id, or nil when a reply was sent.
    private func namedSession(_ stream: FilterStream, end: Bool) -> String? {
        guard config.sessions, !(stream.header("mcp-protocol-version").map(ClientRequestRules.modernVersions.contains) ?? false) else {
            stream.sendLocalReply(status: 405, headers: [("allow", "POST")])
            return nil
        }
        guard let sessionID = stream.header("mcp-session-id") else {
            _ = reply(stream, ClientRefusal(status: 400, id: nil, code: -32600, message: "Bad Request: missing Mcp-Session-Id header"))
            return nil
        }
        let caller = Self.caller(of: stream)
        var context = FederationDriver.Context()
        var found = false
        driver.run(&context) { federation in
            let now = FederationDriver.now()
            let (ok, actions) = end ? federation.deleteSession(sessionID, caller: caller, now: now) : federation.touchSession(sessionID, caller: caller, now: now)
            found = ok
            return actions
        }
        guard found else {
            _ = reply(stream, ClientRefusal(status: 404, id: nil, code: -32600, message: "Session not found (initialize again)"))
            return nil
        }
        return sessionID
    }

    /// GET: the session's stream for notifications that belong to no request (list changes).
    private func openListener(_ stream: FilterStream) -> FilterStatus {
        guard let sessionID = namedSession(stream, end: false) else { return .replied }
        let request = MCPClientRequest(clientID: "null", method: "GET", params: nil)
        request.sessionID = sessionID
        request.caller = Self.caller(of: stream)
        request.isListener = true
        request.streaming = true
        stream.state = request
        let exchange = openExchange(stream, request)
        var context = FederationDriver.Context(stream: (stream.scope, exchange))
        var opened = false
        let early = driver.run(&context) { federation in
            let (ok, actions) = federation.openListener(exchange, session: sessionID)
            opened = ok
            return actions
        }
        guard opened else {
            request.isListener = false
            return reply(stream, ClientRefusal(status: 404, id: nil, code: -32600, message: "Session not found (initialize again)"))
        }
        // The connection closes when the stream ends (the session ended, or the client left), so a
        // client that vanished holds no descriptor once its session is gone.
        stream.respond(status: 200, headers: ClientAnswer.sseHeaders.map { ($0.name, $0.value) } + [("mcp-session-id", sessionID), ("connection", "close")])
        stream.respondBody(": listening\n\n")
        for delivery in early { deliver(delivery, stream, request) }
        return .continue
    }

    /// DELETE: ends the session.
    private func closeSession(_ stream: FilterStream) -> FilterStatus {
        guard namedSession(stream, end: true) != nil else { return .replied }
        stream.sendLocalReply(status: 200)
        return .replied
    }
}
