import Dispatch
import A2ACore
import Foundation
import JSON
import JSONRPC
import PluginKit
import Synchronization

/// The `a2a` handler: serves the A2A agents of its route under `{prefix}/{agent}/…` — their
/// cards rewritten to point at the gateway, a catalog at `{prefix}`, and every JSON-RPC and
/// HTTP+JSON request relayed to the agent (streams event by event), each published to the
/// route's filters first and checked against the caller's tasks (``TaskRegistry``).
///
/// Glue: what a request means, how a card is rewritten, which task is whose, are `A2ACore`'s.
/// This type routes, waits for cards (``AgentDirectory``), publishes, and relays
/// (`+Cards`, `+Forwarding`).
final class A2AHandler: Filter, RequestBodyFilter, @unchecked Sendable {
    static let name = "a2a"
    static let kind = FilterKind.handler

    let config: A2ARouteConfig
    let directory: AgentDirectory
    let tasks: Mutex<TaskRegistry>
    /// Requests the gateway itself refused: another caller's task, a webhook outside the allow-list.
    let refusals: Counter?
    let metrics: A2AMetrics

    init(configuration: FilterConfiguration) throws {
        do {
            config = try A2ARouteConfig(json: configuration.json)
        } catch {
            throw FilterConfiguration.Invalid(error.description)
        }
        directory = AgentDirectory(config: config, scope: configuration.scope)
        tasks = Mutex(TaskRegistry(capacity: config.maxTasks, ttl: Double(config.taskTTLSeconds)))
        metrics = A2AMetrics(configuration: configuration)
        refusals = configuration.counter(name: "agw_a2a_refused_total",
                                         help: "A2A requests the gateway refused: another caller's task or context, a push URL outside the allow-list")
    }

    func configurationEvent(_ event: PluginEvent, scope: Scope) { directory.handle(event, scope: scope) }

    static var now: Double { Date().timeIntervalSince1970 }

    // MARK: - requests

    func requestHeaders(_ stream: FilterStream, endOfStream: Bool) -> FilterStatus {
        let path = stream.attribute(.path) ?? "/"
        let prefix = stream.attribute(.routePathPrefix) ?? config.pathPrefix ?? "/"
        let method = stream.attribute(.method) ?? "GET"
        let version = A2AVersion(header: stream.header("a2a-version") ?? RESTRoute.queryValue("A2A-Version", in: path))
        let origin = config.publicURL ?? "\(stream.attribute(.scheme) ?? "http")://\(stream.attribute(.host) ?? "localhost")"
        let gatewayBase = origin + (prefix == "/" ? "" : prefix)
        let target: A2AExchange.Target
        switch GatewayPath(path: path, prefix: prefix) {
        case .outside:
            return Self.plainError(stream, status: 404, "no A2A agent at \(path.prefix { $0 != "?" })")
        case .catalog:
            guard method == "GET" || method == "HEAD" else { return Self.methodNotAllowed(stream, allow: "GET") }
            target = .catalog
        case .card(let name):
            guard let agent = config.agent(named: name[...]) else { return Self.plainError(stream, status: 404, "no A2A agent named '\(name)'") }
            guard method == "GET" || method == "HEAD" else { return Self.methodNotAllowed(stream, allow: "GET") }
            target = .card(agent)
        case .agent(let name, let rest):
            guard let agent = config.agent(named: name[...]) else { return Self.plainError(stream, status: 404, "no A2A agent named '\(name)'") }
            target = .agent(agent, rest: rest)
        }
        let exchange = A2AExchange(target: target, version: version, caller: stream.authenticatedCaller, gatewayBase: gatewayBase)
        stream.state = exchange
        switch target {
        case .catalog: return serveCatalog(stream, exchange)
        case .card: return serveCard(stream, exchange)
        case .agent: return .continue // the body (empty for GET) comes next
        }
    }

    func requestBody(_ stream: FilterStream) -> FilterStatus {
        guard let exchange = stream.state as? A2AExchange, case .agent = exchange.target, !exchange.bodyArrived else { return .stop }
        exchange.body = stream.body() ?? []
        exchange.bodyArrived = true
        return route(stream, exchange)
    }

