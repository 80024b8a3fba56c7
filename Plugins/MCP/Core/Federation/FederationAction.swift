import JSON

/// One connection to a target: the shared one, or a client's own.
public struct ConnectionID: Hashable, Sendable, CustomStringConvertible {
    public let value: Int
    public init(_ value: Int) { self.value = value }
    public var description: String { "c\(value)" }
}

/// One client HTTP exchange (a POST awaiting its answer, or a session's GET stream); the glue
/// numbers them and delivers to them.
public struct ExchangeID: Hashable, Sendable, CustomStringConvertible {
    public let value: UInt64
    public init(_ value: UInt64) { self.value = value }
    public var description: String { "x\(value)" }
}

/// One HTTP call the federation asked for (the glue maps it to the host's call).
public struct HTTPCallID: Hashable, Sendable {
    public let value: Int
    public init(_ value: Int) { self.value = value }
}

/// How a host names an HTTP call: its scope and its id there.
public struct HostCallKey: Hashable, Sendable {
    public let scope: UInt
    public let id: UInt64
    public init(scope: UInt, id: UInt64) {
        self.scope = scope
        self.id = id
    }
}

/// How a server→client request (elicitation, sampling, roots) reaches a client: relayed on its
/// response stream (handshake era), or as an `InputRequiredResult` its retry answers (2026-07-28,
/// SEP-2322).
public enum ServerRequestStyle: Sendable, Equatable {
    case relay
    case inputRequired
}

/// An HTTP call the federation needs: a POST of a message, a GET stream, a DELETE.
public struct HTTPCallRequest: Sendable, Equatable {
    public var method: String
    public var url: String
    public var headers: [Header]
    public var body: [UInt8]
    public var timeoutMilliseconds: Int
    /// Deliver the response body in chunks as it arrives.
    public var streamsBody: Bool

    public struct Header: Sendable, Equatable {
        public var name: String
        public var value: String
        public init(_ name: String, _ value: String) {
            self.name = name
            self.value = value
        }
    }
}

/// What the federation asks the plugin glue to do, in order. Process work, timers, GET streams
/// and calls without `via` belong to the route configuration's home loop; a call `via` an
/// exchange may go out from that exchange's stream when the glue is on it.
public enum FederationAction: Sendable {
    /// Start a stdio connection's child process; report ``Federation/processStarted(_:processID:)``
    /// or ``Federation/processFailed(_:)``.
    case spawn(ConnectionID, command: String, arguments: [String], environment: [(String, String)], workingDirectory: String)
    /// Write to a connection's process; report ``Federation/writeFailed(_:requestID:)`` when it cannot.
    case write(ConnectionID, processID: UInt64, [UInt8], requestID: Int?)
    /// Close the process's stdin, then signal it after a grace period.
    case terminate(processID: UInt64, graceMilliseconds: Int)
    /// Make an HTTP call; report ``Federation/httpCallStarted(_:key:onStream:)`` or
    /// ``Federation/httpCallRefused(_:)``.
    case httpCall(HTTPCallID, HTTPCallRequest, via: ExchangeID?)
    /// Cancel a call made from the home loop (a GET stream): no more events for it.
    case cancelHTTPCall(HostCallKey)
    /// Hand this to a client exchange.
    case deliver(ExchangeID, Delivery)
    /// Call ``Federation/restartDue(targetIndex:now:)`` after the delay (a home-loop timer).
    case armRestart(targetIndex: Int, afterMilliseconds: Int)
    case log(LogSeverity, String)
    /// A server→client request was refused because its client is not known: count it.
    case countRefusedServerRequest
}

/// How loud a log line of the federation is.
public enum LogSeverity: Sendable, Equatable {
    case debug, info, warning
}

/// What goes back to one client exchange.
public enum Delivery: Sendable {
    /// A complete JSON-RPC message before the answer: a progress or log notification, or a
    /// server→client request. Turns a JSON answer into an SSE stream.
    case message([UInt8])
    /// The result object (raw JSON) of the client's request: usually a slice of the target's
    /// message, so a large result is not copied on its way through.
    case result(ArraySlice<UInt8>)
    /// An error object (raw JSON), as a target sent it or the gateway made it.
    case error([UInt8])
    /// A merged list, before filters hide items and the page is cut.
    case list(MergedList)
    /// The federation's capabilities, for `initialize` / `server/discover`.
    case description(ServerDescription)
    /// A session's GET stream: an SSE comment that keeps the connection alive and shows a dead peer.
    case heartbeat
    /// A session's GET stream: the session ended; end the stream and close its connection.
    case endStream
}

/// Items of a merged list, in target order, names already mapped to what clients see.
public struct MergedList: Sendable {
    public struct Item: Sendable {
        public var target: String
        /// The target's own name or URI.
        public var name: String
        public var json: [UInt8]
        public init(target: String, name: String, json: [UInt8]) {
            self.target = target
            self.name = name
            self.json = json
        }
    }
    public var items: [Item]
    public init(items: [Item]) { self.items = items }
}

/// What `initialize` / `server/discover` report: the union of the ready targets.
public struct ServerDescription: Sendable, Equatable {
    /// Raw JSON of the merged capabilities object.
    public var capabilities: [UInt8]
    public var instructions: String?
}

/// A client's request routed to one target, as the handler hands it over.
public struct RoutedCall: Sendable {
    public var exchange: ExchangeID
    public var owner: Owner
    public var style: ServerRequestStyle
    /// The client's id, as raw JSON.
    public var clientID: String
    public var method: String
    /// The target's configured name.
    public var target: String
    public var params: JSONValue?
    public var rewrite: ParamsRewrite
    /// Closing the client's stream cancels it (2026-07-28, and clients without a session).
    public var cancelsWhenAbandoned: Bool
    /// The client's headers the target is configured to receive (`forward_headers`).
    public var forwardedHeaders: [(String, String)]

    public init(exchange: ExchangeID, owner: Owner, style: ServerRequestStyle, clientID: String, method: String, target: String,
                params: JSONValue?, rewrite: ParamsRewrite, cancelsWhenAbandoned: Bool, forwardedHeaders: [(String, String)] = []) {
        self.exchange = exchange
        self.owner = owner
        self.style = style
        self.clientID = clientID
        self.method = method
        self.target = target
        self.params = params
        self.rewrite = rewrite
        self.cancelsWhenAbandoned = cancelsWhenAbandoned
        self.forwardedHeaders = forwardedHeaders
    }
}
