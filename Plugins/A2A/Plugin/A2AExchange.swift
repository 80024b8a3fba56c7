import A2ACore
import Dispatch
import PluginKit
import SSE

/// One client request on an A2A route, while the handler works on it (the stream's state).
final class A2AExchange {
    enum Target {
        case catalog
        case card(A2AAgent)
        case agent(A2AAgent, rest: String)
    }

    enum Phase {
        /// Waiting for an agent's card (the catalog waits for every card still missing).
        case awaitingCard
        /// Filters are deciding the published message.
        case awaitingVerdict
        /// The request is at the agent; `call` is the HTTP call.
        case forwarded(call: UInt64)
        case done
    }

    let target: Target
    let version: A2AVersion
    /// The authenticated caller (``IdentityKeys/caller(method:subject:)``), nil when anonymous.
    let caller: String?
    /// `https://gw.example.com` and the route's mount point, for the URLs in cards.
    let gatewayBase: String
    var phase = Phase.awaitingCard
    var body: [UInt8] = []
    var bodyArrived = false
    var request: A2ARequest?
    var interface: AgentInterfaces.Interface?
    /// The path after the interface's base (REST), query included.
    var suffix = ""
    /// Cards the catalog still waits for.
    var awaitedCards = 0

    // The agent's answer.
    var answerStatus = 0
    var answerContentType = "application/json"
    var streaming = false
    var answer: [UInt8] = []
    var events = SSEDecoder()

    /// When the request arrived (monotonic nanoseconds), and how it ended once known.
    let startedAt = DispatchTime.now().uptimeNanoseconds
    var outcome: A2AMetrics.Outcome?

    init(target: Target, version: A2AVersion, caller: String?, gatewayBase: String) {
        self.target = target
        self.version = version
        self.caller = caller
        self.gatewayBase = gatewayBase
    }

    var agent: A2AAgent? {
        switch target {
        case .catalog: return nil
        case .card(let agent), .agent(let agent, _): return agent
        }
    }

    /// How errors are answered: JSON-RPC unless the request came in on an HTTP+JSON interface.
    var isREST: Bool {
        if let interface { return interface.binding == .rest }
        if case .rest = request?.binding { return true }
        return false
    }
}
