import A2ACore
import Foundation
import JSON
import JSONRPC
import SSE

/// An A2A agent as an MCP target (`type = "a2a"`): it answers the federation's MCP requests
/// itself, by asking the agent. Each skill of the agent's card is a tool (its id, made a valid
/// name; its description and examples; input `message`, and optionally `taskId`/`contextId` to
/// continue a task), and a call sends the message to the agent and waits until the task is done
/// (or needs input): streamed when the agent streams, each status update becoming an MCP
/// progress notification when the client asked for progress; else sent blocking and polled. The
/// result's content is the agent's text and data (artifacts, or its message); a failed,
/// rejected or cancelled task is a tool error. I/O-free, like the other transports.
final class A2AAgentTransport: @unchecked Sendable {
    /// What one of its HTTP calls is for.
    enum Purpose: Sendable, Equatable {
        case card
        /// A message for the MCP request `requestID`.
        case send(requestID: Int)
        /// GetTask while a task runs (agents that do not stream).
        case poll(requestID: Int)
        case cancel
    }

    /// What the federation should do for it.
    enum Step {
        case http(HTTPCallRequest, Purpose)
        case output(TransportOutput)
    }

    struct Tool {
        let name: String
        let skillID: String
        let json: [UInt8]
    }

    /// One `tools/call` at the agent.
    private struct Call {
        let skillID: String
        var progressToken: [UInt8]?
        var taskID: String?
        var contextID: String?
        var state: String?
        var messageText: String?
        var artifacts: [String] = []
        var statusTexts: [String] = []
        var progress = 0
        var nextPoll: Double?
    }

    let cardURL: String
    let headers: [HTTPHeaderPair]
    let timeoutMilliseconds: Int
    private var endpoint: (url: String, version: A2AVersion)?
    private var streams = false
    private(set) var tools: [Tool] = []
    private var serverName = "a2a-agent"
    private var description: String?
    private var waitingForCard: [Int] = []
    private var calls: [Int: Call] = [:]
    private var nextRPCID = 1
    static let pollInterval = 0.5

    init(url: String, cardURL: String?, headers: [String: String], timeoutMilliseconds: Int) {
        let base = url.hasSuffix("/") ? String(url.dropLast()) : url
        self.cardURL = cardURL ?? base + "/.well-known/agent-card.json"
        self.headers = headers.sorted { $0.key < $1.key }.map { HTTPHeaderPair($0.key, $0.value) }
        self.timeoutMilliseconds = timeoutMilliseconds
    }

    /// A fresh start: the card is fetched again, nothing is in flight.
    func reset() {
        endpoint = nil
        waitingForCard = []
        calls = [:]
    }

    // MARK: - MCP messages from the federation

    func send(_ message: [UInt8], requestID: Int?, now: Double) -> [Step] {
        guard let envelope = try? JSONRPCEnvelope.scan(message), let method = envelope.method else { return [] }
        let params = envelope.params.map { JSONValue(message, range: $0) }
        guard let requestID else {
            if method == "notifications/cancelled", let id = params?["requestId"]?.int { return cancel(id) }
            return [] // notifications/initialized and the like
        }
        switch method {
        case "initialize":
            if endpoint != nil { return [.output(answer(requestID, initializeResult()))] }
            waitingForCard.append(requestID)
            return waitingForCard.count == 1 ? [.http(request("GET", cardURL, body: [], streams: true), .card)] : []
        case "ping":
            return [.output(answer(requestID, Array("{}".utf8)))]
        case "tools/list":
            return [.output(answer(requestID, JSONText.object([("tools", JSONText.array(tools.map(\.json)))])))]
        case "tools/call":
            return call(requestID, params: params)
        case "logging/setLevel":
            return [.output(answer(requestID, Array("{}".utf8)))]
        default:
            return [.output(.rejected(requestID, error: JSONValue(Array("{\"code\":-32601,\"message\":\(JSONText.quoted("Method not found: \(method)"))}".utf8))))]
        }
    }