    func event(_ event: PluginEvent, stream: FilterStream) {
        guard let exchange = stream.state as? A2AExchange else { return }
        switch (event.kind, exchange.phase) {
        case (.scheduled, .awaitingCard) where event.id == AgentDirectory.cardEventID:
            cardArrived(stream, exchange)
        case (.rpcVerdict, .awaitingVerdict):
            guard let verdict = stream.lastRPCVerdict() else { return }
            _ = decided(verdict, stream, exchange)
        case (.httpResponse, .forwarded(let call)) where event.id == call:
            agentAnswered(event, stream, exchange)
        case (.httpBody, .forwarded(let call)) where event.id == call:
            agentSent(event.data, end: event.endOfStream, stream, exchange)
        case (.httpFailed, .forwarded(let call)) where event.id == call:
            agentFailed(event, stream, exchange)
        default:
            break
        }
    }

    func streamComplete(_ stream: FilterStream) {
        guard let exchange = stream.state as? A2AExchange else { return }
        if case .forwarded(let call) = exchange.phase { stream.scope.cancelHTTPCall(call) }
        if let agent = exchange.agent, let request = exchange.request {
            let outcome = exchange.outcome ?? (exchange.answerStatus == 0 ? .abandoned : (200..<300).contains(exchange.answerStatus) ? .ok : .agentError)
            metrics.finished(agent: agent.name, method: request.method, outcome: outcome,
                             seconds: Double(DispatchTime.now().uptimeNanoseconds &- exchange.startedAt) / 1e9)
            if stream.wantsAnnotation() {
                var pairs = [("agw.a2a.agent", agent.name), ("agw.a2a.method", request.method.rawValue)]
                if let id = request.id { pairs.append(("jsonrpc.request.id", JSONRPCEnvelope.idText(id))) }
                pairs.append(("agw.a2a.outcome", outcome.rawValue))
                stream.annotate(pairs)
            }
        }
        exchange.phase = .done
        stream.state = nil
    }

    /// A card the stream waited for arrived (or its fetch failed).
    private func cardArrived(_ stream: FilterStream, _ exchange: A2AExchange) {
        switch exchange.target {
        case .catalog:
            exchange.awaitedCards -= 1
            if exchange.awaitedCards == 0 {
                exchange.awaitedCards = -1 // waited once: serve what there is
                _ = serveCatalog(stream, exchange)
            }
        case .card:
            _ = serveCard(stream, exchange)
        case .agent:
            if exchange.bodyArrived { _ = route(stream, exchange) }
        }
    }

    // MARK: - replies

    static func plainError(_ stream: FilterStream, status: Int, _ message: String) -> FilterStatus {
        _ = stream.sendLocalReply(status: status, headers: [("content-type", "application/json")],
                                  body: "{\"error\":{\"code\":\(status),\"message\":\(JSONText.quoted(message))}}")
        return .replied
    }

    static func methodNotAllowed(_ stream: FilterStream, allow: String) -> FilterStatus {
        _ = stream.sendLocalReply(status: 405, headers: [("allow", allow), ("content-type", "application/json")],
                              body: "{\"error\":{\"code\":405,\"message\":\"use \(allow)\"}}")
        return .replied
    }

    /// An error answer in the binding the request came in.
    @discardableResult
    func fail(_ stream: FilterStream, _ exchange: A2AExchange, _ error: A2AError, headers: [(String, String)] = [], status: Int? = nil) -> FilterStatus {
        exchange.phase = .done
        if exchange.outcome == nil { exchange.outcome = .gatewayError }
        if exchange.isREST {
            _ = stream.sendLocalReply(status: status ?? error.httpStatus, headers: [("content-type", "application/json")] + headers,
                                  body: String(decoding: error.restBody(), as: UTF8.self))
        } else {
            _ = stream.sendLocalReply(status: status ?? error.jsonRPCStatus, headers: [("content-type", "application/json")] + headers,
                                  body: String(decoding: error.jsonRPCBody(id: exchange.request?.id), as: UTF8.self))
        }
        return .replied
    }
}
