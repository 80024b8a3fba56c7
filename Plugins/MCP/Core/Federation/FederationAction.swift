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
    /// A target's shared connection changed state (for its health metrics).
    case targetStatus(targetIndex: Int, TargetStatus)
    /// How many client sessions exist now (after one began or ended).
    case sessionCount(Int)
}

/// What happened to a target's shared connection.
public enum TargetStatus: Sendable, Equatable {
    /// It completed its handshake and serves.
    case up
    /// It failed; a restart is armed.
    case down
    /// It is starting again after failing (a new child process, or a new HTTP session).
    case restarting
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


/// What `initialize` / `server/discover` report: the union of the ready targets.
public struct ServerDescription: Sendable, Equatable {
    /// Raw JSON of the merged capabilities object.
    public var capabilities: [UInt8]
    public var instructions: String?
}


/// An HTTP call the federation needs: a POST of a message, a GET stream, a DELETE.
public struct HTTPCallRequest: Sendable, Equatable {
    public var method: String
    public var url: String
    public var headers: [HTTPHeaderPair]
    public var body: [UInt8]
    public var timeoutMilliseconds: Int
    /// Deliver the response body in chunks as it arrives.
    public var streamsBody: Bool
}
