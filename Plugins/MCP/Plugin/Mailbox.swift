import Foundation
import MCPCore
import PluginKit

/// A value guarded by a lock, for the little state that streams on other event loops share with
/// the federation's home loop.
final class Locked<Value>: @unchecked Sendable {
    private let lock = NSLock()
    private var value: Value
    init(_ value: Value) { self.value = value }
    func withLock<R>(_ body: (inout Value) -> R) -> R {
        lock.lock()
        defer { lock.unlock() }
        return body(&value)
    }
}

/// What the federation sends back to a client's HTTP exchange.
enum Delivery: Sendable {
    /// A complete JSON-RPC message for the client before the answer: a progress or log
    /// notification, or a server→client request (elicitation, sampling, roots). Turns a JSON
    /// answer into an SSE stream.
    case message([UInt8])
    /// The result object (raw JSON) of the client's request: usually a slice of the upstream's
    /// message, so a large result is not copied on its way through.
    case result(ArraySlice<UInt8>)
    /// An error object (raw JSON), as an upstream sent it or the gateway made it.
    case error([UInt8])
    /// A merged list, before filters hide items and the page is cut.
    case list(MergedList)
    /// The capabilities of the federation, for `initialize` / `server/discover`.
    case description(ServerDescription)
    /// A session's GET stream: an SSE comment that keeps the connection alive and shows a dead peer.
    case heartbeat
    /// A session's GET stream: the session ended (deleted, expired, evicted); end the stream and
    /// close its connection.
    case endStream
}

/// Items of a merged list, in target order, names already mapped to what clients see.
struct MergedList: Sendable {
    struct Item: Sendable {
        var target: String
        /// The target's own name or URI.
        var name: String
        var json: [UInt8]
    }
    var items: [Item]
}

/// What `initialize` / `server/discover` report: the union of the ready targets.
struct ServerDescription: Sendable {
    /// Raw JSON of the merged capabilities object.
    var capabilities: [UInt8]
    var instructions: String?
}

/// Where the federation's answers for one HTTP exchange go. Posting wakes the exchange's stream
/// on its own loop; once the client has left, posts are no-ops and the mailbox is dropped.
final class Mailbox: @unchecked Sendable {
    static let eventID: UInt64 = 0x4D4350 // "MCP"
    private let items = Locked<[Delivery]>([])
    /// Nil only if the stream's scope was already closed: then nobody reads the mailbox anyway.
    private let scheduler: Scheduler?
    /// The client this exchange serves: its session (handshake era) and authenticated caller.
    /// What the federation names for it (relayed ids, request states) is bound to this.
    let owner: Owner
    /// The client's session (handshake era), for relaying server→client requests.
    var sessionID: String? { owner.sessionID }
    /// How a server→client request (elicitation, sampling, roots) reaches this client: relayed
    /// on the response stream (handshake era), or as an `InputRequiredResult` that the client
    /// answers by retrying (2026-07-28, SEP-2322).
    enum ServerRequestStyle: Sendable { case relay, inputRequired }
    let serverRequests: ServerRequestStyle

    init(scheduler: Scheduler?, owner: Owner, serverRequests: ServerRequestStyle) {
        self.scheduler = scheduler
        self.owner = owner
        self.serverRequests = serverRequests
    }

    /// True while the exchange's own stream handles an event that may answer it (``whileServing(_:)``).
    private var serving = false

    func deliver(_ delivery: Delivery) {
        let post = items.withLock { items -> Bool in
            items.append(delivery)
            return !serving
        }
        if post { scheduler?.post(Self.eventID) }
    }

    func drain() -> [Delivery] { items.withLock { items in defer { items.removeAll() }; return items } }

    /// Runs `body` on the exchange's stream (an upstream answer arriving there) and returns what it
    /// delivered meanwhile, without the scheduler hop: the caller hands it out at once.
    func whileServing(_ body: () -> Void) -> [Delivery] {
        items.withLock { _ in serving = true }
        body()
        return items.withLock { items in
            serving = false
            defer { items.removeAll() }
            return items
        }
    }
}
