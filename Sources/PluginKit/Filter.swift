import PluginABI

/// What a hook tells the gateway to do next.
public enum FilterStatus: Sendable {
    /// Go on with the next filter.
    case `continue`
    /// Pause the stream; call `FilterStream.resume()` later (from an event or a scheduler post).
    case stop
    /// A local reply was sent (`FilterStream.sendLocalReply`).
    case replied

    var raw: agw_status {
        switch self {
        case .continue: return AGW_STATUS_CONTINUE
        case .stop: return AGW_STATUS_STOP
        case .replied: return AGW_STATUS_REPLIED
        }
    }
}

/// Hooks a filter type may leave out (``Filter/implementedHooks``): the gateway never calls one
/// that is left out, which saves a crossing into the plugin per request (~800 instructions).
public struct FilterHooks: OptionSet, Sendable {
    public let rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }

    /// ``Filter/responseHeaders(_:endOfStream:)``.
    public static let responseHeaders = FilterHooks(rawValue: 1 << 0)
    /// ``Filter/streamComplete(_:)``.
    public static let streamComplete = FilterHooks(rawValue: 1 << 1)
    /// Every optional hook (the default).
    public static let all: FilterHooks = [.responseHeaders, .streamComplete]
}

/// Whether a type sits in a route's chain or answers requests itself.
public enum FilterKind: Sendable {
    /// Sits in a route's chain (`[[routes.filters]]`); the request goes on after it.
    case filter
    /// A route's terminal (`[routes.handler]`): it answers with ``FilterStream/respond(status:headers:endOfStream:)``.
    case handler
}

/// A gateway filter written in Swift. One value is created per configured instance (per route
/// entry) with that entry's config table; it is shared by every stream on every event loop, so it
/// must be `Sendable`: keep it immutable, or lock what changes.
///
/// Implement only the hooks you need; the defaults continue. Request and response *body* hooks
/// live in ``RequestBodyFilter`` and ``ResponseBodyFilter`` because implementing them makes the
/// gateway buffer bodies.
public protocol Filter: Sendable {
    /// The filter type's name. A route names it `<plugin>` (first type) or `<plugin>.<name>`.
    static var name: String { get }
    /// `.filter` (default) or `.handler`.
    static var kind: FilterKind { get }
    /// The optional hooks this type implements (default: all). The gateway calls only these: a
    /// filter that leaves `.responseHeaders` out, say, never has ``responseHeaders(_:endOfStream:)``
    /// called, even if it implements it.
    static var implementedHooks: FilterHooks { get }

    /// Reads the route's config table. Throw to reject it; the message reaches the user.
    init(configuration: FilterConfiguration) throws

    func requestHeaders(_ stream: FilterStream, endOfStream: Bool) -> FilterStatus
    func responseHeaders(_ stream: FilterStream, endOfStream: Bool) -> FilterStatus
    /// Called once per stream when it is over, for logging.
    func streamComplete(_ stream: FilterStream)
    /// An async result for this stream (HTTP call, timer, scheduler post, process output).
    func event(_ event: PluginEvent, stream: FilterStream)
    /// An async result of work owned by the configuration (`configuration scope`).
    func configurationEvent(_ event: PluginEvent, scope: Scope)
}

/// The defaults: a filter (not a handler) whose hooks continue and whose events are ignored.
extension Filter {
    /// `.filter`.
    public static var kind: FilterKind { .filter }
    /// `.all`.
    public static var implementedHooks: FilterHooks { .all }
    public func requestHeaders(_ stream: FilterStream, endOfStream: Bool) -> FilterStatus { .continue }
    public func responseHeaders(_ stream: FilterStream, endOfStream: Bool) -> FilterStatus { .continue }
    public func streamComplete(_ stream: FilterStream) {}
    public func event(_ event: PluginEvent, stream: FilterStream) {}
    public func configurationEvent(_ event: PluginEvent, scope: Scope) {}
}

/// A filter that reads or rewrites the whole request body. The gateway buffers it first.
public protocol RequestBodyFilter: Filter {
    func requestBody(_ stream: FilterStream) -> FilterStatus
}

/// A filter that reads or rewrites the whole response body (not SSE). The gateway buffers it first.
public protocol ResponseBodyFilter: Filter {
    func responseBody(_ stream: FilterStream) -> FilterStatus
}

/// A filter that sees the JSON-RPC messages (MCP, A2A) a route's handler publishes.
/// `.continue` allows, `.replied` after `stream.rejectRPC(code:message:)` rejects,
/// `.stop` decides later with `stream.resumeRPC(...)`.
public protocol RPCFilter: Filter {
    func rpcMessage(_ message: RPCMessage, stream: FilterStream) -> FilterStatus

    /// Whether ``rpcMessage(_:stream:)`` wants a message of this kind and direction; asked
    /// first, from the host's view of the message, so a message the filter would pass at once
    /// is not copied out (a message's fields cost ~1,000 instructions to copy). Answering false
    /// is answering `.continue`. Default: true.
    func wantsRPCMessage(kind: RPCMessage.Kind, fromClient: Bool) -> Bool
}

extension RPCFilter {
    public func wantsRPCMessage(kind: RPCMessage.Kind, fromClient: Bool) -> Bool { true }
}
