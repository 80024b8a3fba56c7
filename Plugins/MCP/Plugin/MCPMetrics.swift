import JSON
import MCPCore
import PluginKit
import Synchronization

/// One MCP route's metrics (labelled metrics, ABI 1.5; a host before it records none).
///
/// Label values come from bounded sets only: methods from the MCP method list (anything else is
/// `other`), outcomes from ``Outcome``, targets from the config, and tools from the targets' own
/// lists: a tool gets its name as a label once a `tools/list` through the route showed it (a call
/// to a name no list showed is counted as `(unlisted)`, so a client inventing names cannot make
/// series). Series are resolved once per label set and kept.
final class MCPMetrics: Sendable {
    /// How a client's JSON-RPC message ended.
    enum Outcome: Int, CaseIterable, Sendable {
        case ok, toolError, rejected, parseError, invalidRequest, methodNotFound, invalidParams, internalError, serverError, applicationError, abandoned

        var label: String {
            switch self {
            case .ok: "ok"
            case .toolError: "tool_error"
            case .rejected: "rejected"
            case .parseError: "parse_error"
            case .invalidRequest: "invalid_request"
            case .methodNotFound: "method_not_found"
            case .invalidParams: "invalid_params"
            case .internalError: "internal_error"
            case .serverError: "server_error"
            case .applicationError: "application_error"
            case .abandoned: "abandoned"
            }
        }

        /// The class of a JSON-RPC error code.
        init(code: Int?) {
            switch code {
            case -32700: self = .parseError
            case -32600: self = .invalidRequest
            case -32601: self = .methodNotFound
            case -32602: self = .invalidParams
            case -32603: self = .internalError
            case .some(-32099 ... -32000): self = .serverError
            default: self = .applicationError
            }
        }
    }

    /// The methods that get their own label value.
    static let methods = [
        "initialize", "ping", "server/discover", "tools/list", "tools/call", "prompts/list", "prompts/get", "resources/list",
        "resources/templates/list", "resources/read", "resources/subscribe", "resources/unsubscribe", "completion/complete",
        "logging/setLevel", "subscriptions/listen", "notifications/initialized", "notifications/cancelled",
        "notifications/progress", "notifications/roots/list_changed", "response",
    ]
    /// ``methods`` by name: one hash per count, not a compare per method.
    private static let methodIndex = Dictionary(uniqueKeysWithValues: methods.enumerated().map { ($0.element, $0.offset) })

    private struct ToolKey: Hashable {
        let target: String
        let tool: String
    }

    private struct ToolSeries {
        var calls: [Counter?]
        let duration: Histogram?
        /// Kept under an unlisted name for the `(unlisted)` series it counts into (so the next call
        /// of that name is one lookup too); dropped when a list shows the name.
        var isAlias = false
    }

    /// Unlisted names remembered as aliases, at most (past it, each call looks twice).
    private static let maxToolKeys = 4096

    let route: String
    private let requests: MetricFamily<Counter>?
    private let toolCalls: MetricFamily<Counter>?
    private let toolDuration: MetricFamily<Histogram>?
    private let fanout: MetricFamily<Histogram>?
    private let targetUp: MetricFamily<Gauge>?
    private let restarts: MetricFamily<Counter>?
    private let reconnects: MetricFamily<Counter>?
    private let sessions: Gauge?
    private let targets: [(name: String, isProcess: Bool)]
    /// Request series by method index × outcome (no hashing), tool series by key.
    private let resolved = Mutex<(requests: [Counter?], tools: [ToolKey: ToolSeries], fanout: [String: Histogram], listed: Set<ToolKey>)>(
        (Array(repeating: nil, count: (MCPMetrics.methods.count + 1) * Outcome.allCases.count), [:], [:], []))

    /// The tool label of a name no list showed.
    static let unlisted = "(unlisted)"

