import JSON
import PluginKit
import PolicyKit
import RBACCore
import Synchronization

/// The `rbac` filter: allows or denies HTTP requests (`http_rules`) and MCP/A2A messages
/// (`rules`), with CEL expressions over the caller's identity, the request and the message.
///
/// On MCP routes a denied call is answered exactly like a call of something that does not
/// exist, and denied list items are left out of the list, so a caller cannot tell a hidden tool
/// from a missing one.
final class RBACFilter: Filter, RPCFilter, @unchecked Sendable {
    static let name = "rbac"
    /// Decides on requests and messages only.
    static let implementedHooks: FilterHooks = []

    let config: RBACConfig
    /// `agw_rbac_decisions_total{route, rule, decision}`.
    private let decisions: MetricFamily<Counter>?
    /// Its series, resolved on first use, by policy, rule index and outcome (see `logDecision`):
    /// no hashing of label text per decision.
    private let decisionSeries = Mutex<[Int: Counter?]>([:])
    private let route: String

    init(configuration: FilterConfiguration) throws {
        do {
            config = try RBACConfig(json: configuration.json)
        } catch {
            throw FilterConfiguration.Invalid(error.description)
        }
        decisions = configuration.counter(
            name: "agw_rbac_decisions_total", help: "RBAC decisions on requests and messages, by deciding rule (\"(default)\": no rule matched)",
            labels: ["route", "rule", "decision"])
        route = configuration.routeName
    }

    func requestHeaders(_ stream: FilterStream, endOfStream: Bool) -> FilterStatus {
        guard !config.http.isEmpty else { return .continue }
        let decision = config.http.decide(StreamActivation(stream: stream))
        logDecision(decision, policy: 0, stream, what: "\(stream.attribute(.method) ?? "?") \(stream.attribute(.path) ?? "?")")
        guard !decision.allowed else { return .continue }
        stream.sendLocalReply(status: 403, headers: [("content-type", "application/json")],
                              body: #"{"error":"forbidden","error_description":"the gateway's policy does not allow this request"}"#)
        return .replied
    }

    /// MCP methods whose target a policy decides; the rest (initialize, ping, the lists
    /// themselves, notifications) pass, and lists are filtered item by item. (A switch: no
    /// hashing of the method per message.)
    private static func isDecided(mcpMethod method: String) -> Bool {
        switch method {
        case "tools/call", "prompts/get", "resources/read", "resources/subscribe", "resources/unsubscribe", "completion/complete": true
        default: false
        }
    }

    /// Requests and list items from the client only (what ``rpcMessage(_:stream:)`` decides).
    func wantsRPCMessage(kind: RPCMessage.Kind, fromClient: Bool) -> Bool {
        !config.messages.isEmpty && fromClient && (kind == .request || kind == .listItem)
    }

    func rpcMessage(_ message: RPCMessage, stream: FilterStream) -> FilterStatus {
        guard wantsRPCMessage(kind: message.kind, fromClient: message.isFromClient) else { return .continue }
        switch (message.protocolName, message.kind) {
        case (.mcp, .listItem), (.a2a, .listItem): break
        case (.mcp, .request) where Self.isDecided(mcpMethod: message.method): break
        case (.a2a, .request): break
        default: return .continue
        }
        let decision = config.messages.decide(StreamActivation(stream: stream, message: message))
        if message.kind != .listItem || !decision.allowed {
            logDecision(decision, policy: 1, stream, what: "\(message.method) \(message.targetKind) '\(message.target)'\(message.upstream.isEmpty ? "" : " of '\(message.upstream)'")")
        }
        guard !decision.allowed else { return .continue }
        let (code, text) = Self.notFound(message)
        stream.rejectRPC(code: code, message: text)
        return .replied
    }

    /// The error a caller gets for something that does not exist (the MCP handler's own words).
    private static func notFound(_ message: RPCMessage) -> (Int32, String) {
        guard message.protocolName == .mcp else { return (-32601, "Method not found: \(message.method)") }
        let params = JSONValue(message.paramsBytes)
        switch message.targetKind {
        case "tool": return (-32602, "Unknown tool: \(params["name"]?.string ?? message.target)")
        case "prompt": return (-32602, "Unknown prompt: \(params["name"]?.string ?? params["ref"]?["name"]?.string ?? message.target)")
        default: return (-32602, "Resource not found: \(params["uri"]?.string ?? params["ref"]?["uri"]?.string ?? message.target)")
        }
    }

    /// Counts, traces and logs a decision of `policy` (0: `http_rules`, 1: `rules`).
    private func logDecision(_ decision: Policy.Decision, policy: Int, _ stream: FilterStream, what: @autoclosure () -> String) {
        let key = ((decision.ruleIndex.map { $0 + 1 } ?? 0) * 2 + (decision.allowed ? 1 : 0)) * 2 + policy
        let counter = decisionSeries.withLock { cache in
            if let known = cache[key] { return known }
            let series = decisions?.series(route, decision.rule ?? "(default)", decision.allowed ? "allow" : "deny")
            cache[key] = series
            return series
        }
        counter?.increment()
        stream.addTraceEvent("rbac.decision", attributes: [("agw.rbac.rule", decision.rule ?? "(default)"),
                                                           ("agw.rbac.decision", decision.allowed ? "allow" : "deny")])
        stream.log(.debug, "rbac: \(what()) for \(stream.value(forKey: IdentityKeys.subject) ?? "anonymous"): \(decision.explanation)")
    }
}