    private func call(_ requestID: Int, params: JSONValue?) -> [Step] {
        guard let endpoint else { return [.output(.requestFailed(requestID, reason: "the agent's card is not known"))] }
        guard let name = params?["name"]?.string, let tool = tools.first(where: { $0.name == name }) else {
            return [.output(answer(requestID, Self.toolError("Unknown tool: \(params?["name"]?.string ?? "?")")))]
        }
        let arguments = params?["arguments"]
        guard let text = arguments?["message"]?.string else {
            return [.output(answer(requestID, Self.toolError("'message' (a string) is required")))]
        }
        var call = Call(skillID: tool.skillID)
        call.progressToken = params?["_meta"]?["progressToken"].map { Array($0.raw) }
        call.taskID = arguments?["taskId"]?.string
        call.contextID = arguments?["contextId"]?.string
        calls[requestID] = call
        let v1 = endpoint.version == .v1_0
        var messageMembers: [(String, [UInt8])] = [
            ("messageId", Array(JSONText.quoted("mcp-" + UUID().uuidString.lowercased()).utf8)),
            ("role", Array((v1 ? "\"ROLE_USER\"" : "\"user\"").utf8)),
            ("parts", Array((v1 ? "[{\"text\":\(JSONText.quoted(text))}]" : "[{\"kind\":\"text\",\"text\":\(JSONText.quoted(text))}]").utf8)),
            ("metadata", Array("{\"skill\":\(JSONText.quoted(tool.skillID))}".utf8)),
        ]
        if !v1 { messageMembers.insert(("kind", Array("\"message\"".utf8)), at: 0) }
        if let task = call.taskID { messageMembers.append(("taskId", Array(JSONText.quoted(task).utf8))) }
        if let context = call.contextID { messageMembers.append(("contextId", Array(JSONText.quoted(context).utf8))) }
        let configuration = v1 ? "{\"returnImmediately\":false}" : "{\"blocking\":true}"
        let params = JSONText.object([("message", JSONText.object(messageMembers)), ("configuration", Array(configuration.utf8))])
        let method = streams ? (v1 ? "SendStreamingMessage" : "message/stream") : (v1 ? "SendMessage" : "message/send")
        return [.http(rpc(method, params: params), .send(requestID: requestID))]
    }

    private func cancel(_ requestID: Int) -> [Step] {
        guard let call = calls.removeValue(forKey: requestID), let task = call.taskID, let endpoint else { return [] }
        let method = endpoint.version == .v1_0 ? "CancelTask" : "tasks/cancel"
        return [.http(rpc(method, params: Array("{\"id\":\(JSONText.quoted(task))}".utf8)), .cancel)]
    }

    /// Calls whose poll is due (agents that do not stream).
    func tick(now: Double) -> [Step] {
        var steps: [Step] = []
        for (requestID, call) in calls {
            guard let due = call.nextPoll, due <= now, let task = call.taskID, let endpoint else { continue }
            calls[requestID]?.nextPoll = nil
            let method = endpoint.version == .v1_0 ? "GetTask" : "tasks/get"
            steps.append(.http(rpc(method, params: Array("{\"id\":\(JSONText.quoted(task))}".utf8)), .poll(requestID: requestID)))
        }
        return steps
    }

    // MARK: - the agent's answers

    /// A whole answer (or, for a stream, one event) for a call of `purpose`.
    func answered(_ purpose: Purpose, status: Int, body: [UInt8], now: Double) -> [TransportOutput] {
        switch purpose {
        case .card:
            return cardArrived(status: status, body: body)
        case .cancel:
            return []
        case .send(let requestID), .poll(let requestID):
            guard calls[requestID] != nil else { return [] }
            guard (200..<300).contains(status), let json = try? JSONValue.validated(body) else {
                calls[requestID] = nil
                return [.requestFailed(requestID, reason: "the A2A agent answered HTTP \(status)" + (body.isEmpty ? "" : " with \(String(decoding: body.prefix(200), as: UTF8.self))"))]
            }
            return event(json, for: requestID, now: now, streamed: false)
        }
    }

    /// One event of a streamed answer.
    func streamed(_ purpose: Purpose, event data: [UInt8], now: Double) -> [TransportOutput] {
        guard case .send(let requestID) = purpose, calls[requestID] != nil, let json = try? JSONValue.validated(data) else { return [] }
        return event(json, for: requestID, now: now, streamed: true)
    }

