import Atomics
import NIOHTTP1
import Prometheus

/// The host's own metric families (the README's metrics reference lists the same), defined once
/// at startup. Routes, listeners, backends and filter instances resolve their series from these
/// when they are built, so a request records through handles it already holds.
final class GatewayMetrics: Sendable {
    let catalog: MetricCatalog

    let requests: MetricCatalog.Family
    let requestDuration: MetricCatalog.Family
    let requestBytes: MetricCatalog.Family
    let responseBytes: MetricCatalog.Family
    let connectionsActive: MetricCatalog.Family
    let connections: MetricCatalog.Family
    let tlsHandshakeFailures: MetricCatalog.Family
    let connectionTimeouts: MetricCatalog.Family
    let connectionsRefused: MetricCatalog.Family
    let acceptErrors: MetricCatalog.Family
    let upstreamDuration: MetricCatalog.Family
    let upstreamConnectFailures: MetricCatalog.Family
    let hookDuration: MetricCatalog.Family

    init(catalog: MetricCatalog) {
        self.catalog = catalog
        func define(_ kind: MetricCatalog.Kind, _ name: String, _ help: String, _ labels: [String]) -> MetricCatalog.Family {
            do { return try catalog.define(kind, name: name, help: help, labels: labels) } catch { preconditionFailure(error.description) }
        }
        requests = define(.counter, "agw_http_requests_total", "HTTP requests answered, by method and status class (status_class none: the client left first)",
                          ["listener", "route", "method", "status_class"])
        requestDuration = define(.histogram, "agw_http_request_duration_seconds", "Time from the request head to the end of the response",
                                 ["listener", "route"])
        requestBytes = define(.counter, "agw_http_request_body_bytes_total", "Request body bytes received", ["listener", "route"])
        responseBytes = define(.counter, "agw_http_response_body_bytes_total", "Response body bytes sent", ["listener", "route"])
        connectionsActive = define(.gauge, "agw_http_connections_active", "Open client connections", ["listener", "protocol"])
        connections = define(.counter, "agw_http_connections_total", "Client connections accepted", ["listener", "protocol"])
        tlsHandshakeFailures = define(.counter, "agw_tls_handshake_failures_total", "TLS handshakes with clients that failed", ["listener"])
        connectionTimeouts = define(.counter, "agw_http_connection_timeouts_total",
                                    "Client connections ended by a timeout: request_head and request_body (answered 408), idle, tls_handshake, http2_idle, http2_ping",
                                    ["listener", "timeout"])
        connectionsRefused = define(.counter, "agw_http_connections_refused_total",
                                    "Client connections refused at accept because a limit was reached (max_connections, max_connections_per_client)",
                                    ["listener", "limit"])
        acceptErrors = define(.counter, "agw_http_accept_errors_total", "Errors accepting client connections (EMFILE: out of file descriptors)",
                              ["listener", "error"])
        upstreamDuration = define(.histogram, "agw_upstream_request_duration_seconds",
                                  "Proxied requests: time from sending the request to the end of the upstream's response", ["route", "backend"])
        upstreamConnectFailures = define(.counter, "agw_upstream_connect_failures_total", "Proxied requests that could not connect to the upstream",
                                         ["route", "backend"])
        hookDuration = define(.histogram, "agw_plugin_hook_duration_seconds", "Time spent in one call of a plugin hook, per filter instance and hook",
                              ["filter", "hook"])
    }

    /// The series one route records on one listener.
    func requestMetrics(listener: String, route: String) -> RequestMetrics {
        RequestMetrics(metrics: self, listener: listener, route: route)
    }
}

/// One route's request series on one listener: requests by method and status class (each
/// series created on first use, lock-free after), duration and bytes.
final class RequestMetrics: Sendable {
    let duration: AtomicHistogram
    let requestBytes: Counter
    let responseBytes: Counter
    private let requests: LazySeries<Counter>
    private let labels: (catalog: MetricCatalog, family: MetricCatalog.Family, listener: String, route: String)

    /// The methods that get their own label value; any other is `other`.
    static let methods: [HTTPMethod] = [.GET, .HEAD, .POST, .PUT, .DELETE, .PATCH, .OPTIONS, .CONNECT, .TRACE]
    static let statusClasses = ["1xx", "2xx", "3xx", "4xx", "5xx", "none"]

    init(metrics: GatewayMetrics, listener: String, route: String) {
        let catalog = metrics.catalog
        duration = catalog.histogram(metrics.requestDuration, listener, route)
        requestBytes = catalog.counter(metrics.requestBytes, listener, route)
        responseBytes = catalog.counter(metrics.responseBytes, listener, route)
        requests = LazySeries(count: (Self.methods.count + 1) * Self.statusClasses.count)
        labels = (catalog, metrics.requests, listener, route)
    }

    /// `method`'s place in ``methods`` (``methods``'s count for any other): a switch, where
    /// `firstIndex(of:)` compares `HTTPMethod`s through their raw strings (~480 instructions).
    static func index(of method: HTTPMethod) -> Int {
        switch method {
        case .GET: 0
        case .HEAD: 1
        case .POST: 2
        case .PUT: 3
        case .DELETE: 4
        case .PATCH: 5
        case .OPTIONS: 6
        case .CONNECT: 7
        case .TRACE: 8
        default: methods.count
        }
    }

