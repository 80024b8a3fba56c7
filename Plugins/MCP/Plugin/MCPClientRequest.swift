import Dispatch
import JSON
import MCPCore
import PluginKit

/// One client HTTP request to the MCP handler, as the stream's state: what it asked, where it
/// stands (answered? streaming?), and its exchange with the federation.
final class MCPClientRequest {
    var era = MCPEra.handshake
    let clientID: String
    let method: String
    let params: JSONValue?
    var sessionID: String?
    /// The authenticated caller (`FilterStream.authenticatedCaller`), nil when anonymous.
    var caller: String?
    /// Whom what the federation names for this request belongs to.
    var owner: Owner { Owner(sessionID: sessionID, caller: caller) }
    /// How a server→client request reaches this client.
    var style: ServerRequestStyle { era == .handshake ? .relay : .inputRequired }
    /// Its exchange with the federation, once opened.
    var exchange: ExchangeID?
    var mailbox: Mailbox?
    /// The response is an SSE stream (it started with a message before the answer).
    var streaming = false
    var finished = false
    /// A session's GET stream.
    var isListener = false
    var listKind: ListKind?
    var listOffset = 0
    /// What to do when a filter that paused decides.
    var afterVerdict: ((RPCVerdict) -> Void)?
    private var rpcFilters: Bool?
    /// When the message arrived (monotonic nanoseconds), for the durations.
    let startedAt = DispatchTime.now().uptimeNanoseconds
    /// How it ended, once it did (nil when the client left before its answer).
    private(set) var outcome: MCPMetrics.Outcome?
    /// A tools/call's target and tool (the target's own name for it), once the name resolved.
    var tool: (target: String, name: String)?
    /// A routed request's target and what it names (tool, prompt, resource URI), once resolved.
    var routed: (target: String, name: String)?
    /// The span of a call to a stdio target, until its answer.
    var legSpan: UInt64?
    /// The session an `initialize` created.
    var createdSession: String?
    /// The JSON-RPC error code of the answer, when it was an error.
    var errorCode: Int?

    init(clientID: String, method: String, params: JSONValue?) {
        self.clientID = clientID
        self.method = method
        self.params = params
    }

    /// Records how the message ended; the first outcome stands (a rejection before the reply).
    func settle(_ outcome: MCPMetrics.Outcome) {
        if self.outcome == nil { self.outcome = outcome }
    }

    var elapsedSeconds: Double { Double(DispatchTime.now().uptimeNanoseconds &- startedAt) / 1e9 }

    /// Whether the route has filters that read messages (asked once per request).
    func hasRPCFilters(_ stream: FilterStream) -> Bool {
        if let rpcFilters { return rpcFilters }
        let answer = stream.hasRPCFilters
        rpcFilters = answer
        return answer
    }
}