    /// A stream ended (or a call failed): a call still open gets what the agent said so far.
    func ended(_ purpose: Purpose, failure: String?) -> [TransportOutput] {
        switch purpose {
        case .card:
            let waiting = waitingForCard
            waitingForCard = []
            return waiting.map { .requestFailed($0, reason: failure ?? "the card request ended without a card") }
        case .send(let requestID), .poll(let requestID):
            guard let call = calls[requestID] else { return [] }
            if let failure {
                calls[requestID] = nil
                return [.requestFailed(requestID, reason: failure)]
            }
            if call.nextPoll != nil { return [] } // polling continues
            calls[requestID] = nil
            return [answer(requestID, result(call, note: call.state.map { "the agent's stream ended with the task \($0)" }))]
        case .cancel:
            return []
        }
    }

    private func event(_ json: JSONValue, for requestID: Int, now: Double, streamed: Bool) -> [TransportOutput] {
        guard var call = calls[requestID] else { return [] }
        if let error = json["error"] {
            calls[requestID] = nil
            return [answer(requestID, Self.toolError("The A2A agent refused: \(error["message"]?.string ?? error.text)"))]
        }
        guard let event = AgentEvent(json) else { return [] }
        var outputs: [TransportOutput] = []
        call.taskID = event.taskID ?? call.taskID
        call.contextID = event.contextID ?? call.contextID
        if event.isMessage {
            call.messageText = event.text
        } else if let text = event.text {
            call.statusTexts.append(text)
        }
        call.artifacts += event.artifactTexts
        if let state = event.state { call.state = state }
        if let token = call.progressToken, streamed, event.state != nil || !event.artifactTexts.isEmpty {
            call.progress += 1
            let message = event.text ?? event.state.map { "the task is \($0.lowercased())" } ?? "artifact"
            let params = JSONText.object([("progressToken", token), ("progress", Array(String(call.progress).utf8)),
                                          ("message", Array(JSONText.quoted(message).utf8))])
            outputs.append(.message(JSONText.request(id: nil, method: "notifications/progress", params: params), relatedTo: requestID))
        }
        if event.isFinal || (!streamed && call.state == nil) {
            calls[requestID] = nil
            outputs.append(answer(requestID, result(call, note: nil)))
        } else {
            if !streamed { call.nextPoll = now + Self.pollInterval }
            calls[requestID] = call
        }
        return outputs
    }

    /// The MCP tool result of a call.
    private func result(_ call: Call, note: String?) -> [UInt8] {
        var texts = call.artifacts.isEmpty ? [call.messageText ?? call.statusTexts.last].compactMap { $0 } : call.artifacts
        if call.state == "INPUT_REQUIRED" || call.state == "AUTH_REQUIRED" {
            texts.append("The agent needs \(call.state == "AUTH_REQUIRED" ? "authorization" : "more input")"
                         + (call.statusTexts.last.map { ": \($0)" } ?? "") + ". Call again with this taskId to answer.")
        }
        if let note { texts.append(note) }
        if texts.isEmpty { texts = ["(the agent answered without text)"] }
        let content = JSONText.array(texts.map { Array("{\"type\":\"text\",\"text\":\(JSONText.quoted($0))}".utf8) })
        var structured: [(String, [UInt8])] = []
        if let task = call.taskID { structured.append(("taskId", Array(JSONText.quoted(task).utf8))) }
        if let context = call.contextID { structured.append(("contextId", Array(JSONText.quoted(context).utf8))) }
        structured.append(("state", Array(JSONText.quoted(call.state ?? "MESSAGE").utf8)))
        return JSONText.object([("content", content), ("structuredContent", JSONText.object(structured)),
                                ("isError", Array((["FAILED", "CANCELED", "REJECTED"].contains(call.state ?? "") ? "true" : "false").utf8))])
    }

    // MARK: - the card

