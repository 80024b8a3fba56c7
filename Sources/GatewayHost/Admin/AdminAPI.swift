import Foundation
import NIOCore
import NIOHTTP1
import Prometheus

/// What the admin listener answers, one request at a time (`AdminHandler` is the HTTP glue):
///
/// | | |
/// |---|---|
/// | `GET /metrics` | Prometheus text format |
/// | `GET /healthz` | `ok` |
/// | `GET /config` | the running configuration as TOML, secrets redacted (`ConfigRedactor`) |
/// | `PUT /config` | a TOML body applied as the new configuration (`?dry_run=true`: validated only); answers the `ReloadRecord` as JSON, 200 or 400 |
/// | `POST /config/reload` | the config file read again, as `SIGHUP` does |
/// | `GET /config/generations` | recent changes: when, from which source, the result |
///
/// The `/config` endpoints answer loopback clients only, unless `[admin] token_file` names a
/// file with a bearer token; then they answer whoever presents it, and nobody else.
struct AdminAPI: Sendable {
    struct Request: Sendable {
        var method: HTTPMethod
        var uri: String
        var authorization: String?
        var body: ByteBuffer?
        var peer: SocketAddress?
    }

    struct Response: Sendable {
        var status: HTTPResponseStatus
        var contentType = "text/plain; charset=utf-8"
        var body: [UInt8]
        var headers: [(String, String)] = []

        static func text(_ status: HTTPResponseStatus, _ text: String) -> Response {
            Response(status: status, body: Array(text.utf8))
        }

        static func json(_ status: HTTPResponseStatus, _ object: Any) -> Response {
            let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data("{}".utf8)
            return Response(status: status, contentType: "application/json", body: Array(data) + [0x0A])
        }
    }

    /// The largest `PUT /config` body.
    static let maxBodyBytes = 4 * 1024 * 1024

    let metrics: PrometheusCollectorRegistry
    /// Writes the gateway's own histograms after the registry's metrics.
    var catalog: MetricCatalog = ProcessWide.metricCatalog
    let live: LiveRuntime
    let reloader: ConfigReloader

    func respond(_ request: Request) async -> Response {
        let parts = request.uri.split(separator: "?", maxSplits: 1)
        let path = parts.first.map(String.init) ?? "/"
        let query = parts.count > 1 ? String(parts[1]) : ""
        switch (request.method, path) {
        case (.GET, "/metrics"):
            var bytes = metrics.emitToBuffer()
            if let last = bytes.last, last != UInt8(ascii: "\n") { bytes.append(UInt8(ascii: "\n")) }
            catalog.emitHistograms(into: &bytes)
            bytes.append(contentsOf: Array(("# HELP agw_requests_in_flight Requests being served, over all generations\n"
                + "# TYPE agw_requests_in_flight gauge\nagw_requests_in_flight \(live.requestsInFlight)\n"
                + "# HELP agw_config_generations_draining Replaced generations still finishing their requests\n"
                + "# TYPE agw_config_generations_draining gauge\nagw_config_generations_draining \(live.drainingGenerations.count)\n").utf8))
            return Response(status: .ok, contentType: "text/plain; version=0.0.4", body: bytes)
        case (.GET, "/healthz"):
            return .text(.ok, "ok\n")
        case (_, "/config"), (_, "/config/reload"), (_, "/config/generations"):
            if let refusal = Self.refusal(authorization: request.authorization, peer: request.peer,
                                          tokenFile: live.runtime.config.admin?.tokenFile) { return refusal }
            return await config(request, path: path, query: query)
        default:
            return .text(.notFound, "admin endpoints: /metrics, /healthz, /config, /config/reload, /config/generations\n")
        }
    }

    private func config(_ request: Request, path: String, query: String) async -> Response {
        switch (request.method, path) {
        case (.GET, "/config"):
            var response = Response.text(.ok, await reloader.redactedRunningText)
            response.contentType = "application/toml"
            response.headers = [("x-agw-generation", String(live.runtime.generation))]
            return response
        case (.PUT, "/config"):
            let text = request.body.map { String(buffer: $0) } ?? ""
            guard !text.isEmpty else { return .json(.badRequest, ["error": "PUT /config needs the whole configuration as a TOML body"]) }
            let dryRun = query.split(separator: "&").contains { $0 == "dry_run=true" || $0 == "dry_run=1" || $0 == "dry_run" }
            return answer(await reloader.reload(from: .admin, text: text, dryRun: dryRun))
        case (.POST, "/config/reload"):
            return answer(await reloader.reload(from: .admin))
        case (.GET, "/config/generations"):
            let records = await reloader.records
            return .json(.ok, ["current": live.runtime.generation, "draining": live.drainingGenerations.map(\.generation).sorted(),
                               "changes": records.reversed().map(\.json)])
        default:
            let allowed = path == "/config" ? "GET, PUT" : path == "/config/reload" ? "POST" : "GET"
            var response = Response.text(.methodNotAllowed, "\(path) allows \(allowed)\n")
            response.headers = [("allow", allowed)]
            return response
        }
    }

    private func answer(_ record: ReloadRecord) -> Response {
        .json(record.result == .rejected ? .badRequest : .ok, record.json)
    }

    /// Why the config endpoints do not answer this caller, or nil when they do.
    static func refusal(authorization: String?, peer: SocketAddress?, tokenFile: String?) -> Response? {
        if let tokenFile {
            guard let token = try? String(contentsOfFile: tokenFile, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines),
                  !token.isEmpty else {
                return .text(.serviceUnavailable, "the admin token file \(tokenFile) cannot be read or is empty\n")
            }
            guard let presented = authorization, constantTimeEqual(presented, "Bearer \(token)") else {
                var response = Response.text(.unauthorized, "the config endpoints need 'authorization: Bearer <the token in [admin] token_file>'\n")
                response.headers = [("www-authenticate", "Bearer realm=\"agentgateway-admin\"")]
                return response
            }
            return nil
        }
        guard let peer, isLoopback(peer) else {
            return .text(.forbidden, "the config endpoints answer loopback clients only; set [admin] token_file to allow others\n")
        }
        return nil
    }

    static func isLoopback(_ address: SocketAddress) -> Bool {
        guard let ip = address.ipAddress else { return address.protocol == .unix }
        return ip.hasPrefix("127.") || ip == "::1" || ip.hasPrefix("::ffff:127.")
    }

    static func constantTimeEqual(_ a: String, _ b: String) -> Bool {
        let x = Array(a.utf8), y = Array(b.utf8)
        guard x.count == y.count else { return false }
        return zip(x, y).reduce(0) { $0 | ($1.0 ^ $1.1) } == 0
    }
}
