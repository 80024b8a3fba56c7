import Foundation
import JSON
import OpenAPITools
import PluginKit

/// The MCP handler's configuration (a route's `[routes.handler] config` table), checked strictly:
/// an unknown key, a wrong type or a bad value is an error that names the key.
public struct MCPRouteConfig: Sendable, Equatable {
    /// How tool and prompt names (and resource URIs) are made unique across targets.
    public enum PrefixMode: String, Sendable {
        /// Prefix only when the route has more than one target (the default).
        case conditional
        case always
        /// Never prefix; route by lookup. A name offered by two targets goes to the first, and the
        /// collision is logged.
        case never
    }

    /// What a route does when a target cannot be reached.
    public enum FailureMode: String, Sendable {
        /// Fail `initialize` and the merged lists while a target is down.
        case closed
        /// Serve from the healthy targets; the failed one is logged.
        case open
    }

    public var targets: [MCPTarget]
    public var prefix: PrefixMode = .conditional
    public var failureMode: FailureMode = .closed
    /// Issue `Mcp-Session-Id`s to handshake-era clients (false: stateless, no session header).
    public var sessions = true
    /// Whether each client session gets its own connection to a target: its own child process
    /// (stdio), its own upstream session (handshake-era HTTP and SSE; 2026-07-28 targets have no
    /// sessions). Server→client requests are then always delivered to the right client.
    public enum UpstreamSessions: String, Sendable {
        case perClient = "per-client"
        /// One connection per target for everyone: for servers that never ask clients anything.
        case shared
    }
    public var upstreamSessions = UpstreamSessions.perClient
    public var sessionTTLSeconds = 1800
    /// Sessions kept at most; past it the least recently used is dropped (its client gets 404
    /// and initializes again), so clients cannot grow memory without end.
    public var maxSessions = 10_000
    /// Items per page of a merged list; 0 = everything in one page (the default, see README).
    public var pageSize = 0
    /// How long a target may take to answer one request.
    public var requestTimeoutMilliseconds = 30_000
    /// The server name the gateway reports to clients.
    public var serverName = "agentgateway"
    /// Seconds between the SSE comments sent on a session's open GET stream, so that proxies keep
    /// it and a dead peer is noticed; 0 = none.
    public var heartbeatSeconds = 15

    /// Whether `{target}_` prefixes apply.
    public var prefixes: Bool {
        switch prefix {
        case .always: return true
        case .never: return false
        case .conditional: return targets.count > 1
        }
    }

    public init(targets: [MCPTarget]) { self.targets = targets }

    /// Reads the config table, given as JSON text. Relative paths (an `openapi` target's `spec`)
    /// resolve against `directory`; `${NAME}` in header values comes from `environment`.
    public init(json: String, directory: String = FileManager.default.currentDirectoryPath,
                environment: [String: String] = ProcessInfo.processInfo.environment) throws(ConfigTableError) {
        var reader = try ConfigTableReader(table: JSONValue(Array(json.utf8)), path: "")
        guard let targetTables = try reader.tables("targets"), !targetTables.isEmpty else {
            throw ConfigTableError("'targets' must list at least one MCP server ([[routes.handler.config.targets]])")
        }
        targets = []
        for (index, targetTable) in targetTables.enumerated() {
            targets.append(try MCPTarget(table: targetTable, path: "targets[\(index)]", directory: directory, environment: environment))
        }
        var seen = Set<String>()
        for target in targets where !seen.insert(target.name).inserted {
            throw ConfigTableError("two targets are named '\(target.name)'; target names must be unique")
        }
        if let value = try reader.string("prefix") {
            guard let mode = PrefixMode(rawValue: value) else {
                throw ConfigTableError("prefix = \"\(value)\": use \"conditional\", \"always\" or \"never\"")
            }
            prefix = mode
        }
        let snakeCase = try reader.string("failure_mode")
        let camelCase = try reader.string("failureMode")
        if let value = snakeCase ?? camelCase {
            guard let mode = FailureMode(rawValue: value) else {
                throw ConfigTableError("failure_mode = \"\(value)\": use \"closed\" or \"open\"")
            }
            failureMode = mode
        }
        sessions = try reader.bool("sessions") ?? true
        sessionTTLSeconds = try reader.int("session_ttl_seconds", range: 1...604_800) ?? 1800
        maxSessions = try reader.int("max_sessions", range: 1...10_000_000) ?? 10_000
        if let value = try reader.string("upstream_sessions") {
            guard let mode = UpstreamSessions(rawValue: value) else {
                throw ConfigTableError("upstream_sessions = \"\(value)\": use \"per-client\" or \"shared\"")
            }
            upstreamSessions = mode
        }
        pageSize = try reader.int("page_size", range: 0...100_000) ?? 0
        requestTimeoutMilliseconds = try reader.int("request_timeout_ms", range: 1...3_600_000) ?? 30_000
        serverName = try reader.string("server_name") ?? "agentgateway"
        heartbeatSeconds = try reader.int("heartbeat_seconds", range: 0...3600) ?? 15
        try reader.finish()
    }
}