    private func cardArrived(status: Int, body: [UInt8]) -> [TransportOutput] {
        let waiting = waitingForCard
        waitingForCard = []
        func failAll(_ reason: String) -> [TransportOutput] { waiting.map { .requestFailed($0, reason: reason) } }
        guard status == 200, let card = try? JSONValue.validated(body), card["name"] != nil else {
            return failAll("its agent card at \(cardURL) is not usable (HTTP \(status))")
        }
        let interfaces = AgentInterfaces(card: card)
        guard let chosen = interfaces.jsonRPC(for: .v1_0) else {
            return failAll("its agent card offers no JSON-RPC interface (the MCP bridge speaks A2A JSON-RPC)")
        }
        endpoint = (chosen.url, chosen.version)
        streams = card["capabilities"]?["streaming"]?.text == "true"
        serverName = card["name"]?.string ?? serverName
        description = card["description"]?.string
        var taken = Set<String>()
        tools = (card["skills"]?.elements ?? []).compactMap { skill in
            guard let id = skill["id"]?.string else { return nil }
            var name = Self.toolName(id)
            while taken.contains(name) { name += "_" }
            taken.insert(name)
            return Tool(name: name, skillID: id, json: Self.toolJSON(name: name, skill: skill))
        }
        return waiting.map { answer($0, initializeResult()) }
    }

    private func initializeResult() -> [UInt8] {
        var members: [(String, [UInt8])] = [
            ("protocolVersion", Array("\"2025-11-25\"".utf8)),
            ("capabilities", Array("{\"tools\":{}}".utf8)),
            ("serverInfo", Array("{\"name\":\(JSONText.quoted(serverName)),\"version\":\"a2a\"}".utf8)),
        ]
        if let description { members.append(("instructions", Array(JSONText.quoted(description).utf8))) }
        return JSONText.object(members)
    }

    /// A skill id as an MCP tool name: letters, digits, `_`, `-`, `.`; anything else becomes `_`.
    static func toolName(_ id: String) -> String {
        let name = String(id.unicodeScalars.map { scalar -> Character in
            scalar.isASCII && (scalar.properties.isAlphabetic || ("0"..."9").contains(scalar) || "_-.".unicodeScalars.contains(scalar))
                ? Character(scalar) : "_"
        })
        return name.isEmpty ? "skill" : String(name.prefix(64))
    }

    static func toolJSON(name: String, skill: JSONValue) -> [UInt8] {
        var description = skill["description"]?.string ?? skill["name"]?.string ?? name
        let examples = skill["examples"]?.elements?.compactMap(\.string) ?? []
        if !examples.isEmpty { description += "\nExamples: " + examples.map { "\"\($0)\"" }.joined(separator: ", ") }
        let input = #"{"type":"object","properties":{"message":{"type":"string","description":"What to ask the agent"},"taskId":{"type":"string","description":"Continue this task (from an earlier result)"},"contextId":{"type":"string","description":"Continue this conversation"}},"required":["message"]}"#
        let output = #"{"type":"object","properties":{"taskId":{"type":"string"},"contextId":{"type":"string"},"state":{"type":"string"}},"required":["state"]}"#
        return JSONText.object([
            ("name", Array(JSONText.quoted(name).utf8)),
            ("title", Array(JSONText.quoted(skill["name"]?.string ?? name).utf8)),
            ("description", Array(JSONText.quoted(description).utf8)),
            ("inputSchema", Array(input.utf8)),
            ("outputSchema", Array(output.utf8)),
        ])
    }

    static func toolError(_ text: String) -> [UInt8] {
        Array("{\"content\":[{\"type\":\"text\",\"text\":\(JSONText.quoted(text))}],\"isError\":true}".utf8)
    }

    // MARK: - requests to the agent

    private func rpc(_ method: String, params: [UInt8]) -> HTTPCallRequest {
        let id = nextRPCID
        nextRPCID += 1
        return request("POST", endpoint?.url ?? "", body: JSONText.request(id: String(id), method: method, params: params), streams: true)
    }

    private func request(_ method: String, _ url: String, body: [UInt8], streams: Bool) -> HTTPCallRequest {
        var all = [HTTPHeaderPair("accept", method == "GET" ? "application/json" : "application/json, text/event-stream")]
        if !body.isEmpty { all.append(HTTPHeaderPair("content-type", "application/json")) }
        if endpoint?.version == .v1_0 || endpoint == nil { all.append(HTTPHeaderPair("a2a-version", "1.0")) }
        all += headers
        return HTTPCallRequest(method: method, url: url, headers: all, body: body, timeoutMilliseconds: timeoutMilliseconds, streamsBody: streams)
    }

    private func answer(_ requestID: Int, _ result: [UInt8]) -> TransportOutput {
        .message(JSONText.response(id: String(requestID), result: result), relatedTo: requestID)
    }
}
