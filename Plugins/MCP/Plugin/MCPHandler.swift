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
    let metrics: MCPMetrics

    init(configuration: FilterConfiguration) throws {
        do {
            config = try MCPRouteConfig(json: configuration.json, directory: configuration.directory)
        } catch {
            throw FilterConfiguration.Invalid(error.description)
        }
        let refusals = configuration.counter(
            name: "agw_mcp_server_requests_refused_total",
            help: "Server-to-client MCP requests (elicitation, sampling, roots) refused because the client they belong to is not known")
        metrics = MCPMetrics(configuration: configuration, config: config)
        driver = FederationDriver(config: config, scope: configuration.scope, refusals: refusals, metrics: metrics)
    }

    func configurationEvent(_ event: PluginEvent, scope: Scope) { driver.configurationEvent(event, scope: scope) }

    // MARK: - HTTP

    func requestHeaders(_ stream: FilterStream, endOfStream: Bool) -> FilterStatus {
        switch stream.withAttribute(.method, HTTPVerb.init) ?? .other {
        case .post:
            var accept = AcceptHeader()
            var index = 0
            while stream.withHeader("accept", at: index, { accept.add($0) }) != nil { index += 1 }
            let refusal = stream.withHeader("content-type") { ClientRequestRules.checkPOST(accept: accept, contentType: $0, endOfStream: endOfStream) }
                ?? ClientRequestRules.checkPOST(accept: accept, contentType: nil, endOfStream: endOfStream)
            if let refusal { return reply(stream, refusal) }
            return .continue
        case .get:
            return openListener(stream)
        case .delete:
            return closeSession(stream)
        case .other:
            stream.sendLocalReply(status: 405, headers: [("allow", "GET, POST, DELETE")])
            return .replied
        }
    }

    /// The methods the MCP endpoint answers, from the method's bytes.
    private enum HTTPVerb {
        case post, get, delete, other

        init(_ bytes: UnsafeRawBufferPointer) {
            switch bytes.count {
            case 4 where bytes.isExactly("POST"): self = .post
            case 3 where bytes.isExactly("GET"): self = .get
            case 6 where bytes.isExactly("DELETE"): self = .delete
            default: self = .other
            }
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
        if envelope.kind == .request || envelope.kind == .notification, bytes.contains("traceparent"), stream.attribute(.tracing) != nil,
           let meta = request.params?["_meta"], let traceparent = meta["traceparent"]?.string {
            // SEP-414: a client that sends its trace in `_meta` (the official SDKs do) is continued.
            stream.adoptTrace(traceparent: traceparent, tracestate: meta["tracestate"]?.string)
        }
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
    func checkEra(_ stream: FilterStream, _ request: MCPClientRequest, _ envelope: JSONRPCEnvelope) -> ClientRefusal? {
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

    func touchSession(_ id: String, caller: String?) -> Bool {
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

    func handleRequest(_ stream: FilterStream, _ request: MCPClientRequest) -> FilterStatus {
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
        request.routed = (resolved.target, clientName)
        if method == "tools/call" { request.tool = (resolved.target, resolved.name) }
        return publishThen(stream, request, target: resolved.name, targetKind: route.targetKind, upstream: resolved.target) { params in
            if let state = params?["requestState"]?.string, state.hasPrefix(Federation.requestStatePrefix) {
                // The retry of a request that asked for input: it continues upstream where it waited.
                self.runForStream(stream, request) {
                    $0.resume(requestState: state, responses: params?["inputResponses"], exchange: $1, owner: request.owner,
                              clientID: request.clientID, now: FederationDriver.now())
                }
                return
            }
            // By index: the target's config is read in place, not copied.
            let targets = self.config.targets
            let index = targets.firstIndex { $0.name == resolved.target }
            let forwarded = index.map { targets[$0].forwardHeaders } ?? []
            let isStdio = index.map { if case .stdio = targets[$0].transport { true } else { false } } ?? false
            var rewrite = route.rewrite(to: resolved.name)
            // A stdio call has no HTTP call for the gateway to trace: its own span, carried in `_meta`.
            if isStdio, let leg = stream.startSpan("\(method) \(resolved.target) (stdio)") {
                request.legSpan = leg.id
                rewrite.metaMembers.append(("traceparent", Array(JSONText.quoted(leg.traceparent).utf8)))
            } else if let trace = stream.traceContext() {
                // SEP-414: the trace travels in `_meta` too, for stdio targets and servers that read it there.
                rewrite.metaMembers.append(("traceparent", Array(JSONText.quoted(trace.traceparent).utf8)))
                if let state = trace.tracestate { rewrite.metaMembers.append(("tracestate", Array(JSONText.quoted(state).utf8))) }
            }
            self.runForStream(stream, request) { federation, exchange in
                // A closed stream cancels a 2026-07-28 call (the spec), and a call without a session:
                // nothing could receive its answer, and its client cannot be named to cancel it.
                federation.call(RoutedCall(exchange: exchange, owner: request.owner, style: request.style, clientID: request.clientID,
                                           method: method, target: resolved.target, params: params, rewrite: rewrite,
                                           cancelsWhenAbandoned: request.era == .modern || request.sessionID == nil,
                                           forwardedHeaders: forwarded.compactMap { name in stream.header(name).map { (name, $0) } }),
                                now: FederationDriver.now())
            }
        }
    }

    /// Opens the request's exchange with the federation (once), runs `body` on the federation
    /// from this stream, and hands out at once what came back for it.
    func runForStream(_ stream: FilterStream, _ request: MCPClientRequest,
                              _ body: (inout Federation, ExchangeID) -> [FederationAction]) {
        let scope = stream.scope  // one crossing for the mailbox and the context
        let exchange = openExchange(request, scope: scope)
        var context = FederationDriver.Context(stream: (scope, exchange))
        for delivery in driver.run(&context, { body(&$0, exchange) }) { deliver(delivery, stream, request) }
    }

    func openExchange(_ request: MCPClientRequest, scope: Scope) -> ExchangeID {
        if let exchange = request.exchange { return exchange }
        let mailbox = Mailbox(scheduler: scope.makeScheduler())
        let exchange = driver.open(mailbox)
        request.mailbox = mailbox
        request.exchange = exchange
        return exchange
    }

    /// Publishes the request to the route's filters; runs `proceed` with the (possibly rewritten)
    /// params once they allow it.
    func publishThen(_ stream: FilterStream, _ request: MCPClientRequest, target: String = "", targetKind: String = "",
                             upstream: String = "", proceed: @escaping (JSONValue?) -> Void) -> FilterStatus {
        let verdict = publish(stream, request, kind: .request, target: target, targetKind: targetKind, upstream: upstream)
        switch verdict.decision {
        case .allow:
            proceed(verdict.rewrittenParams.map { JSONValue(Array($0.utf8)) } ?? request.params)
            return .continue
        case .reject:
            request.settle(.rejected)
            // A filter may ask for its own status and headers (a rate limit: 429 and Retry-After).
            return reply(stream, ClientRefusal(status: verdict.httpStatus ?? 200, id: request.clientID, code: Self.errorCode(verdict),
                                               message: verdict.errorMessage,
                                               headers: verdict.responseHeaders.map { HTTPHeaderPair($0.name, $0.value) }))
        case .pending:
            request.afterVerdict = { verdict in
                guard verdict.decision == .allow else {
                    request.settle(.rejected)
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
    static func errorCode(_ verdict: RPCVerdict) -> Int { verdict.errorCode == 0 ? -32603 : Int(verdict.errorCode) }

    func publish(_ stream: FilterStream, _ request: MCPClientRequest, kind: RPCMessage.Kind, target: String = "",
                         targetKind: String = "", upstream: String = "") -> RPCVerdict {
        guard request.hasRPCFilters(stream) else { return .allowed }
        return stream.publishRPC(method: request.method, id: request.clientID, target: target, targetKind: targetKind, upstream: upstream,
                                 sessionID: request.sessionID ?? "", params: request.params?.text ?? "", kind: kind)
    }

    /// The authenticated caller a filter before the handler named on the stream, if any.
    static func caller(of stream: FilterStream) -> String? {
        stream.authenticatedCaller
    }
}