    /// Counts one answered request. `status` 0: none was sent (the client left).
    func count(method: HTTPMethod, status: Int) {
        let methodIndex = Self.index(of: method)
        let classIndex = (100...599).contains(status) ? status / 100 - 1 : Self.statusClasses.count - 1
        requests.get(methodIndex * Self.statusClasses.count + classIndex) {
            let name = methodIndex < Self.methods.count ? Self.methods[methodIndex].rawValue : "other"
            return labels.catalog.counter(labels.family, labels.listener, labels.route, name, Self.statusClasses[classIndex])
        }.increment()
    }
}

/// A listener's connection series.
final class ListenerMetrics: Sendable {
    let active: (h1: Gauge, h2: Gauge)
    let accepted: (h1: Counter, h2: Counter)
    let tlsHandshakeFailures: Counter
    private let timeoutCounters: [Counter]
    private let refusals: (listener: Counter, client: Counter)
    private let acceptErrorFamily: (catalog: MetricCatalog, family: MetricCatalog.Family, listener: String)

    init(metrics: GatewayMetrics, listener: String) {
        let catalog = metrics.catalog
        active = (catalog.gauge(metrics.connectionsActive, listener, "h1"), catalog.gauge(metrics.connectionsActive, listener, "h2"))
        accepted = (catalog.counter(metrics.connections, listener, "h1"), catalog.counter(metrics.connections, listener, "h2"))
        tlsHandshakeFailures = catalog.counter(metrics.tlsHandshakeFailures, listener)
        timeoutCounters = ConnectionTimeoutKind.allCases.map { catalog.counter(metrics.connectionTimeouts, listener, $0.rawValue) }
        refusals = (catalog.counter(metrics.connectionsRefused, listener, "max_connections"),
                    catalog.counter(metrics.connectionsRefused, listener, "max_connections_per_client"))
        acceptErrorFamily = (catalog, metrics.acceptErrors, listener)
    }

    func timeout(_ kind: ConnectionTimeoutKind) -> Counter { timeoutCounters[ConnectionTimeoutKind.allCases.firstIndex(of: kind)!] }

    func refused(_ refusal: ConnectionGate.Refusal) -> Counter {
        if case .listenerFull = refusal { return refusals.listener }
        return refusals.client
    }

    func acceptError(_ reason: String) -> Counter {
        acceptErrorFamily.catalog.counter(acceptErrorFamily.family, acceptErrorFamily.listener, reason)
    }
}

/// What a client connection timed out on (the `timeout` label).
enum ConnectionTimeoutKind: String, CaseIterable, Sendable {
    case requestHead = "request_head"
    case requestBody = "request_body"
    case idle
    case tlsHandshake = "tls_handshake"
    case http2Idle = "http2_idle"
    case http2Ping = "http2_ping"
}

/// One backend endpoint's series on one route.
final class UpstreamMetrics: Sendable {
    let duration: AtomicHistogram
    let connectFailures: Counter

    init(metrics: GatewayMetrics, route: String, backend: String) {
        duration = metrics.catalog.histogram(metrics.upstreamDuration, route, backend)
        connectFailures = metrics.catalog.counter(metrics.upstreamConnectFailures, route, backend)
    }
}

/// The hook-duration series of one filter instance, one per hook kind, created on first use.
final class HookMetrics: Sendable {
    enum Hook: Int, CaseIterable, Sendable {
        case streamNew, requestHeaders, requestBody, responseHeaders, responseBody, rpcMessage, event, streamComplete

        var label: String {
            switch self {
            case .streamNew: "stream_new"
            case .requestHeaders: "request_headers"
            case .requestBody: "request_body"
            case .responseHeaders: "response_headers"
            case .responseBody: "response_body"
            case .rpcMessage: "rpc_message"
            case .event: "event"
            case .streamComplete: "stream_complete"
            }
        }
    }

    private let series = LazySeries<AtomicHistogram>(count: Hook.allCases.count)
    private let labels: (catalog: MetricCatalog, family: MetricCatalog.Family, filter: String)

    init(metrics: GatewayMetrics, filter: String) {
        labels = (metrics.catalog, metrics.hookDuration, filter)
    }

    func record(_ hook: Hook, nanoseconds: Int64) {
        series.get(hook.rawValue) { labels.catalog.histogram(labels.family, labels.filter, hook.label) }
            .record(Double(nanoseconds) / 1e9)
    }
}

/// A fixed number of series slots, each created on first use and read without a lock after.
final class LazySeries<Series: AnyObject & Sendable>: Sendable {
    private let slots: [ManagedAtomicLazyReference<Series>]

    init(count: Int) { slots = (0..<count).map { _ in ManagedAtomicLazyReference() } }

    @inline(__always)
    func get(_ index: Int, make: () -> Series) -> Series {
        if let series = slots[index].load() { return series }
        return slots[index].storeIfNilThenLoad(make())
    }
}
