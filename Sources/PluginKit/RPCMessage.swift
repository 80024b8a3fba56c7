import ABIInterop
import PluginABI

/// A JSON-RPC message published by a route's handler, as a filter's `rpcMessage` sees it
/// (copied out of the host's `agw_rpc_message`).
public struct RPCMessage: Sendable {
    /// What the message is.
    public enum Kind: Sendable, Equatable {
        case request, notification, result, error
        /// One item of a list result (a tool of `tools/list`): hide it by rejecting it.
        case listItem
        /// A kind this SDK does not know (from a newer handler).
        case unknown

        init(_ raw: agw_rpc_kind) {
            switch raw {
            case AGW_RPC_REQUEST: self = .request
            case AGW_RPC_NOTIFICATION: self = .notification
            case AGW_RPC_RESULT: self = .result
            case AGW_RPC_ERROR: self = .error
            case AGW_RPC_LIST_ITEM: self = .listItem
            default: self = .unknown
            }
        }

        package var raw: agw_rpc_kind {
            switch self {
            case .request, .unknown: return AGW_RPC_REQUEST
            case .notification: return AGW_RPC_NOTIFICATION
            case .result: return AGW_RPC_RESULT
            case .error: return AGW_RPC_ERROR
            case .listItem: return AGW_RPC_LIST_ITEM
            }
        }
    }

    /// The protocol the handler speaks.
    public enum ProtocolName: Sendable, Equatable {
        case mcp, a2a, unknown

        init(_ raw: agw_rpc_protocol) {
            switch raw {
            case AGW_RPC_PROTOCOL_MCP: self = .mcp
            case AGW_RPC_PROTOCOL_A2A: self = .a2a
            default: self = .unknown
            }
        }

        package var raw: agw_rpc_protocol { self == .a2a ? AGW_RPC_PROTOCOL_A2A : AGW_RPC_PROTOCOL_MCP }
    }

    /// Which way the message travels.
    public enum Direction: Sendable, Equatable {
        /// From the gateway's client towards a target.
        case clientToServer
        /// From a target towards the client.
        case serverToClient

        init(_ raw: agw_rpc_direction) { self = raw == AGW_RPC_SERVER_TO_CLIENT ? .serverToClient : .clientToServer }
        var raw: agw_rpc_direction { self == .serverToClient ? AGW_RPC_SERVER_TO_CLIENT : AGW_RPC_CLIENT_TO_SERVER }
    }

    /// Request, notification, result, error or list item.
    public var kind: Kind
    /// MCP or A2A.
    public var protocolName: ProtocolName
    /// From the client, or towards it.
    public var direction: Direction
    /// The JSON-RPC id as JSON text (`7`, `"abc"`); empty for notifications.
    public var id: String
    /// The method, e.g. `tools/call`.
    public var method: String
    /// The tool or prompt name or resource URI as the target knows it (without the gateway's
    /// prefix), or the A2A task id; empty if none.
    public var target: String
    /// `tool`, `prompt`, `resource`, `task`; empty if none.
    public var targetKind: String
    /// The configured name of the federated target the message routes to; empty if none.
    public var upstream: String
    /// The client's session at the gateway; empty if stateless.
    public var sessionID: String
    /// Params (or the list item) as JSON text.
    public var params: String {
        get { String(decoding: paramsBytes, as: UTF8.self) }
        set { paramsBytes = Array(newValue.utf8) }
    }
    /// ``params`` as the bytes the handler published: what a JSON reader wants, with no `String`
    /// made (nor its UTF-8 checked) for a message nobody reads the params of.
    public var paramsBytes: [UInt8]

    /// Whether the message comes from the gateway's client.
    public var isFromClient: Bool { direction == .clientToServer }

    package init(_ message: UnsafePointer<agw_rpc_message>) {
        let message = message.pointee
        kind = Kind(message.kind)
        protocolName = ProtocolName(message.protocol)
        direction = Direction(message.direction)
        id = message.id.string
        method = message.method.string
        target = message.target.string
        targetKind = message.target_kind.string
        upstream = message.upstream.string
        sessionID = message.session_id.string
        paramsBytes = message.params.bytes
    }
}
