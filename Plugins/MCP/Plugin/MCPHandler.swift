import Foundation
import JSON
import JSONRPC
import MCPCore
import PluginKit

/// The `mcp` handler: speaks MCP's Streamable HTTP transport to clients of both eras on the
/// route's path and answers them as one server federated from the route's targets.
///
/// Per request it reads the JSON-RPC message once (``JSONRPCEnvelope``), checks the era's
/// headers, publishes the message to the route's filters (`on_rpc_message`) and hands it to the
/// ``Federation`` on the configuration's home loop. Answers come back through a ``Mailbox`` and
/// leave as JSON, or as SSE once a notification or a server→client request precedes the answer.
final class MCPHandler: Filter, RequestBodyFilter, @unchecked Sendable {
    static let name = "mcp"
    static let kind = FilterKind.handler

    static let modernVersions = ["2026-07-28"]
    static let handshakeVersions = ["2024-11-05", "2025-03-26", "2025-06-18", "2025-11-25"]
    static let serverVersion = "0.1.0"

    let config: MCPRouteConfig
    let federation: Federation

    init(configuration: FilterConfiguration) throws {
        do {
            config = try MCPRouteConfig(json: configuration.json)
        } catch {
            throw FilterConfiguration.Invalid(error.description)
        }
        let refused = configuration.defineCounter(
            name: "agw_mcp_server_requests_refused_total",
            help: "Server-to-client MCP requests (elicitation, sampling, roots) refused because the client they belong to is not known")
        federation = Federation(config: config, scope: configuration.scope, refusedMetric: refused)
    }

    func configurationEvent(_ event: PluginEvent, scope: Scope) { federation.handle(event, scope: scope) }

    // MARK: - HTTP