/// One upstream MCP server.
public struct MCPTarget: Sendable, Equatable {
    public enum Transport: Sendable, Equatable {
        /// A child process speaking one JSON-RPC message per line.
        case stdio(command: String, arguments: [String], environment: [String: String], workingDirectory: String)
        /// The 2024-11-05 HTTP+SSE transport: GET the SSE URL, POST to the `endpoint` it names.
        case sse(url: String)
        /// Streamable HTTP.
        case http(url: String)
        /// An A2A agent: its skills are the target's tools (``A2AAgentTransport``).
        case a2a(url: String, cardURL: String?)
        /// A REST API: the operations of its OpenAPI document are the target's tools
        /// (``OpenAPITransport``).
        case openapi(OpenAPITarget)
    }

    /// Letters, digits and `-`; the prefix of the target's names.
    public var name: String
    public var transport: Transport
    /// Which protocol era to speak to an `http` target.
    public enum ProtocolChoice: String, Sendable {
        /// Probe with `server/discover`; fall back to `initialize` (the spec's era detection).
        case auto
        case handshake = "2025-11-25"
        case modern = "2026-07-28"
    }

    public var protocolChoice = ProtocolChoice.handshake
    /// Extra headers on every request to the target (e.g. a static bearer token).
    public var headers: [String: String] = [:]
    /// Client request headers copied onto this target's HTTP requests made for that client (e.g.
    /// `authorization` when the upstream should see the caller's token). None by default: MCP
    /// forbids passing a client's token through unless you mean it.
    public var forwardHeaders: [String] = []
    /// Overrides the route's `request_timeout_ms`.
    public var timeoutMilliseconds: Int?
    /// stdio targets with per-client upstream sessions: child processes started for client
    /// sessions at most (the shared one not counted); a further session's requests get an error.
    public var maxProcesses = 32

    public init(name: String, transport: Transport) {
        self.name = name
        self.transport = transport
    }

    init(table: JSONValue, path: String, directory: String, environment: [String: String]) throws(ConfigTableError) {
        var reader = try ConfigTableReader(table: table, path: path)
        guard let name = try reader.string("name") else { throw ConfigTableError("\(path): 'name' is required") }
        guard let first = name.unicodeScalars.first, first.properties.isAlphabetic, first.isASCII,
              name.unicodeScalars.allSatisfy({ $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || $0 == "-") }),
              name.count <= 32 else {
            throw ConfigTableError("\(path).name = \"\(name)\": use 1-32 ASCII letters, digits and '-', starting with a letter (it becomes the '\(name)_' prefix)")
        }
        self.name = name
        let type = try reader.string("type") ?? ""
        switch type {
        case "stdio":
            guard let command = try reader.string("command"), !command.isEmpty else {
                throw ConfigTableError("\(path): a stdio target needs 'command'")
            }
            transport = .stdio(command: command, arguments: try reader.strings("args") ?? [],
                               environment: try reader.stringTable("env") ?? [:], workingDirectory: try reader.string("cwd") ?? "")
            maxProcesses = try reader.int("max_processes", range: 1...100_000) ?? 32
        case "sse", "http":
            guard let url = try reader.string("url"), url.hasPrefix("http://") || url.hasPrefix("https://") else {
                throw ConfigTableError("\(path): a \(type) target needs 'url' (http:// or https://)")
            }
            transport = type == "sse" ? .sse(url: url) : .http(url: url)
            if type == "http" {
                let choice = try reader.string("protocol") ?? "auto"
                guard let parsed = ProtocolChoice(rawValue: choice) else {
                    throw ConfigTableError("\(path).protocol = \"\(choice)\": use \"auto\", \"2025-11-25\" or \"2026-07-28\"")
                }
                protocolChoice = parsed
            }
        case "a2a":
            guard let url = try reader.string("url"), url.hasPrefix("http://") || url.hasPrefix("https://") else {
                throw ConfigTableError("\(path): an a2a target needs 'url': the agent's base URL (http:// or https://)")
            }
            let cardURL = try reader.string("card_url")
            if let cardURL, !(cardURL.hasPrefix("http://") || cardURL.hasPrefix("https://")) {
                throw ConfigTableError("\(path).card_url must be an http:// or https:// URL")
            }
            transport = .a2a(url: url, cardURL: cardURL)
        case "openapi":
            transport = .openapi(try OpenAPITarget(&reader, path: path, directory: directory))
        default:
            throw ConfigTableError("\(path).type = \"\(type)\": use \"stdio\", \"sse\", \"http\", \"a2a\" or \"openapi\"")
        }
        for (name, value) in try reader.stringTable("headers") ?? [:] {
            headers[name] = try Self.expand(value, environment: environment, key: "\(path).headers.\(name)")
        }
        forwardHeaders = (try reader.strings("forward_headers") ?? []).map { $0.lowercased() }
        timeoutMilliseconds = try reader.int("timeout_ms", range: 1...3_600_000)
        try reader.finish()
    }

    /// `value` with each `${NAME}` replaced by that environment variable (`$${` stays `${`).
    static func expand(_ value: String, environment: [String: String], key: String) throws(ConfigTableError) -> String {
        guard value.contains("${") else { return value }
        var out = ""
        var rest = Substring(value)
        while let start = rest.range(of: "${") {
            if rest[..<start.lowerBound].hasSuffix("$") {
                out += rest[..<rest.index(before: start.lowerBound)] + "${"
                rest = rest[start.upperBound...]
                continue
            }
            out += rest[..<start.lowerBound]
            guard let end = rest[start.upperBound...].firstIndex(of: "}") else {
                throw ConfigTableError("\(key): '${' without a closing '}' in \"\(value)\"")
            }
            let name = String(rest[start.upperBound..<end])
            guard let variable = environment[name] else {
                throw ConfigTableError("\(key): the environment variable \(name) is not set (named as ${\(name)})")
            }
            out += variable
            rest = rest[rest.index(after: end)...]
        }
        return out + rest
    }
}

