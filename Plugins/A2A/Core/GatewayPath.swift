/// What a request path names on an A2A route mounted at `prefix`:
/// - `{prefix}` or `{prefix}/`: the catalog of agents;
/// - `{prefix}/{agent}/.well-known/agent-card.json` (or 0.2's `agent.json`): an agent's card;
/// - `{prefix}/{agent}` and below: the agent's interfaces (``AgentInterfaces``).
public enum GatewayPath: Sendable, Equatable {
    case catalog
    case card(agent: String)
    /// `rest`: what follows the agent's segment, query included (`""`, `"/"`, `"/rest/tasks/t1"`).
    case agent(String, rest: String)
    /// Not under the prefix at all.
    case outside

    public init(path: String, prefix: String) {
        let base = prefix == "/" ? "" : prefix
        guard path.hasPrefix(base) else {
            self = .outside
            return
        }
        let below = path.dropFirst(base.count)
        let pathOnly = below.prefix { $0 != "?" }
        if pathOnly.isEmpty || pathOnly == "/" {
            self = .catalog
            return
        }
        guard below.first == "/" else {
            self = .outside // "/agentsX"
            return
        }
        let afterSlash = below.dropFirst()
        let agent = afterSlash.prefix { $0 != "/" && $0 != "?" }
        let rest = afterSlash.dropFirst(agent.count)
        let restPath = rest.prefix { $0 != "?" }
        if restPath == "/.well-known/agent-card.json" || restPath == "/.well-known/agent.json" {
            self = .card(agent: String(agent))
        } else {
            self = .agent(String(agent), rest: String(rest))
        }
    }
}

extension AgentInterfaces {
    /// Where a request below an agent's path goes: the interface (by its slug, or the JSON-RPC
    /// one of the request's version for the agent's own path) and the path that follows it.
    /// Nil when the first segment names no interface.
    public func route(_ rest: String, version: A2AVersion) -> (Interface, suffix: String)? {
        let pathOnly = rest.prefix { $0 != "?" }
        if pathOnly.isEmpty || pathOnly == "/" {
            return jsonRPC(for: version).map { ($0, String(rest.dropFirst(pathOnly.count))) }
        }
        let segment = pathOnly.dropFirst().prefix { $0 != "/" }
        guard let interface = interface(slug: segment) else { return nil }
        return (interface, String(rest.dropFirst(1 + segment.count)))
    }
}
