import A2ACore
import Foundation
import JSON
import PluginKit
import Synchronization

/// The agents' cards, shared by streams on every event loop: fetched on the configuration's
/// home loop when the route loads, again every `card_refresh_seconds`, and soon after a request
/// to the agent failed. A stream that needs a card not fetched yet waits for the one fetch in
/// flight (a scheduler event), never for more; a card that cannot be fetched is retried at most
/// every two seconds, and meanwhile requests get its last error at once.
final class AgentDirectory: @unchecked Sendable {
    /// One agent's card as fetched.
    struct Card {
        var json: JSONValue
        var interfaces: AgentInterfaces
    }

    private struct Entry {
        var card: Card?
        var lastError: String?
        var wanted = false
        var fetching = false
        var lastAttempt = -Double.infinity
        var waiters: [Scheduler] = []
    }

    private let config: A2ARouteConfig
    private let entries: Mutex<[String: Entry]>
    private let home: Scheduler?
    /// Home loop only: the fetch in flight per call id.
    private var calls: [UInt64: String] = [:]

    static let fetchEventID: UInt64 = 1
    /// What a waiting stream receives when the card it waits for was fetched (or failed).
    static let cardEventID: UInt64 = 0x4341_5244 // "CARD"
    static let retryInterval = 2.0

    init(config: A2ARouteConfig, scope: Scope) {
        self.config = config
        entries = Mutex(Dictionary(uniqueKeysWithValues: config.agents.map { ($0.name, Entry(wanted: true)) }))
        home = scope.makeScheduler()
        home?.post(Self.fetchEventID)
        _ = scope.startTimer(milliseconds: UInt32(config.cardRefreshSeconds * 1000))
    }

    private static var now: Double { Date().timeIntervalSince1970 }

    /// The agent's card, if one was fetched (the last good one while a refresh fails).
    func card(_ agent: String) -> Card? { entries.withLock { $0[agent]?.card } }

    /// Why the agent's card is not available.
    func lastError(_ agent: String) -> String { entries.withLock { $0[agent]?.lastError } ?? "its card has not been fetched yet" }

    /// Registers `scheduler` to hear when the agent's card arrives, and asks for a fetch. False
    /// when the last attempt failed less than ``retryInterval`` ago (answer with ``lastError(_:)``).
    func awaitCard(_ agent: String, scheduler: Scheduler) -> Bool {
        let wait = entries.withLock { entries -> Bool in
            guard var entry = entries[agent] else { return false }
            if entry.card == nil, !entry.fetching, Self.now - entry.lastAttempt < Self.retryInterval { return false }
            entry.waiters.append(scheduler)
            entry.wanted = true
            entries[agent] = entry
            return true
        }
        if wait { home?.post(Self.fetchEventID) }
        return wait
    }

    /// A request to the agent failed: fetch its card again soon (it may have moved or changed).
    func refresh(_ agent: String) {
        entries.withLock { $0[agent]?.wanted = true }
        home?.post(Self.fetchEventID)
    }

    // MARK: - the home loop

    /// The configuration's events: fetch requests, the refresh timer, the fetches' answers.
    func handle(_ event: PluginEvent, scope: Scope) {
        switch event.kind {
        case .scheduled where event.id == Self.fetchEventID:
            startWantedFetches(scope)
        case .timer:
            entries.withLock { entries in for name in entries.keys { entries[name]?.wanted = true } }
            startWantedFetches(scope)
            _ = scope.startTimer(milliseconds: UInt32(config.cardRefreshSeconds * 1000))
        case .httpResponse:
            guard let agent = calls.removeValue(forKey: event.id) else { return }
            received(agent, status: Int(event.code), body: event.data, scope: scope)
        case .httpFailed:
            guard let agent = calls.removeValue(forKey: event.id) else { return }
            finish(agent, card: nil, error: "cannot fetch its card: \(event.text)", scope: scope)
        default:
            break
        }
    }

    private func startWantedFetches(_ scope: Scope) {
        let due = entries.withLock { entries -> [String] in
            var due: [String] = []
            for (name, entry) in entries where entry.wanted && !entry.fetching {
                entries[name]?.wanted = false
                entries[name]?.fetching = true
                entries[name]?.lastAttempt = Self.now
                due.append(name)
            }
            return due
        }
        for name in due {
            guard let agent = config.agents.first(where: { $0.name == name }) else { continue }
            let headers = [("accept", "application/json")] + agent.headers
            if let call = scope.httpCall(method: "GET", url: agent.cardURL, headers: headers,
                                         timeoutMilliseconds: UInt32(min(agent.timeoutMilliseconds ?? config.requestTimeoutMilliseconds, 10_000))) {
                calls[call] = name
            } else {
                finish(name, card: nil, error: "the gateway cannot call \(agent.cardURL)", scope: scope)
            }
        }
    }

    private func received(_ agent: String, status: Int, body: [UInt8], scope: Scope) {
        guard status == 200 else {
            finish(agent, card: nil, error: "its card URL answered HTTP \(status)", scope: scope)
            return
        }
        let json: JSONValue
        do {
            json = try JSONValue.validated(body)
        } catch {
            finish(agent, card: nil, error: "its card is not JSON (\(error.reason))", scope: scope)
            return
        }
        guard json.members != nil, json["name"] != nil else {
            finish(agent, card: nil, error: "its card is not an agent card (no name)", scope: scope)
            return
        }
        let interfaces = AgentInterfaces(card: json)
        guard !interfaces.interfaces.isEmpty else {
            finish(agent, card: nil, error: "its card offers no JSON-RPC or HTTP+JSON interface the gateway can proxy", scope: scope)
            return
        }
        for skipped in interfaces.skipped {
            scope.log(.info, "a2a: agent '\(agent)': interface \(skipped) is not proxied (the gateway speaks JSON-RPC and HTTP+JSON)")
        }
        finish(agent, card: Card(json: json, interfaces: interfaces), error: nil, scope: scope)
    }

    private func finish(_ agent: String, card: Card?, error: String?, scope: Scope) {
        let (waiters, hadCard) = entries.withLock { entries -> ([Scheduler], Bool) in
            guard var entry = entries[agent] else { return ([], false) }
            let hadCard = entry.card != nil
            entry.fetching = false
            if let card {
                entry.card = card
                entry.lastError = nil
            } else {
                entry.lastError = error
            }
            let waiters = entry.waiters
            entry.waiters = []
            entries[agent] = entry
            return (waiters, hadCard)
        }
        if let error { scope.log(hadCard ? .warning : .error, "a2a: agent '\(agent)': \(error)\(hadCard ? "; serving its last card" : "")") }
        for waiter in waiters { waiter.post(Self.cardEventID) }
    }
}
