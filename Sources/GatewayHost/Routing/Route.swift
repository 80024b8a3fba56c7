import NIOCore
import NIOPosix
import NIOSSL
import Synchronization

/// A configured route, ready to serve: its match, its filter chain and its terminal.
/// Immutable; shared by every event loop.
final class Route: Sendable {
    let name: String
    let listeners: [String]
    let match: RouteMatchConfig
    let filters: [FilterInstance]
    let terminal: Terminal
    let limits: Limits
    /// The chain's filters plus the handler (if any, last): everything that gets a stream context.
    let stages: [FilterInstance]
    /// The chain's state machine before a request (each exchange starts from a copy).
    let chain: FilterChain
    /// Stages whose filter implements `on_rpc_message` (handlers do not), in order.
    let rpcSubscribers: [Int]
    let stageNames: [String]
    /// What it writes to the access log (nil: nothing).
    let accessLog: AccessLogPolicy?
    /// Its request series on each listener that can route to it.
    private let requestMetrics: [(listener: String, metrics: RequestMetrics)]

    enum Terminal: Sendable {
        case backend(BackendPool)
        case handler(FilterInstance)
    }

    /// `servedBy`: the listeners whose requests can reach it (its own list, or all when it names
    /// none), for its metrics' `listener` label.
    init(name: String, listeners: [String], match: RouteMatchConfig, filters: [FilterInstance], terminal: Terminal, limits: Limits,
         servedBy: [String] = [], metrics: GatewayMetrics = ProcessWide.gatewayMetrics, accessLog: AccessLogPolicy? = nil) {
        self.name = name
        self.accessLog = accessLog
        self.listeners = listeners
        self.match = match
        self.filters = filters
        self.terminal = terminal
        self.limits = limits
        var handler: FilterInstance?
        if case .handler(let instance) = terminal { handler = instance }
        stages = filters + (handler.map { [$0] } ?? [])
        chain = FilterChain(filters: filters.map(\.hooks), handler: handler?.hooks)
        rpcSubscribers = filters.indices.filter { filters[$0].type.hooks.on_rpc_message != nil }
        stageNames = stages.map(\.instanceName)
        requestMetrics = (listeners.isEmpty ? servedBy : listeners).map { ($0, metrics.requestMetrics(listener: $0, route: name)) }
    }

    /// The series this route records requests from `listener` in (nil for a listener it does
    /// not know, as in unit tests without listeners).
    func metrics(listener: String) -> RequestMetrics? {
        for entry in requestMetrics where entry.listener == listener { return entry.metrics }
        return nil
    }
}

extension FilterInstance {
    /// Which chain hooks the filter type implements.
    var hooks: FilterChain.Hooks {
        let table = type.hooks
        return FilterChain.Hooks(requestHeaders: table.on_request_headers != nil, requestBody: table.on_request_body != nil,
                                 responseHeaders: table.on_response_headers != nil, responseBody: table.on_response_body != nil)
    }
}

/// The endpoints (URLs) of a backend, used round-robin, with a connection pool per endpoint per
/// event loop (see `ConnectionPool`).
final class BackendPool: @unchecked Sendable {
    struct Endpoint: Sendable {
        let origin: ConnectionPool.Origin
        /// Path prefix of the configured URL ("" or "/base"), prepended to the request path.
        let basePath: String
        /// `host[:port]` as the endpoint expects it in `Host`.
        let hostHeader: String
    }

    let endpoints: [Endpoint]
    /// Per endpoint, in `endpoints` order: `scheme://host:port`, and its series.
    let endpointNames: [String]
    let upstreamMetrics: [UpstreamMetrics]
    let requestTimeout: TimeAmount?
    /// Per event loop, one pool per endpoint. Each pool is touched only on its own loop.
    private let loops: [(loop: EventLoop, pools: [ConnectionPool])]
    private let next = Atomic<Int>(0)

    init(config: BackendConfig, group: EventLoopGroup, route: String = "", metrics: GatewayMetrics = ProcessWide.gatewayMetrics) throws {
        let endpoints = try config.urls.map { url -> Endpoint in
            guard let schemeEnd = url.range(of: "://") else { throw ConfigError(file: "", message: "'\(url)' has no scheme") }
            let scheme = String(url[..<schemeEnd.lowerBound]).lowercased()
            let rest = url[schemeEnd.upperBound...]
            let pathStart = rest.firstIndex(of: "/") ?? rest.endIndex
            let authority = String(rest[..<pathStart])
            var base = String(rest[pathStart...])
            while base.hasSuffix("/") { base.removeLast() }
            let defaultPort = scheme == "https" ? 443 : 80
            var host = authority
            var port = defaultPort
            if authority.hasPrefix("["), let close = authority.firstIndex(of: "]") {
                host = String(authority[authority.index(after: authority.startIndex)..<close])
                if let colon = authority[close...].firstIndex(of: ":") { port = Int(authority[authority.index(after: colon)...]) ?? defaultPort }
            } else if let colon = authority.lastIndex(of: ":") {
                host = String(authority[..<colon])
                port = Int(authority[authority.index(after: colon)...]) ?? defaultPort
            }
            return Endpoint(origin: .init(scheme: scheme, host: host, port: port), basePath: base, hostHeader: authority)
        }
        self.endpoints = endpoints
        endpointNames = endpoints.map { "\($0.origin.scheme)://\($0.hostHeader)" }
        upstreamMetrics = endpointNames.map { UpstreamMetrics(metrics: metrics, route: route, backend: $0) }
        let requestTimeout: TimeAmount? = config.requestTimeoutMilliseconds > 0 ? .milliseconds(Int64(config.requestTimeoutMilliseconds)) : nil
        self.requestTimeout = requestTimeout
        let connectTimeout = TimeAmount.milliseconds(Int64(config.connectTimeoutMilliseconds))
        let tls = endpoints.contains { $0.origin.scheme == "https" } ? try NIOSSLContext(configuration: .makeClientConfiguration()) : nil
        self.loops = group.makeIterator().map { loop in
            (loop, endpoints.map { ConnectionPool(origin: $0.origin, eventLoop: loop, connectTimeout: connectTimeout,
                                                          requestTimeout: requestTimeout, sslContext: $0.origin.scheme == "https" ? tls : nil) })
        }
    }

    /// The next endpoint's index, in round-robin order.
    func pickIndex() -> Int {
        if endpoints.count == 1 { return 0 }
        return next.wrappingAdd(1, ordering: .relaxed).oldValue % endpoints.count
    }

    /// The pool of endpoint `index` owned by `loop` (call on `loop`).
    func pool(_ index: Int, on loop: EventLoop) -> ConnectionPool {
        for entry in loops where entry.loop === loop { return entry.pools[index] }
        preconditionFailure("event loop not in the gateway's group")
    }

    /// Closes idle backend connections.
    func shutdown() async {
        for entry in loops {
            let pools = entry.pools
            try? await entry.loop.submit { pools.forEach { $0.closeAll() } }.get()
        }
    }
}