/// An `openapi` target: where its document is, where the API is, which operations are tools.
public struct OpenAPITarget: Sendable, Equatable {
    public enum Source: Sendable, Equatable {
        /// An absolute path, read when the configuration is loaded (and on every reload).
        case file(String)
        /// Fetched when the target starts (and again on each restart until it is read).
        case url(String)
    }

    public var source: Source
    /// Overrides the document's `servers[0]`.
    public var baseURL: String?
    public var selection: OpenAPISelection
    /// The document's tools, for a file (read with the configuration: a broken document is a
    /// config error); nil for a URL until it is fetched.
    public var catalog: OpenAPICatalog?
    /// The file as it was when `catalog` was read: a different stamp later means it changed.
    public var stamp: FileStamp?

    public init(source: Source, baseURL: String? = nil, selection: OpenAPISelection = OpenAPISelection(), catalog: OpenAPICatalog? = nil) {
        self.source = source
        self.baseURL = baseURL
        self.selection = selection
        self.catalog = catalog
        if case .file(let file) = source { stamp = FileStamp(of: file) }
    }

    init(_ reader: inout ConfigTableReader, path: String, directory: String) throws(ConfigTableError) {
        guard let spec = try reader.string("spec"), !spec.isEmpty else {
            throw ConfigTableError("\(path): an openapi target needs 'spec': the OpenAPI document's file (relative to the config) or http(s) URL")
        }
        baseURL = try reader.string("base_url")
        if let baseURL, !(baseURL.hasPrefix("http://") || baseURL.hasPrefix("https://")) {
            throw ConfigTableError("\(path).base_url = \"\(baseURL)\": use an http:// or https:// URL")
        }
        selection = OpenAPISelection(include: try reader.strings("include") ?? [], exclude: try reader.strings("exclude") ?? [])
        if spec.hasPrefix("http://") || spec.hasPrefix("https://") {
            source = .url(spec)
            return
        }
        let file = spec.hasPrefix("/") ? spec : (directory.hasSuffix("/") ? directory : directory + "/") + spec
        source = .file(file)
        stamp = FileStamp(of: file)
        catalog = try Self.read(file: file, spec: spec, selection: selection, baseURL: baseURL, path: path)
    }

    /// A file target's document read again (when it changed on disk): its catalog, or the error
    /// a config load would give.
    public func reread(path: String) throws(ConfigTableError) -> OpenAPICatalog {
        guard case .file(let file) = source else { throw ConfigTableError("\(path): the document is a URL, fetched when the target starts") }
        return try Self.read(file: file, spec: file, selection: selection, baseURL: baseURL, path: path)
    }

    private static func read(file: String, spec: String, selection: OpenAPISelection, baseURL: String?, path: String) throws(ConfigTableError) -> OpenAPICatalog {
        guard let data = FileManager.default.contents(atPath: file) else {
            throw ConfigTableError("\(path).spec = \"\(spec)\": cannot read \(file) (no such file, or not readable)")
        }
        let catalog: OpenAPICatalog
        do {
            catalog = try OpenAPICatalog.load(Array(data), source: file, selection: selection)
        } catch {
            throw ConfigTableError("\(path).spec: \(error.description)")
        }
        if catalog.tools.isEmpty {
            throw ConfigTableError("\(path).spec: \(file) has no operations the gateway can offer as tools" + (selection.include.isEmpty ? "" : " with this include/exclude"))
        }
        if baseURL == nil, catalog.baseURL(override: nil, documentURL: nil) == nil {
            throw ConfigTableError("\(path): \(file) names no absolute server URL (servers[0] is \(catalog.serverURL.map { "'\($0)'" } ?? "missing")); set base_url")
        }
        return catalog
    }
}


/// What tells a file's versions apart without reading it: its inode (an editor's rename gives a
/// new one), size and modification time (nanoseconds).
public struct FileStamp: Sendable, Equatable {
    let inode: UInt64
    let size: Int64
    let modified: Int64

    /// The file's stamp now; nil when it cannot be read.
    public init?(of path: String) {
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }
        inode = UInt64(info.st_ino)
        size = Int64(info.st_size)
        modified = Int64(info.st_mtim.tv_sec) * 1_000_000_000 + Int64(info.st_mtim.tv_nsec)
    }
}
