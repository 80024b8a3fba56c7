import MCPCore
import PluginKit
import Synchronization

/// Where the federation's deliveries for one client exchange wait for that exchange's stream:
/// posting from any thread wakes the stream on its own loop. Once the client has left, posts are
/// no-ops and the mailbox is dropped.
final class Mailbox: Sendable {
    /// The `.scheduled` event id that says "deliveries are waiting".
    static let eventID: UInt64 = 0x4D4350 // "MCP"
    private let items = Mutex<[Delivery]>([])
    /// Nil only if the stream's scope was already closed: then nobody reads the mailbox anyway.
    private let scheduler: Scheduler?

    init(scheduler: Scheduler?) { self.scheduler = scheduler }

    /// Any thread.
    func deliver(_ delivery: Delivery) {
        items.withLock { $0.append(delivery) }
        scheduler?.post(Self.eventID)
    }

    /// On the exchange's stream: what has arrived.
    func drain() -> [Delivery] { items.withLock { items in defer { items.removeAll() }; return items } }
}