    init(configuration: FilterConfiguration, config: MCPRouteConfig) {
        route = configuration.routeName
        requests = configuration.counter(name: "agw_mcp_requests_total", help: "Client JSON-RPC messages on an MCP route, by method and outcome",
                                         labels: ["route", "method", "outcome"])
        toolCalls = configuration.counter(name: "agw_mcp_tool_calls_total", help: "tools/call requests, by target, tool and outcome",
                                          labels: ["route", "target", "tool", "outcome"])
        toolDuration = configuration.histogram(name: "agw_mcp_tool_call_duration_seconds", help: "Time from a tools/call request to its answer",
                                               labels: ["route", "target", "tool"])
        fanout = configuration.histogram(name: "agw_mcp_list_fanout_duration_seconds",
                                         help: "Time to collect and merge a list from every target", labels: ["route", "method"])
        targetUp = configuration.gauge(name: "agw_mcp_target_up", help: "1 while a target's shared connection is ready, 0 while it is down",
                                       labels: ["route", "target"])
        restarts = configuration.counter(name: "agw_mcp_target_restarts_total", help: "Restarts of a stdio target's child process after it failed",
                                         labels: ["route", "target"])
        reconnects = configuration.counter(name: "agw_mcp_target_reconnects_total", help: "Reconnects to an HTTP or SSE target after it failed",
                                           labels: ["route", "target"])
        sessions = configuration.gauge(name: "agw_mcp_sessions_active", help: "Client sessions of an MCP route", labels: ["route"])?.series(route)
        targets = config.targets.map { target in
            if case .stdio = target.transport { return (target.name, true) }
            return (target.name, false)
        }
    }

    /// Counts one finished client message.
    func count(method: String, outcome: Outcome) {
        guard let requests else { return }
        let methodIndex = Self.methodIndex[method] ?? Self.methods.count // `other` last
        let key = methodIndex * Outcome.allCases.count + outcome.rawValue
        let counter = resolved.withLock { state -> Counter? in
            if let counter = state.requests[key] { return counter }
            let counter = requests.series(route, methodIndex < Self.methods.count ? method : "other", outcome.label)
            state.requests[key] = counter
            return counter
        }
        counter?.increment()
    }

    /// Counts and times one tools/call that reached a target's tool.
    func toolCall(target: String, tool: String, outcome: Outcome, seconds: Double) {
        guard let toolCalls else { return }
        let (counter, duration) = resolved.withLock { state -> (Counter?, Histogram?) in
            let called = ToolKey(target: target, tool: tool)
            // A listed tool's series (or an unlisted name's alias) are kept under its key: one
            // lookup for the common call.
            if let series = state.tools[called], let counter = series.calls[outcome.rawValue] { return (counter, series.duration) }
            let key = state.listed.contains(called) ? called : ToolKey(target: target, tool: Self.unlisted)
            var series = state.tools[key].flatMap { $0.isAlias ? nil : $0 }
                ?? ToolSeries(calls: Array(repeating: nil, count: Outcome.allCases.count), duration: toolDuration?.series(route, target, key.tool))
            if series.calls[outcome.rawValue] == nil {
                series.calls[outcome.rawValue] = toolCalls.series(route, target, key.tool, outcome.label)
            }
            state.tools[key] = series
            if key != called, state.tools.count < Self.maxToolKeys {
                series.isAlias = true
                state.tools[called] = series
            }
            return (series.calls[outcome.rawValue], series.duration)
        }
        counter?.increment()
        duration?.record(seconds)
    }

    /// Remembers the tools a merged `tools/list` showed (by target and the target's own name).
    func learnTools(_ items: [MergedList.Item]) {
        resolved.withLock { state in
            for item in items {
                let key = ToolKey(target: item.target, tool: item.name)
                state.listed.insert(key)
                if state.tools[key]?.isAlias == true { state.tools[key] = nil } // its own series from now on
            }
        }
    }

    /// Times one merged list.
    func listMerged(_ kind: ListKind, seconds: Double) {
        guard let fanout else { return }
        let histogram = resolved.withLock { state -> Histogram? in
            if let histogram = state.fanout[kind.method] { return histogram }
            let histogram = fanout.series(route, kind.method)
            state.fanout[kind.method] = histogram
            return histogram
        }
        histogram?.record(seconds)
    }

    /// A target's shared connection changed state.
    func target(_ index: Int, _ status: TargetStatus) {
        guard index < targets.count else { return }
        let target = targets[index]
        switch status {
        case .up: targetUp?.series(route, target.name)?.set(1)
        case .down: targetUp?.series(route, target.name)?.set(0)
        case .restarting: (target.isProcess ? restarts : reconnects)?.series(route, target.name)?.increment()
        }
    }

    func sessionCount(_ count: Int) { sessions?.set(Double(count)) }
}