    func requestHeaders(_ stream: FilterStream, endOfStream: Bool) -> FilterStatus {
        switch stream.attribute(.method) ?? "" {
        case "POST":
            guard Self.acceptsJSONAndSSE(stream.header("accept") ?? "")
                    || Self.acceptsJSONAndSSE(stream.headers().filter { $0.name.lowercased() == "accept" }.map(\.value).joined(separator: ",")) else {
                return reply(stream, status: 406, id: nil, code: -32600,
                             message: "Not Acceptable: the Accept header must list application/json and text/event-stream")
            }
            guard Array((stream.header("content-type") ?? "").utf8).hasPrefixIgnoringCase("application/json") else {
                return reply(stream, status: 415, id: nil, code: -32600, message: "Unsupported Media Type: send Content-Type: application/json")
            }
            if endOfStream { return reply(stream, status: 400, id: nil, code: -32700, message: "Parse error: empty body") }
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

    /// Streamable HTTP: a POST's Accept must list both (or `*/*`). Compared as bytes, ignoring
    /// ASCII case (no Foundation string search on the request path).
    private static func acceptsJSONAndSSE(_ accept: String) -> Bool {
        let bytes = Array(accept.utf8)
        return bytes.containsIgnoringCase("*/*") || (bytes.containsIgnoringCase("application/json") && bytes.containsIgnoringCase("text/event-stream"))
    }

    func requestBody(_ stream: FilterStream) -> FilterStatus {
        let bytes = stream.body(of: .request) ?? []
        let envelope: JSONRPCEnvelope
        do {
            envelope = try JSONRPCEnvelope.scan(bytes)
        } catch {
            let message = (error.code == -32700 ? "Parse error: " : "Invalid Request: ") + error.reason
            return reply(stream, status: 400, id: nil, code: error.code, message: message)
        }
        let exchange = ClientExchange(
            clientID: envelope.id.map { JSONValue(bytes, range: $0).text } ?? "null",
            method: envelope.method ?? "", params: envelope.params.map { JSONValue(bytes, range: $0) })
        exchange.caller = Self.caller(of: stream)
        stream.state = exchange
        if let refusal = checkEra(stream, exchange, envelope) { return refusal }

        switch envelope.kind {
        case .result, .error:
            // Only the client that was asked may answer (the id is unguessable and bound to it).
            guard let idRange = envelope.id, federation.isAwaitingAnswer(JSONValue(bytes, range: idRange), from: exchange.owner) else {
                return reply(stream, status: 400, id: nil, code: -32600,
                             message: "Invalid Request: no request with id \(exchange.clientID) waits for this client's answer")
            }
            federation.submit(.clientResponse(JSONValue(bytes), envelope, exchange.owner))
            return accepted(stream)
        case .notification:
            let verdict = publish(stream, exchange, kind: AGW_RPC_NOTIFICATION)
            if exchange.method == "notifications/cancelled", verdict.decision != .reject, let requestID = exchange.params?["requestId"] {
                federation.submit(.cancel(exchange.owner, requestID: requestID.text))
            }
            return accepted(stream)
        case .request:
            return handleRequest(stream, exchange)
        }
    }

    /// Works out the client's era from its headers and `_meta`, and checks what that era requires.
    /// Returns the reply when the request is refused.
    private func checkEra(_ stream: FilterStream, _ exchange: ClientExchange, _ envelope: JSONRPCEnvelope) -> FilterStatus? {
        let headerVersion = stream.header("mcp-protocol-version")
        let metaVersion = exchange.params?["_meta"]?["io.modelcontextprotocol/protocolVersion"]?.string
        let isModern = metaVersion != nil || (headerVersion.map { !Self.handshakeVersions.contains($0) } ?? false)
        guard isModern else {
            exchange.era = .handshake
            guard config.sessions, exchange.method != "initialize" else { return nil }
            guard let sessionID = stream.header("mcp-session-id") else {
                return reply(stream, status: 400, id: exchange.clientID, code: -32600,
                             message: "Bad Request: missing Mcp-Session-Id header (send initialize first)")
            }
            guard federation.sessions.touch(sessionID, caller: exchange.caller) else {
                return reply(stream, status: 404, id: exchange.clientID, code: -32600, message: "Session not found (initialize again)")
            }
            exchange.sessionID = sessionID
            return nil
        }
        exchange.era = .modern
        let requested = headerVersion ?? metaVersion ?? ""
        guard Self.modernVersions.contains(requested) else {
            let supported = (Self.modernVersions + Self.handshakeVersions.reversed()).map(JSONText.quoted).joined(separator: ",")
            return reply(stream, status: 400, id: exchange.clientID, code: -32022, message: "Unsupported protocol version: \(requested)",
                         data: "{\"supported\":[\(supported)],\"requested\":\(JSONText.quoted(requested))}")
        }
        guard envelope.kind == .request || envelope.kind == .notification else { return nil }
        guard metaVersion == requested else {
            return reply(stream, status: 400, id: exchange.clientID, code: -32020,
                         message: "Header mismatch: MCP-Protocol-Version (\(headerVersion ?? "missing")) must equal _meta protocolVersion (\(metaVersion ?? "missing"))")
        }
        guard Self.decodedHeader(stream.header("mcp-method")) == exchange.method else {
            return reply(stream, status: 400, id: exchange.clientID, code: -32020,
                         message: "Header mismatch: Mcp-Method must equal the body's method '\(exchange.method)'")
        }
        if let nameKey = Self.nameKey(exchange.method) {
            let name = exchange.params?[nameKey]?.string
            guard Self.decodedHeader(stream.header("mcp-name")) == name else {
                return reply(stream, status: 400, id: exchange.clientID, code: -32020,
                             message: "Header mismatch: Mcp-Name must equal params.\(nameKey)")
            }
        }
        return nil
    }

    /// The params member a method routes by, for the `Mcp-Name` check.
    private static func nameKey(_ method: String) -> String? {
        switch method {
        case "tools/call", "prompts/get": return "name"
        case "resources/read": return "uri"
        default: return nil
        }
    }

    /// Header values that are not plain ASCII arrive as `=?base64?…?=`.
    private static func decodedHeader(_ value: String?) -> String? {
        guard let value, value.hasPrefix("=?base64?"), value.hasSuffix("?="), value.count >= 11 else { return value }
        let encoded = String(value.dropFirst(9).dropLast(2))
        return Data(base64Encoded: encoded).map { String(decoding: $0, as: UTF8.self) }
    }

    // MARK: - requests

    private func handleRequest(_ stream: FilterStream, _ exchange: ClientExchange) -> FilterStatus {
        let method = exchange.method
        switch method {
        case "initialize" where exchange.era == .handshake, "server/discover":
            return publishThen(stream, exchange) { _ in
                self.federation.submit(.describe(self.openMailbox(stream, exchange)))
            }
        case "ping":
            return reply(stream, result: Array("{}".utf8), exchange)
        case "logging/setLevel":
            return publishThen(stream, exchange) { params in
                if let params { self.federation.submit(.setLogLevel(params)) }
                self.finish(stream, exchange, response: JSONText.response(id: exchange.clientID, result: Array("{}".utf8)))
            }
        default:
            break
        }
        if let kind = ListKind(method: method) {
            if let cursor = exchange.params?["cursor"]?.string {
                guard let offset = ListCursor.decode(cursor) else {
                    return reply(stream, status: 200, id: exchange.clientID, code: -32602, message: "Invalid cursor")
                }
                exchange.listOffset = offset
            }
            exchange.listKind = kind
            return publishThen(stream, exchange) { _ in
                self.federation.submit(.list(kind, self.openMailbox(stream, exchange)))
            }
        }
        guard let route = Route(method: method, params: exchange.params) else {
            return reply(stream, status: exchange.era == .modern ? 404 : 200, id: exchange.clientID, code: -32601,
                         message: "Method not found: \(method)")
        }
        guard let clientName = route.clientName, let resolved = federation.resolve(clientName, uri: route.isURI) else {
            return reply(stream, status: 200, id: exchange.clientID, code: -32602, message: route.unknownMessage(exchange.params))
        }
        return publishThen(stream, exchange, target: resolved.name, targetKind: route.targetKind, upstream: resolved.target) { params in
            if let state = params?["requestState"]?.string, state.hasPrefix(Federation.requestStatePrefix) {
                // The retry of a request that asked for input: it continues upstream where it waited.
                self.federation.submit(.resume(requestState: state, responses: params?["inputResponses"],
                                               mailbox: self.openMailbox(stream, exchange), clientID: exchange.clientID))
                return
            }
            var rewrite = ParamsRewrite()
            if route.inRef { rewrite.refMember = (route.key, resolved.name) } else { rewrite.member = (route.key, resolved.name) }
            // A closed stream cancels a 2026-07-28 call (the spec), and a call without a session:
            // nothing could receive its answer, and its client cannot be named to cancel it.
            let call = Federation.Call(mailbox: self.openMailbox(stream, exchange), clientID: exchange.clientID, method: method,
                                       target: resolved.target, params: params, rewrite: rewrite,
                                       cancelsWhenAbandoned: exchange.era == .modern || exchange.sessionID == nil)
            if let forwarded = self.config.targets.first(where: { $0.name == resolved.target })?.forwardHeaders, !forwarded.isEmpty {
                call.forwardedHeaders = forwarded.compactMap { name in stream.header(name).map { (name, $0) } }
            }
            self.federation.submitCall(call, from: stream.scope)
        }
    }

    /// How a routed method names its target.
    private struct Route {
        var key: String
        var isURI: Bool
        var inRef = false
        var targetKind: String
        var clientName: String?

        init?(method: String, params: JSONValue?) {
            switch method {
            case "tools/call": (key, isURI, targetKind) = ("name", false, "tool")
            case "prompts/get": (key, isURI, targetKind) = ("name", false, "prompt")
            case "resources/read", "resources/subscribe", "resources/unsubscribe": (key, isURI, targetKind) = ("uri", true, "resource")
            case "completion/complete":
                inRef = true
                let isPrompt = params?["ref"]?["type"]?.string == "ref/prompt"
                (key, isURI, targetKind) = isPrompt ? ("name", false, "prompt") : ("uri", true, "resource")
                clientName = params?["ref"]?[key]?.string
                return
            default: return nil
            }
            clientName = params?[key]?.string
        }

        func unknownMessage(_ params: JSONValue?) -> String {
            let name = clientName ?? ""
            switch targetKind {
            case "tool": return "Unknown tool: \(name)"
            case "prompt": return "Unknown prompt: \(name)"
            default: return "Resource not found: \(name)"
            }
        }
    }

    /// Publishes the request to the route's filters; runs `proceed` with the (possibly rewritten)
    /// params once they allow it.
    private func publishThen(_ stream: FilterStream, _ exchange: ClientExchange, target: String = "", targetKind: String = "",
                             upstream: String = "", proceed: @escaping (JSONValue?) -> Void) -> FilterStatus {
        let verdict = publish(stream, exchange, kind: AGW_RPC_REQUEST, target: target, targetKind: targetKind, upstream: upstream)
        switch verdict.decision {
        case .allow:
            proceed(verdict.rewrittenParams.map { JSONValue(Array($0.utf8)) } ?? exchange.params)
            return .continue
        case .reject:
            // A filter may ask for its own status and headers (a rate limit: 429 and Retry-After).
            return reply(stream, status: verdict.httpStatus ?? 200, id: exchange.clientID, code: Self.errorCode(verdict),
                         message: verdict.errorMessage, headers: verdict.responseHeaders.map { ($0.name, $0.value) })
        case .pending:
            exchange.afterVerdict = { verdict in
                guard verdict.decision == .allow else {
                    self.finish(stream, exchange, response: JSONText.errorResponse(
                        id: exchange.clientID, code: Self.errorCode(verdict), message: verdict.errorMessage))
                    return
                }
                proceed(verdict.rewrittenParams.map { JSONValue(Array($0.utf8)) } ?? exchange.params)
            }
            return .continue
        }
    }

    /// The JSON-RPC code of a rejection: the filter's, or -32603 when it gave none (0).
    private static func errorCode(_ verdict: RPCVerdict) -> Int { verdict.errorCode == 0 ? -32603 : Int(verdict.errorCode) }

    private func publish(_ stream: FilterStream, _ exchange: ClientExchange, kind: agw_rpc_kind, target: String = "",
                         targetKind: String = "", upstream: String = "") -> RPCVerdict {
        guard exchange.hasRPCFilters(stream) else { return .allowed }
        return stream.publishRPC(method: exchange.method, id: exchange.clientID, target: target, targetKind: targetKind, upstream: upstream,
                          sessionID: exchange.sessionID ?? "", params: exchange.params?.text ?? "", kind: kind)
    }

    private func openMailbox(_ stream: FilterStream, _ exchange: ClientExchange) -> Mailbox {
        if let mailbox = exchange.mailbox { return mailbox }
        let mailbox = Mailbox(scheduler: stream.makeScheduler(), owner: exchange.owner,
                              serverRequests: exchange.era == .handshake ? .relay : .inputRequired)
        exchange.mailbox = mailbox
        return mailbox
    }

    // MARK: - answers

    func event(_ event: PluginEvent, stream: FilterStream) {
        guard let exchange = stream.state as? ClientExchange else { return }
        switch event.kind {
        case .scheduled where event.id == Mailbox.eventID:
            for delivery in exchange.mailbox?.drain() ?? [] { deliver(delivery, stream, exchange) }
        case .httpResponse, .httpBody, .httpFailed:
            // A call sent from this stream: its answer is handed out here, without a hop.
            guard let mailbox = exchange.mailbox else { return federation.streamEvent(event, scope: stream.scope) }
            for delivery in mailbox.whileServing({ federation.streamEvent(event, scope: stream.scope) }) {
                deliver(delivery, stream, exchange)
            }
        case .rpcVerdict:
            guard let verdict = stream.lastRPCVerdict(), let next = exchange.afterVerdict else { return }
            exchange.afterVerdict = nil
            next(verdict)
        default:
            break
        }
    }

    func streamComplete(_ stream: FilterStream) {
        guard let exchange = stream.state as? ClientExchange, let mailbox = exchange.mailbox else { return }
        if exchange.isListener, let sessionID = exchange.sessionID {
            exchange.finished = true
            federation.sessions.removeListener(mailbox, for: sessionID)
        } else if !exchange.finished {
            federation.submit(.abandon(mailbox))
        }
    }

    private func deliver(_ delivery: Delivery, _ stream: FilterStream, _ exchange: ClientExchange) {
        guard !exchange.finished else { return }
        switch delivery {
        case .message(let message):
            if !exchange.streaming {
                exchange.streaming = true
                stream.respond(status: 200, headers: sseHeaders())
            }
            stream.respondBody(Self.sseEvent(message))
        case .result(let result):
            var result = result
            if exchange.era == .modern {
                var required = [("resultType", "\"complete\"")]
                if exchange.method == "resources/read" { required += [("ttlMs", "0"), ("cacheScope", "\"private\"")] }
                result = JSONText.addingMembers(required, to: Array(result))[...]
            }
            finish(stream, exchange, response: JSONText.response(id: exchange.clientID, result: result))
        case .error(let error):
            finish(stream, exchange, response: JSONText.errorResponse(id: exchange.clientID, error: error))
        case .list(let list):
            finish(stream, exchange, response: JSONText.response(id: exchange.clientID, result: listResult(list, stream, exchange)))
        case .description(let description):
            describe(description, stream, exchange)
        case .heartbeat:
            stream.respondBody(Self.heartbeat)
        case .endStream:
            exchange.finished = true
            stream.respondBody(": the session ended\n\n", endOfStream: true)
        }
    }

    private static let heartbeat = Array(": heartbeat\n\n".utf8)

    /// The authenticated caller a filter before the handler named on the stream, if any.
    private static func caller(of stream: FilterStream) -> String? {
        Owner.caller(method: stream.value(forKey: IdentityKeys.method), subject: stream.value(forKey: IdentityKeys.subject))
    }

    /// Filters hide items (`on_rpc_message` with kind LIST_ITEM; an item must be decided on the spot,
    /// a STOP hides it), then the page is cut.
    private func listResult(_ list: MergedList, _ stream: FilterStream, _ exchange: ClientExchange) -> [UInt8] {
        guard let kind = exchange.listKind else { return Array("{}".utf8) }
        let visible = !exchange.hasRPCFilters(stream) ? list.items : list.items.filter { item in
            stream.publishRPC(method: kind.method, id: exchange.clientID, target: item.name, targetKind: kind.targetKind,
                              upstream: item.target, sessionID: exchange.sessionID ?? "",
                              params: String(decoding: item.json, as: UTF8.self), kind: AGW_RPC_LIST_ITEM).decision == .allow
        }
        let start = min(exchange.listOffset, visible.count)
        let end = config.pageSize == 0 ? visible.count : min(visible.count, start + config.pageSize)
        var members: [(String, [UInt8])] = [(kind.arrayKey, JSONText.array(visible[start..<end].map(\.json)))]
        if end < visible.count { members.append(("nextCursor", Array(JSONText.quoted(ListCursor.encode(offset: end)).utf8))) }
        if exchange.era == .modern {
            members += [("ttlMs", Array("0".utf8)), ("cacheScope", Array("\"private\"".utf8)), ("resultType", Array("\"complete\"".utf8))]
        }
        return JSONText.object(members)
    }

    private func describe(_ description: ServerDescription, _ stream: FilterStream, _ exchange: ClientExchange) {
        let serverInfo = "{\"name\":\(JSONText.quoted(config.serverName)),\"version\":\"\(Self.serverVersion)\"}"
        var members: [(String, [UInt8])] = []
        var headers: [(String, String)] = []
        if exchange.era == .modern {
            members.append(("supportedVersions", Array("[\(Self.modernVersions.map(JSONText.quoted).joined(separator: ","))]".utf8)))
            members.append(("capabilities", description.capabilities))
            members.append(("_meta", Array("{\"io.modelcontextprotocol/serverInfo\":\(serverInfo)}".utf8)))
            members += [("ttlMs", Array("0".utf8)), ("cacheScope", Array("\"private\"".utf8)), ("resultType", Array("\"complete\"".utf8))]
        } else {
            let requested = exchange.params?["protocolVersion"]?.string ?? ""
            let version = Self.handshakeVersions.contains(requested) ? requested : Self.handshakeVersions.last!
            members.append(("protocolVersion", Array(JSONText.quoted(version).utf8)))
            members.append(("capabilities", description.capabilities))
            members.append(("serverInfo", Array(serverInfo.utf8)))
            if config.sessions {
                let sessionID = federation.sessions.create(protocolVersion: version, caller: exchange.caller)
                headers.append(("mcp-session-id", sessionID))
            }
        }
        if let instructions = description.instructions { members.append(("instructions", Array(JSONText.quoted(instructions).utf8))) }
        finish(stream, exchange, response: JSONText.response(id: exchange.clientID, result: JSONText.object(members)), headers: headers)
    }

    /// Sends the final answer: as the last SSE event when a stream was started, else as JSON.
    private func finish(_ stream: FilterStream, _ exchange: ClientExchange, response: [UInt8], headers: [(String, String)] = []) {
        guard !exchange.finished else { return }
        exchange.finished = true
        if exchange.streaming {
            stream.respondBody(Self.sseEvent(response), endOfStream: true)
        } else {
            stream.respond(status: 200, headers: [("content-type", "application/json")] + headers)
            stream.respondBody(response, endOfStream: true)
        }
    }

    private func sseHeaders() -> [(String, String)] {
        [("content-type", "text/event-stream"), ("cache-control", "no-cache"), ("x-accel-buffering", "no")]
    }

    private static func sseEvent(_ message: [UInt8]) -> [UInt8] {
        Array("event: message\ndata: ".utf8) + message + Array("\n\n".utf8)
    }

    private func reply(_ stream: FilterStream, result: [UInt8], _ exchange: ClientExchange) -> FilterStatus {
        var result = result
        if exchange.era == .modern { result = JSONText.addingMembers([("resultType", "\"complete\"")], to: result) }
        stream.sendLocalReply(status: 200, headers: [("content-type", "application/json")],
                              body: String(decoding: JSONText.response(id: exchange.clientID, result: result), as: UTF8.self))
        return .replied
    }

    /// Answers now with a JSON-RPC error.
    private func reply(_ stream: FilterStream, status: Int, id: String?, code: Int, message: String, data: String? = nil,
                       headers: [(String, String)] = []) -> FilterStatus {
        let body = JSONText.errorResponse(id: id, code: code, message: message, data: data)
        stream.sendLocalReply(status: status, headers: [("content-type", "application/json")] + headers, body: String(decoding: body, as: UTF8.self))
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
        guard config.sessions, !(stream.header("mcp-protocol-version").map(Self.modernVersions.contains) ?? false) else {
            stream.sendLocalReply(status: 405, headers: [("allow", "POST")])
            return nil
        }
        guard let sessionID = stream.header("mcp-session-id") else {
            _ = reply(stream, status: 400, id: nil, code: -32600, message: "Bad Request: missing Mcp-Session-Id header")
            return nil
        }
        let caller = Self.caller(of: stream)
        guard end ? federation.sessions.remove(sessionID, caller: caller) : federation.sessions.touch(sessionID, caller: caller) else {
            _ = reply(stream, status: 404, id: nil, code: -32600, message: "Session not found (initialize again)")
            return nil
        }
        return sessionID
    }

    /// GET: the session's stream for notifications that belong to no request (list changes).
    private func openListener(_ stream: FilterStream) -> FilterStatus {
        guard let sessionID = namedSession(stream, end: false) else { return .replied }
        let exchange = ClientExchange(clientID: "null", method: "GET", params: nil)
        exchange.era = .handshake
        exchange.sessionID = sessionID
        exchange.caller = Self.caller(of: stream)
        exchange.isListener = true
        exchange.streaming = true
        stream.state = exchange
        let (added, displaced) = federation.sessions.addListener(openMailbox(stream, exchange), for: sessionID)
        guard added else {
            _ = reply(stream, status: 404, id: nil, code: -32600, message: "Session not found (initialize again)")
            return .replied
        }
        displaced?.deliver(.endStream)
        // The connection closes when the stream ends (the session ended, or the client left), so a
        // client that vanished holds no descriptor once its session is gone.
        stream.respond(status: 200, headers: sseHeaders() + [("mcp-session-id", sessionID), ("connection", "close")])
        stream.respondBody(": listening\n\n")
        return .continue
    }

    /// DELETE: ends the session.
    private func closeSession(_ stream: FilterStream) -> FilterStatus {
        guard namedSession(stream, end: true) != nil else { return .replied }
        stream.sendLocalReply(status: 200)
        return .replied
    }
}

/// One client HTTP exchange with the MCP handler (per-stream state).
final class ClientExchange {
    enum Era { case handshake, modern }
    var era = Era.handshake
    let clientID: String
    let method: String
    let params: JSONValue?
    var sessionID: String?
    /// The authenticated caller (``Owner/caller(method:subject:)``), nil when anonymous.
    var caller: String?
    /// Whom what the federation names for this exchange belongs to.
    var owner: Owner { Owner(sessionID: sessionID, caller: caller) }
    var mailbox: Mailbox?
    /// The response is an SSE stream (it started with a message before the answer).
    var streaming = false
    var finished = false
    /// A session's GET stream.
    var isListener = false
    var listKind: ListKind?
    var listOffset = 0
    var afterVerdict: ((RPCVerdict) -> Void)?
    private var rpcFilters: Bool?

    /// Whether the route has filters that read messages (asked once per exchange).
    func hasRPCFilters(_ stream: FilterStream) -> Bool {
        if let rpcFilters { return rpcFilters }
        let answer = stream.hasRPCFilters
        rpcFilters = answer
        return answer
    }

    init(clientID: String, method: String, params: JSONValue?) {
        self.clientID = clientID
        self.method = method
        self.params = params
    }
}
