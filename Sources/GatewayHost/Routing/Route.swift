import AsyncHTTPClient
import NIOCore
import NIOPosix
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
    /// Some filter (or the handler) implements `on_request_body`: buffer the request body.
    let buffersRequestBody: Bool
    /// Some filter implements `on_response_body`: buffer the response body (except SSE).
    let buffersResponseBody: Bool

    enum Terminal: Sendable {
        case backend(BackendPool)
        case handler(FilterInstance)
    }

    init(name: String, listeners: [String], match: RouteMatchConfig, filters: [FilterInstance], terminal: Terminal, limits: Limits) {
        self.name = name
        self.listeners = listeners
        self.match = match
        self.filters = filters
        self.terminal = terminal
        self.limits = limits
        var buffersRequest = filters.contains { $0.type.hooks.on_request_body != nil }
        if case .handler = terminal { buffersRequest = true }
        self.buffersRequestBody = buffersRequest
        self.buffersResponseBody = filters.contains { $0.type.hooks.on_response_body != nil }
    }

    /// The chain's filters plus the handler (if any): everything that gets a stream context.
    var stages: [FilterInstance] {
        if case .handler(let handler) = terminal { return filters + [handler] }
        return filters
    }
}

/// The upstream URLs of a backend, used round-robin.
final class BackendPool: Sendable {
    struct Upstream: Sendable {
        /// `http://host:port` without a trailing slash.
        let origin: String
        /// Path prefix of the configured URL ("" or "/base"), prepended to the request path.
        let basePath: String
    }

    let upstreams: [Upstream]
    let requestTimeout: TimeAmount?
    /// A pooled client of its own, so the connect timeout is this backend's.
    let client: HTTPClient
    private let next = Atomic<Int>(0)

    init(config: BackendConfig) {
        self.upstreams = config.urls.map { url in
            let schemeEnd = url.range(of: "://")!.upperBound
            let pathStart = url[schemeEnd...].firstIndex(of: "/") ?? url.endIndex
            var base = String(url[pathStart...])
            while base.hasSuffix("/") { base.removeLast() }
            return Upstream(origin: String(url[..<pathStart]), basePath: base)
        }
        var configuration = HTTPClient.Configuration(redirectConfiguration: .disallow,
                                                     timeout: .init(connect: .milliseconds(Int64(config.connectTimeoutMilliseconds))))
        configuration.connectionPool.retryConnectionEstablishment = false
        configuration.connectionPool.concurrentHTTP1ConnectionsPerHostSoftLimit = 1024
        self.client = HTTPClient(eventLoopGroupProvider: .shared(MultiThreadedEventLoopGroup.singleton), configuration: configuration)
        self.requestTimeout = config.requestTimeoutMilliseconds > 0 ? .milliseconds(Int64(config.requestTimeoutMilliseconds)) : nil
    }

    func shutdown() async { try? await client.shutdown() }

    /// The next upstream in round-robin order.
    func pick() -> Upstream {
        if upstreams.count == 1 { return upstreams[0] }
        let index = next.wrappingAdd(1, ordering: .relaxed).oldValue
        return upstreams[index % upstreams.count]
    }
}
