import JSON

/// One connection to a target: its transport, its era and capabilities once known, and what is
/// in flight on it. The shared one of a target is restarted when it fails; a client's own is not
/// (its next request opens a new one).
///
/// A reference, like the other parts of the federation's state that change on every request
/// (calls, HTTP calls): they are mutated in place, never copied out of a table and back.
final class TargetConnection: @unchecked Sendable {
    enum State: Sendable, Equatable {
        case starting
        case ready
        case down(String)
    }

    /// How the connection reaches its server.
    enum Transport: Sendable {
        /// A child process (``TargetConnection/processID`` while it runs).
        case stdio
        case http(StreamableHTTPTransport)
        case sse(LegacySSETransport)
        /// An A2A agent answering MCP requests through the gateway (``A2AAgentTransport``).
        case a2a(A2AAgentTransport)
        /// A REST API described by an OpenAPI document (``OpenAPITransport``).
        case openapi(OpenAPITransport)
    }

    /// What a request in flight on the connection is for.
    enum Purpose: Sendable {
        /// `server/discover`, to learn whether an HTTP target speaks 2026-07-28.
        case probe
        case handshake
        case call(ClientCall)
        case listPage(job: Int, targetIndex: Int)
        /// An answer nobody waits for (`logging/setLevel`).
        case ignore
    }

    struct Pending: Sendable {
        var purpose: Purpose
        var deadline: Double
    }

    /// What waits for the connection to be ready.
    enum Waiter: Sendable {
        case call(ClientCall)
        case listPage(job: Int, targetIndex: Int, cursor: String?)
    }

    let id: ConnectionID
    let targetIndex: Int
    /// The target's configured name.
    let name: String
    /// The client this connection belongs to; nil for the shared one.
    let owner: Owner?
    let transport: Transport
    var state = State.starting
    /// False until the first start succeeded or failed (`initialize` waits for that).
    var settled = false
    var capabilities: JSONValue?
    var instructions: String?
    var nextID = 1
    var pending: [Int: Pending] = [:]
    var waiting: [Waiter] = []
    var restartAttempts = 0
    /// Spoken to in the 2026-07-28 era (found by the `server/discover` probe).
    var modern = false
    /// The protocol version the handshake settled on (or the 2026-07-28 one).
    var protocolVersion: String?
    /// The child process of a stdio connection, while it runs.
    var processID: UInt64?
    /// Seconds one request may take.
    let timeout: Double
    /// When a request last went through it (a stateless client's own connection idles out).
    var lastUsed: Double

    init(id: ConnectionID, targetIndex: Int, name: String, owner: Owner?, transport: Transport, timeout: Double, lastUsed: Double) {
        self.id = id
        self.targetIndex = targetIndex
        self.name = name
        self.owner = owner
        self.transport = transport
        self.timeout = timeout
        self.lastUsed = lastUsed
    }

    var isReady: Bool { state == .ready }
    var downReason: String? { if case .down(let reason) = state { return reason } else { return nil } }

    /// Whether a client's request may go out from the client's own stream (each request is its
    /// own HTTP call), rather than from the home loop.
    var sendsFromAnyLoop: Bool {
        switch transport {
        case .http, .openapi: true
        case .stdio, .sse, .a2a: false
        }
    }

    /// Whether the target never sends the client anything but its answers (a REST API): its
    /// calls always go out from the client's stream and end with it.
    var answersOnly: Bool { if case .openapi = transport { return true } else { return false } }

    /// Client calls waiting on it, oldest first, for the ownership rule.
    var callsInFlight: [ServerRequestOwnership.CallInFlight<Int>] {
        pending.sorted { $0.key < $1.key }.compactMap { entry in
            guard case .call(let call) = entry.value.purpose else { return nil }
            return ServerRequestOwnership.CallInFlight(id: entry.key, owner: call.owner)
        }
    }

    /// The client call a pending request serves.
    func call(at upstreamID: Int) -> ClientCall? {
        if case .call(let call)? = pending[upstreamID]?.purpose { return call }
        return nil
    }
}
