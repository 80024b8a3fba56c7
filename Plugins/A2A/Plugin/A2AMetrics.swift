import A2ACore
import Dispatch
import PluginKit

/// One A2A route's metrics (labelled metrics, ABI 1.5; a host before it records none). Agents
/// come from the route's config and methods from ``A2AMethod``, so every label set is bounded.
final class A2AMetrics: Sendable {
    /// How a request to an agent ended.
    enum Outcome: String, Sendable {
        /// The agent answered 2xx (or its stream ended).
        case ok
        /// The agent answered with an error status.
        case agentError = "agent_error"
        /// The gateway answered with an error: refused, unreachable agent, timeout, bad answer.
        case gatewayError = "gateway_error"
        /// A filter rejected the message (RBAC, a rate limit).
        case rejected
        /// The client left before the answer.
        case abandoned
    }

    let route: String
    private let requests: MetricSeriesCache<Counter>
    private let durations: MetricSeriesCache<Histogram>
    private let events: MetricSeriesCache<Counter>

    init(configuration: FilterConfiguration) {
        route = configuration.routeName
        requests = MetricSeriesCache(configuration.counter(name: "agw_a2a_requests_total", help: "A2A requests to agents, by method and outcome",
                                                           labels: ["route", "agent", "method", "outcome"]))
        durations = MetricSeriesCache(configuration.histogram(
            name: "agw_a2a_request_duration_seconds",
            help: "Time from an A2A request to the end of its answer (for SendMessage, the task's run; for streams, the stream's life)",
            labels: ["route", "agent", "method"]))
        events = MetricSeriesCache(configuration.counter(name: "agw_a2a_stream_events_total", help: "Events streamed from agents to clients",
                                                         labels: ["route", "agent"]))
    }

    func finished(agent: String, method: A2AMethod, outcome: Outcome, seconds: Double) {
        requests.series(route, agent, method.rawValue, outcome.rawValue)?.increment()
        durations.series(route, agent, method.rawValue)?.record(seconds)
    }

    func streamed(agent: String, events count: Int) {
        guard count > 0 else { return }
        events.series(route, agent)?.increment(by: Int64(count))
    }
}
