import JSON
import JSONRPC
import MCPCore
import PluginKit

/// What the handler writes back: the federation's deliveries as JSON or SSE, lists, the
/// description, replies and refusals.
extension MCPHandler {
    func event(_ event: PluginEvent, stream: FilterStream) {
        guard let request = stream.state as? MCPClientRequest else { return }
        switch event.kind {
        case .scheduled where event.id == Mailbox.eventID:
            for delivery in request.mailbox?.drain() ?? [] { deliver(delivery, stream, request) }
        case .httpResponse, .httpBody, .httpFailed:
            // A call sent from this stream: its answer is handed out here, without a hop.
            let scope = stream.scope  // one crossing for both uses
            var context = FederationDriver.Context(stream: request.exchange.map { (scope, $0) })
            driver.httpEvent(event, scope: scope, &context)
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
        guard let request = stream.state as? MCPClientRequest else { return }
        record(request, stream)
        guard let exchange = request.exchange else { return }
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

    /// Counts a finished client message (and times a tool call) in the route's metrics, and
    /// annotates the request for its access-log line and span.
    func record(_ request: MCPClientRequest, _ stream: FilterStream) {
        guard !request.isListener else { return }
        let outcome = request.outcome ?? .abandoned
        let method = request.method.isEmpty ? "response" : request.method
        metrics.count(method: method, outcome: outcome)
        if let tool = request.tool {
            metrics.toolCall(target: tool.target, tool: tool.name, outcome: outcome, seconds: request.elapsedSeconds)
        }
        guard stream.wantsAnnotation() else { return }
        var pairs: [(String, String)] = [("mcp.method.name", method)]
        pairs.reserveCapacity(8)
        if request.clientID != "null" { pairs.append(("jsonrpc.request.id", JSONRPCEnvelope.idText(request.clientID))) }
        if let session = request.sessionID ?? request.createdSession { pairs.append(("mcp.session.id", session)) }
        if let routed = request.routed {
            pairs.append(("agw.mcp.target", routed.target))
            switch request.method {
            case "tools/call": pairs.append(("gen_ai.tool.name", routed.name))
            case "prompts/get": pairs.append(("gen_ai.prompt.name", routed.name))
            default: pairs.append(("mcp.resource.uri", routed.name))
            }
        }
        if let code = request.errorCode { pairs.append(("rpc.response.status_code", String(code))) }
        pairs.append(("agw.mcp.outcome", outcome.label))
        if request.method == "tools/call", stream.wantsAnnotation("mcp.request.arguments"), let arguments = request.params?["arguments"] {
            pairs.append(("mcp.request.arguments", arguments.text))
        }
        stream.annotate(pairs) // one crossing for all of them
    }

    func deliver(_ delivery: Delivery, _ stream: FilterStream, _ request: MCPClientRequest) {
        guard !request.finished else { return }
        switch delivery {
        case .message(let message):
            if !request.streaming {
                request.streaming = true
                stream.respond(status: 200, headers: ClientAnswer.sseHeaders.map { ($0.name, $0.value) })
            }
            stream.respondBody(ClientAnswer.sseEvent(message))
        case .result(let result):
            request.settle(request.tool != nil && ClientAnswer.isToolError(result) ? .toolError : .ok)
            finish(stream, request, result: ClientAnswer.result(result, era: request.era, method: request.method))
        case .error(let error):
            request.errorCode = JSONValue(error)["code"]?.int
            request.settle(MCPMetrics.Outcome(code: request.errorCode))
            finish(stream, request, response: JSONText.errorResponse(id: request.clientID, error: error))
        case .list(let list):
            if let kind = request.listKind {
                metrics.listMerged(kind, seconds: request.elapsedSeconds)
                if kind == .tools { metrics.learnTools(list.items) }
            }
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
    func listResult(_ list: MergedList, _ stream: FilterStream, _ request: MCPClientRequest) -> [UInt8] {
        guard let kind = request.listKind else { return Array("{}".utf8) }
        let visible = !request.hasRPCFilters(stream) ? list.items : list.items.filter { item in
            stream.publishRPC(method: kind.method, id: request.clientID, target: item.name, targetKind: kind.targetKind,
                              upstream: item.target, sessionID: request.sessionID ?? "",
                              params: String(decoding: item.json, as: UTF8.self), kind: .listItem).decision == .allow
        }
        return ClientAnswer.listPage(visible, kind: kind, offset: request.listOffset, pageSize: config.pageSize, era: request.era)
    }

    func describe(_ description: ServerDescription, _ stream: FilterStream, _ request: MCPClientRequest) {
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
            request.createdSession = sessionID
        }
        let result = ClientAnswer.description(description, era: request.era, version: version, serverName: config.serverName, serverVersion: Self.serverVersion)
        finish(stream, request, response: JSONText.response(id: request.clientID, result: result), headers: headers)
    }

    /// Sends the final answer: as the last SSE event when a stream was started, else as JSON.
    func finish(_ stream: FilterStream, _ request: MCPClientRequest, response: [UInt8], headers: [(String, String)] = []) {
        guard ended(stream, request) else { return }
        if request.streaming {
            stream.respondBody(ClientAnswer.sseEvent(response), endOfStream: true)
        } else {
            stream.respond(status: 200, headers: [("content-type", "application/json")] + headers)
            stream.respondBody(response, endOfStream: true)
        }
    }

    /// A result answered as JSON. A large one is sent in three parts, the envelope's head, the
    /// result as the target sent it, and the closing brace: the host copies its bytes once, and
    /// the plugin not at all.
    func finish(_ stream: FilterStream, _ request: MCPClientRequest, result: ArraySlice<UInt8>) {
        guard !request.streaming, result.count >= Self.resultPartsThreshold else {
            return finish(stream, request, response: JSONText.response(id: request.clientID, result: result))
        }
        guard ended(stream, request) else { return }
        let head = JSONText.responseHead(id: request.clientID)
        stream.respond(status: 200, headers: [("content-type", "application/json"), ("content-length", String(head.count + result.count + 1))])
        stream.respondBody(head)
        stream.respondBody(result)
        stream.respondBody(JSONText.responseTail, endOfStream: true)
    }

    /// Results from this size go out in parts (below it, one buffer costs less than two more crossings).
    static let resultPartsThreshold = 8192

    /// Marks the request answered and ends its span; false when it already was.
    private func ended(_ stream: FilterStream, _ request: MCPClientRequest) -> Bool {
        guard !request.finished else { return false }
        request.finished = true
        request.settle(.ok)
        if let leg = request.legSpan {
            request.legSpan = nil
            stream.endSpan(leg, error: request.outcome == .ok ? nil : request.outcome?.label)
        }
        return true
    }

    func reply(_ stream: FilterStream, result: [UInt8], _ request: MCPClientRequest) -> FilterStatus {
        request.settle(.ok)
        let body = JSONText.response(id: request.clientID, result: ClientAnswer.localResult(result, era: request.era))
        stream.sendLocalReply(status: 200, headers: [("content-type", "application/json")], body: String(decoding: body, as: UTF8.self))
        return .replied
    }

    /// Answers now with the refusal's status and JSON-RPC error.
    func reply(_ stream: FilterStream, _ refusal: ClientRefusal) -> FilterStatus {
        if let request = stream.state as? MCPClientRequest {
            request.errorCode = refusal.code
            request.settle(MCPMetrics.Outcome(code: refusal.code))
        }
        let body = JSONText.errorResponse(id: refusal.id, code: refusal.code, message: refusal.message, data: refusal.data)
        stream.sendLocalReply(status: refusal.status, headers: [("content-type", "application/json")] + refusal.headers.map { ($0.name, $0.value) },
                              body: String(decoding: body, as: UTF8.self))
        return .replied
    }

    func accepted(_ stream: FilterStream) -> FilterStatus {
        (stream.state as? MCPClientRequest)?.settle(.ok)
        stream.sendLocalReply(status: 202)
        return .replied
    }
}
