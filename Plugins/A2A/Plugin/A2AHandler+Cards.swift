import A2ACore
import JSON
import PluginKit

/// Cards and the catalog: each agent's card rewritten for this caller (the gateway's URLs and
/// security, only the skills the route's policies let it see), with an `ETag` and 304.
extension A2AHandler {
    /// `GET {prefix}/{agent}/.well-known/agent-card.json`.
    func serveCard(_ stream: FilterStream, _ exchange: A2AExchange) -> FilterStatus {
        guard case .card(let agent) = exchange.target else { return .stop }
        guard let card = directory.card(agent.name) else { return awaitCard(agent, stream, exchange) }
        guard isVisible(agent, stream) else { return Self.plainError(stream, status: 404, "no A2A agent named '\(agent.name)'") }
        guard let body = rewrite(card.json, of: agent, card: card, stream, exchange) else {
            return Self.plainError(stream, status: 502, "A2A agent '\(agent.name)' has no valid card")
        }
        return serveJSON(body, stream, exchange)
    }

    /// `GET {prefix}`: every agent the caller may see, with its card URL and rewritten card
    /// (or why it has none).
    func serveCatalog(_ stream: FilterStream, _ exchange: A2AExchange) -> FilterStatus {
        if case .awaitingCard = exchange.phase, exchange.awaitedCards == 0 {
            // First pass: wait once for the cards not fetched yet.
            for agent in config.agents where directory.card(agent.name) == nil {
                if let scheduler = stream.makeScheduler(), directory.awaitCard(agent.name, scheduler: scheduler) { exchange.awaitedCards += 1 }
            }
            if exchange.awaitedCards > 0 { return .stop }
        }
        var entries: [[UInt8]] = []
        for agent in config.agents where isVisible(agent, stream) {
            var members: [(String, [UInt8])] = [
                ("name", Array(JSONText.quoted(agent.name).utf8)),
                ("cardUrl", Array(JSONText.quoted(exchange.gatewayBase + "/" + agent.name + "/.well-known/agent-card.json").utf8)),
            ]
            if let card = directory.card(agent.name), let body = rewrite(card.json, of: agent, card: card, stream, exchange) {
                members.append(("card", body))
            } else {
                members.append(("error", Array(JSONText.quoted("card unavailable: " + directory.lastError(agent.name)).utf8)))
            }
            entries.append(JSONText.object(members))
        }
        exchange.awaitedCards = -1
        return serveJSON(JSONText.object([("agents", JSONText.array(entries))]), stream, exchange)
    }

    /// Waits (once) for an agent's card; 502 when it cannot be had.
    private func awaitCard(_ agent: A2AAgent, _ stream: FilterStream, _ exchange: A2AExchange) -> FilterStatus {
        if case .awaitingCard = exchange.phase, exchange.awaitedCards == 0, let scheduler = stream.makeScheduler(),
           directory.awaitCard(agent.name, scheduler: scheduler) {
            exchange.awaitedCards = 1
            return .stop
        }
        exchange.phase = .done
        return Self.plainError(stream, status: 502, "A2A agent '\(agent.name)' is unavailable: \(directory.lastError(agent.name))")
    }

    /// Whether the route's policies let this caller see the agent (a list item of `GetAgentCard`).
    func isVisible(_ agent: A2AAgent, _ stream: FilterStream) -> Bool {
        guard stream.hasRPCFilters else { return true }
        return stream.publishRPC(method: A2AMethod.getAgentCard, id: "", target: agent.name, targetKind: "agent", upstream: agent.name,
                                 params: "{}", kind: .listItem, protocol: .a2a).decision == .allow
    }

    /// A card (or extended card) for this caller.
    func rewrite(_ json: JSONValue, of agent: A2AAgent, card: AgentDirectory.Card, _ stream: FilterStream, _ exchange: A2AExchange) -> [UInt8]? {
        let filters = stream.hasRPCFilters
        let schemes = stream.bytes(forKey: IdentityKeys.securitySchemes).map { JSONValue($0) }
        let rewriter = CardRewriter(agentBaseURL: exchange.gatewayBase + "/" + agent.name, interfaces: card.interfaces,
                                    securitySchemes: schemes, keepsSkill: { skill in
            guard filters else { return true }
            return stream.publishRPC(method: A2AMethod.getAgentCard, id: "", target: skill["id"]?.string ?? "", targetKind: "skill",
                                     upstream: agent.name, params: skill.text, kind: .listItem, protocol: .a2a).decision == .allow
        })
        return rewriter.rewrite(json)
    }

    /// A JSON answer the caller may cache privately, revalidated by its `ETag`.
    private func serveJSON(_ body: [UInt8], _ stream: FilterStream, _ exchange: A2AExchange) -> FilterStatus {
        exchange.phase = .done
        let etag = CardRewriter.etag(body)
        let headers = [("content-type", "application/json"), ("etag", etag), ("cache-control", "private, max-age=\(config.cardMaxAgeSeconds)"),
                       ("vary", "authorization")]
        if let condition = stream.header("if-none-match"), CardRewriter.matches(ifNoneMatch: condition, etag: etag) {
            _ = stream.respond(status: 304, headers: headers.filter { $0.0 != "content-type" }, endOfStream: true)
            return .stop
        }
        let isHead = stream.attribute(.method) == "HEAD"
        _ = stream.respond(status: 200, headers: headers + [("content-length", String(body.count))], endOfStream: isHead)
        if !isHead { _ = stream.respondBody(body, endOfStream: true) }
        return .stop
    }
}
