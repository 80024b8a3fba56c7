import Foundation

/// The whole gateway configuration, decoded from TOML. Every field has a default.
struct GatewayConfig: Sendable {
    /// Where plugins named without `path` are looked up (`lib<name>.so`, then `<name>.so`).
    /// Relative paths resolve against the config file's directory. Default: the directory of the
    /// `agentgateway` executable, where the built-in plugins are built.
    var pluginDirectory: String?
    /// How long SIGTERM waits for in-flight requests before closing connections.
    var drainTimeoutSeconds: Double = 30
    /// Event loop threads; 0 = one per core (NIO's count, which ignores CPU affinity). Read at
    /// startup only.
    var eventLoops = 0
    /// Reload when the config file changes on disk (inotify). SIGHUP reloads either way.
    var watchConfig = true
    /// Size limits applied to every listener.
    var limits = Limits()
    /// Optional admin listener: `/metrics` (Prometheus), `/healthz` and the config API.
    var admin: AdminConfig?
    /// Optional control plane that adds listeners, routes and plugins over xDS. Read at startup.
    var xds: XDSConfig?
    /// `[access_log]`: one JSON line per request (nil: none).
    var accessLog: AccessLogConfig?
    /// `[tracing]`: OpenTelemetry spans exported over OTLP (nil: none). Read at startup.
    var tracing: TracingConfig?
    var listeners: [ListenerConfig] = []
    var plugins: [PluginConfig] = []
    var routes: [RouteConfig] = []
    /// The config file's directory (absolute); plugins resolve relative paths of their own
    /// tables against it (`config_directory`). The working directory for a config given as text.
    var directory = FileManager.default.currentDirectoryPath
}

/// Request size limits (exceeding one gets 414, 431 or 413 and a log line) and what is never
/// buffered.
struct Limits: Sendable, Equatable {
    /// Bytes of an HTTP/1 request line (method, target, version): a longer target gets 414.
    var maxRequestLineBytes = 8 * 1024
    /// Total bytes of request header names and values (431).
    var maxRequestHeaderBytes = 64 * 1024
    /// Request header fields (431).
    var maxRequestHeaders = 100
    /// Bytes of a request body (streamed or buffered).
    var maxRequestBodyBytes = 16 * 1024 * 1024
    /// Bytes of a response body that a filter asks to buffer (`on_response_body`).
    var maxBufferedResponseBytes = 16 * 1024 * 1024
    /// Media types of responses that are streamed to the client as they come, never buffered for
    /// `on_response_body` (so events are not held back). A response that says
    /// `x-accel-buffering: no` is streamed too, whatever its type.
    var streamedContentTypes = ["text/event-stream"]
}

struct AdminConfig: Sendable, Equatable {
    var address: SocketAddressSpec
    /// A file holding the bearer token the `/config` endpoints require; without one they answer
    /// loopback clients only.
    var tokenFile: String?
}

/// `[xds]`: the bootstrap for a control plane (aggregated discovery over gRPC, plaintext HTTP/2).
struct XDSConfig: Sendable, Equatable {
    var address: SocketAddressSpec
    /// The gateway's identity for the control plane (`Node.id`, `Node.cluster`).
    var nodeID: String
    var cluster = ""
    /// Incremental (delta) xDS; false: state of the world.
    var delta = true
    /// Reconnect backoff: doubles from the first to the last, with jitter.
    var initialBackoffMilliseconds = 500
    var maxBackoffMilliseconds = 30_000
}

/// `host:port`; `port` 0 picks a free port (the bound address is logged).
struct SocketAddressSpec: Sendable, Hashable, CustomStringConvertible {
    var host: String
    var port: Int
    var description: String { "\(host):\(port)" }
}

struct ListenerConfig: Sendable, Equatable {
    var name: String
    var address: SocketAddressSpec
    var tls: TLSConfig?
    var timeouts = ListenerTimeouts()
    /// Open connections the listener keeps; past it a new connection is answered 503 and
    /// closed. nil: the open-file limit less a reserve (``ConnectionLimits``).
    var maxConnections: Int?
    /// Open connections one client address may have (0: no limit).
    var maxConnectionsPerClient = 0
}

/// TLS for a listener: PEM files. With `clientCA` set, clients must present a certificate it signed.
struct TLSConfig: Sendable, Equatable {
    var certificatePath: String
    var privateKeyPath: String
    var clientCAPath: String?
    /// Offer HTTP/2 through ALPN (default true). HTTP/1.1 is always offered.
    var http2 = true
}

/// A plugin image to load, named so routes can refer to it.
struct PluginConfig: Sendable, Equatable {
    var name: String
    /// Path to the `.so`; nil means look it up in the plugin directory by name.
    var path: String?
}

struct RouteConfig: Sendable, Equatable {
    var name: String
    /// Listener names this route serves; empty = all.
    var listeners: [String] = []
    var match = RouteMatchConfig()
    var filters: [FilterConfig] = []
    var terminal: TerminalConfig
    /// `[routes.access_log]`: the route's own access-log settings over `[access_log]`'s.
    var accessLog: AccessLogConfig?
}

struct RouteMatchConfig: Sendable, Equatable {
    /// Exact host (port ignored), or `*.example.com`.
    var host: String?
    var pathPrefix: String?
    var path: String?
    var methods: [String] = []
    /// Header name → exact value; all must match.
    var headers: [String: String] = [:]
}

/// One filter in a route's chain: a plugin's filter type and its config table (as JSON).
struct FilterConfig: Sendable, Equatable {
    /// `plugin` (its first filter type) or `plugin.type`.
    var plugin: String
    var configJSON: String
}

enum TerminalConfig: Sendable, Equatable {
    case backend(BackendConfig)
    case handler(FilterConfig)
}

/// An HTTP upstream: one or more base URLs, used round-robin.
struct BackendConfig: Sendable, Equatable {
    var urls: [String]
    var connectTimeoutMilliseconds = 2_000
    /// Time until the upstream's response head arrives. 0 = none.
    var requestTimeoutMilliseconds = 30_000
}
