/// Decides which client a server→client request (elicitation, sampling, roots) belongs to — or
/// that the gateway cannot know, and must refuse it upstream rather than guess.
///
/// The gateway knows the owner when
/// 1. the request arrived on the HTTP response stream of one client call (Streamable HTTP says
///    which call it belongs to), or
/// 2. the connection it came on belongs to one client (a per-client upstream session or a
///    per-client stdio process, of a session or of an authenticated stateless caller), or
/// 3. it came on a shared connection where every client call in flight has the same owner.
///
/// Anything else — a shared stdio or SSE connection with calls of two clients in flight, or none
/// at all — is ambiguous: delivering it to "the latest call" would hand one client's question (and
/// its answer) to another. The same rule places a server's log message that names no request.
public enum ServerRequestOwnership {
    /// The server→client requests the gateway can relay (or bridge into an `InputRequiredResult`).
    public static let relayableMethods: Set<String> = ["elicitation/create", "sampling/createMessage", "roots/list"]

    /// A client call waiting for its answer on the connection the request came from.
    public struct CallInFlight<CallID: Hashable>: Sendable where CallID: Sendable {
        public var id: CallID
        public var owner: Owner
        public init(id: CallID, owner: Owner) {
            self.id = id
            self.owner = owner
        }
    }

    public enum Decision<CallID: Hashable & Sendable>: Equatable, Sendable {
        /// Deliver it with this call's answer (relayed on its stream, or as its `InputRequiredResult`).
        case call(CallID)
        /// The connection is this client's own and none of its calls is in flight: its session's
        /// GET stream, if it has a session and the stream is open.
        case ownerStream(Owner)
        case refuse(Refusal)
    }

    /// Why the gateway answered a server→client request with an error instead of relaying it.
    public enum Refusal: Equatable, Sendable, CustomStringConvertible {
        /// Not a request the gateway relays at all.
        case notRelayable(method: String)
        /// The call it belongs to is no longer in flight, or no client call is.
        case noCallInFlight
        /// A shared connection carries calls of this many clients: the wire does not say whose it is.
        case ambiguous(owners: Int)

        public var description: String {
            switch self {
            case .notRelayable(let method): return "the gateway does not relay \(method) to clients"
            case .noCallInFlight: return "no client call it could belong to is in flight"
            case .ambiguous(let owners):
                return "calls of \(owners) clients are in flight on this shared connection and the transport does not say "
                    + "whose request this is (use upstream_sessions = \"per-client\")"
            }
        }
    }

    /// The owner of a request `method` that arrived on a connection.
    /// - Parameters:
    ///   - carriedBy: the call whose HTTP response stream carried the request, when the transport says.
    ///   - connectionOwner: the client the connection belongs to, nil for a shared one.
    ///   - callsInFlight: client calls waiting on this connection, oldest first.
    public static func decide<CallID>(method: String, carriedBy related: CallID?, connectionOwner: Owner?,
                                      callsInFlight: [CallInFlight<CallID>]) -> Decision<CallID> {
        guard relayableMethods.contains(method) else { return .refuse(.notRelayable(method: method)) }
        return owner(carriedBy: related, connectionOwner: connectionOwner, callsInFlight: callsInFlight)
    }

    /// The owner of any message a server sent on its own (a request, or a notification that names
    /// no request of its own), by the rules above.
    public static func owner<CallID>(carriedBy related: CallID?, connectionOwner: Owner?,
                                     callsInFlight: [CallInFlight<CallID>]) -> Decision<CallID> {
        if let related {
            return callsInFlight.contains { $0.id == related } ? .call(related) : .refuse(.noCallInFlight)
        }
        if let connectionOwner {
            // Only this client's calls use its own connection.
            return callsInFlight.last.map { .call($0.id) } ?? .ownerStream(connectionOwner)
        }
        guard let latest = callsInFlight.last else { return .refuse(.noCallInFlight) }
        // Anonymous stateless calls cannot be told apart: each is an owner of its own.
        var owners = Set<OwnerKey<CallID>>()
        for call in callsInFlight { owners.insert(call.owner.isIdentifiable ? .owner(call.owner) : .call(call.id)) }
        return owners.count == 1 ? .call(latest.id) : .refuse(.ambiguous(owners: owners.count))
    }

    private enum OwnerKey<CallID: Hashable>: Hashable {
        case owner(Owner)
        case call(CallID)
    }
}
