import JSON
import PluginKit

/// The `a2a` handler's configuration (a route's `[routes.handler] config` table), read strictly:
/// an unknown key, a wrong type or a bad value is an error that names the key.
public struct A2ARouteConfig: Sendable, Equatable {
    public var agents: [A2AAgent]
    /// The gateway's own base URL as clients reach it (`https://gw.example.com`), for the URLs in
    /// rewritten cards; nil: from each request's scheme and `Host`.
    public var publicURL: String?
    /// Where the route is mounted, when the host cannot say (ABI < 1.4); nil: the route's
    /// `path_prefix`, from the host.
    public var pathPrefix: String?
    /// How often an agent's card is fetched again.
    public var cardRefreshSeconds = 300
    /// `Cache-Control: max-age` of a served card.
    public var cardMaxAgeSeconds = 60
    /// How long an agent may take to start answering a request.
    public var requestTimeoutMilliseconds = 30_000
    /// Whether a task (and a context) is bound to the caller that created it (see ``TaskRegistry``).
    public var taskIsolation = true
    /// Tasks and contexts remembered at most, least recently used first out.
    public var maxTasks = 100_000
    /// A task not touched for this long is forgotten (then refused as unknown).
    public var taskTTLSeconds = 86_400
    /// Webhook URLs an agent may be told to call (push notifications): each must start with one
    /// of these. Empty: push notification configs are refused.
    public var pushURLPrefixes: [String] = []

    public init(agents: [A2AAgent]) { self.agents = agents }

    /// Reads the config table, given as JSON text.
    public init(json: String) throws(ConfigTableError) {
        var reader = try ConfigTableReader(table: JSONValue(Array(json.utf8)), path: "")
        guard let tables = try reader.tables("agents"), !tables.isEmpty else {
            throw ConfigTableError("'agents' must list at least one A2A agent ([[routes.handler.config.agents]] with name and url)")
        }
        pushURLPrefixes = try reader.strings("push_url_prefixes") ?? []
        for prefix in pushURLPrefixes where !(prefix.hasPrefix("https://") || prefix.hasPrefix("http://")) || prefix.count < 10 {
            throw ConfigTableError("push_url_prefixes: \"\(prefix)\" must be an http:// or https:// URL prefix (scheme and host at least)")
        }
        agents = []
        for (index, table) in tables.enumerated() {
            agents.append(try A2AAgent(table: table, path: "agents[\(index)]", routePushURLPrefixes: pushURLPrefixes))
        }
        var seen = Set<String>()
        for agent in agents where !seen.insert(agent.name).inserted {
            throw ConfigTableError("two agents are named '\(agent.name)'; agent names must be unique (each is a path segment)")
        }
        if let url = try reader.string("public_url") {
            guard url.hasPrefix("http://") || url.hasPrefix("https://") else {
                throw ConfigTableError("public_url = \"\(url)\": use the gateway's base URL, e.g. \"https://gw.example.com\"")
            }
            publicURL = url.hasSuffix("/") ? String(url.dropLast()) : url
        }
        if let prefix = try reader.string("path_prefix") {
            guard prefix.hasPrefix("/") else { throw ConfigTableError("path_prefix = \"\(prefix)\" must start with /") }
            pathPrefix = prefix.count > 1 && prefix.hasSuffix("/") ? String(prefix.dropLast()) : prefix
        }
        cardRefreshSeconds = try reader.int("card_refresh_seconds", range: 5...86_400) ?? 300
        cardMaxAgeSeconds = try reader.int("card_max_age_seconds", range: 0...86_400) ?? 60
        requestTimeoutMilliseconds = try reader.int("request_timeout_ms", range: 1...3_600_000) ?? 30_000
        taskIsolation = try reader.bool("task_isolation") ?? true
        maxTasks = try reader.int("max_tasks", range: 1...100_000_000) ?? 100_000
        taskTTLSeconds = try reader.int("task_ttl_seconds", range: 1...31_536_000) ?? 86_400
        try reader.finish()
    }

    public func agent(named name: Substring) -> A2AAgent? { agents.first { $0.name[...] == name } }
}

/// One A2A agent behind the route, served at `{prefix}/{name}/…`.
public struct A2AAgent: Sendable, Equatable {
    /// Letters, digits, `-` and `_`: a path segment.
    public var name: String
    /// The agent's base URL (where its card's well-known path is).
    public var url: String
    /// Where its card is fetched: `{url}/.well-known/agent-card.json` unless set.
    public var cardURL: String
    /// Sent to the agent on every request (a static credential, say).
    public var headers: [(String, String)] = []
    /// Client headers passed on to the agent (lower case). `A2A-Version` and `A2A-Extensions`
    /// always are; `Authorization` and `Cookie` only when listed here.
    public var forwardHeaders: [String] = []
    /// Overrides the route's `request_timeout_ms`.
    public var timeoutMilliseconds: Int?
    /// The route's `push_url_prefixes` plus this agent's own.
    public var pushURLPrefixes: [String] = []

    public init(name: String, url: String) {
        self.name = name
        self.url = url
        cardURL = url + "/.well-known/agent-card.json"
    }

    public static func == (lhs: A2AAgent, rhs: A2AAgent) -> Bool {
        lhs.name == rhs.name && lhs.url == rhs.url && lhs.cardURL == rhs.cardURL && lhs.forwardHeaders == rhs.forwardHeaders
            && lhs.headers.map(\.0) == rhs.headers.map(\.0) && lhs.headers.map(\.1) == rhs.headers.map(\.1)
            && lhs.timeoutMilliseconds == rhs.timeoutMilliseconds && lhs.pushURLPrefixes == rhs.pushURLPrefixes
    }

    init(table: JSONValue, path: String, routePushURLPrefixes: [String]) throws(ConfigTableError) {
        var reader = try ConfigTableReader(table: table, path: path)
        guard let name = try reader.string("name") else { throw ConfigTableError("\(path): 'name' is required") }
        guard !name.isEmpty, name.count <= 64, name.unicodeScalars.allSatisfy({
            $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || $0 == "-" || $0 == "_")
        }), !name.hasPrefix(".") else {
            throw ConfigTableError("\(path).name = \"\(name)\": use 1-64 ASCII letters, digits, '-' and '_' (it is a path segment)")
        }
        guard let rawURL = try reader.string("url"), rawURL.hasPrefix("http://") || rawURL.hasPrefix("https://") else {
            throw ConfigTableError("\(path): 'url' is required: the agent's base URL (http:// or https://)")
        }
        let url = rawURL.hasSuffix("/") ? String(rawURL.dropLast()) : rawURL
        self.name = name
        self.url = url
        cardURL = try reader.string("card_url") ?? url + "/.well-known/agent-card.json"
        guard cardURL.hasPrefix("http://") || cardURL.hasPrefix("https://") else {
            throw ConfigTableError("\(path).card_url must be an http:// or https:// URL")
        }
        headers = (try reader.stringTable("headers") ?? [:]).sorted { $0.key < $1.key }.map { ($0.key.lowercased(), $0.value) }
        forwardHeaders = (try reader.strings("forward_headers") ?? []).map { $0.lowercased() }
        timeoutMilliseconds = try reader.int("timeout_ms", range: 1...3_600_000)
        let own = try reader.strings("push_url_prefixes") ?? []
        for prefix in own where !(prefix.hasPrefix("https://") || prefix.hasPrefix("http://")) || prefix.count < 10 {
            throw ConfigTableError("\(path).push_url_prefixes: \"\(prefix)\" must be an http:// or https:// URL prefix (scheme and host at least)")
        }
        pushURLPrefixes = routePushURLPrefixes + own
        try reader.finish()
    }

    /// Whether the agent may be told to call `url` (a push notification webhook): it starts with
    /// an allowed prefix at a boundary (`https://hooks.example.com` allows
    /// `https://hooks.example.com/x`, not `https://hooks.example.com.evil.test/` or
    /// `https://hooks.example.com@evil.test/`).
    public func allowsPushURL(_ url: String) -> Bool {
        pushURLPrefixes.contains { prefix in
            guard url.hasPrefix(prefix) else { return false }
            if prefix.hasSuffix("/") { return true }
            let next = url.dropFirst(prefix.count).first
            return next == nil || next == "/" || next == "?" || next == "#"
        }
    }
}
