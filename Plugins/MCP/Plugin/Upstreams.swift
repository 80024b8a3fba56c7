import Foundation
import JSON
import JSONRPC
import MCPCore
import PluginKit

/// What an upstream connection reports to the federation (on the federation's home loop).
protocol UpstreamDelegate: AnyObject {
    /// The transport can carry messages now; the federation starts the handshake.
    func upstreamConnected(_ upstream: Upstream)
    /// One JSON-RPC message from the server. `requestID` is the gateway request whose HTTP
    /// response carried it, when the transport knows (Streamable HTTP).
    func upstream(_ upstream: Upstream, received message: [UInt8], relatedTo requestID: Int?)
    /// A request could not be delivered or its answer could not be read.
    func upstream(_ upstream: Upstream, requestFailed requestID: Int, reason: String)
    /// The server answered a request with a JSON-RPC error outside a JSON-RPC response the
    /// federation could match (an HTTP 4xx whose body is an error response, with any id).
    func upstream(_ upstream: Upstream, rejected requestID: Int, error: JSONValue)
    /// The connection is gone (a process exited, a stream closed, a session expired).
    func upstream(_ upstream: Upstream, failed reason: String)
    func upstream(_ upstream: Upstream, log line: String)
}

/// One MCP server the gateway talks to, over one transport. Lives on the federation's home loop;
/// its async work belongs to the route's configuration scope.
class Upstream {
    let target: MCPTarget
    weak var delegate: UpstreamDelegate?
    /// Set after the handshake; Streamable HTTP sends it as `MCP-Protocol-Version`.
    var protocolVersion: String?

    init(target: MCPTarget) { self.target = target }

    static func make(_ target: MCPTarget, timeoutMilliseconds: Int) -> Upstream {
        switch target.transport {
        case .stdio: return StdioUpstream(target: target)
        case .sse(let url): return LegacySSEUpstream(target: target, url: url)
        case .http(let url): return StreamableHTTPUpstream(target: target, url: url, timeoutMilliseconds: timeoutMilliseconds)
        }
    }

    func start(_ scope: Scope) {}
    /// Sends one message; `headers` are HTTP headers for transports that have them (the
    /// 2026-07-28 `Mcp-Method` / `Mcp-Name`).
    func send(_ message: [UInt8], requestID: Int?, headers: [(String, String)] = [], scope: Scope) {}
    /// After the handshake: open the channel for messages the server sends on its own (list
    /// changes, resource updates), where the transport has a separate one.
    func listen(_ scope: Scope) {}
    /// Whether `send` may use a stream's scope (else only the configuration's, on the home loop).
    var sendsFromAnyScope: Bool { false }
    /// Handles the event if it belongs to this upstream.
    func handle(_ event: PluginEvent, scope: Scope) -> Bool { false }
    func stop(_ scope: Scope) {}

    /// The target's configured headers, in a stable order (computed once).
    private(set) lazy var configuredHeaders: [(String, String)] = target.headers.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
}

/// A child process: one message per line on stdin/stdout, stderr is its log.
final class StdioUpstream: Upstream {
    private var processID: UInt64?

    override func start(_ scope: Scope) {
        guard case .stdio(let command, let arguments, let environment, let workingDirectory) = target.transport else { return }
        guard let id = scope.spawnProcess([command] + arguments, environment: environment.sorted { $0.key < $1.key }.map { ($0.key, $0.value) },
                                          workingDirectory: workingDirectory) else {
            delegate?.upstream(self, failed: "cannot start '\(command)'")
            return
        }
        processID = id
        delegate?.upstreamConnected(self)
    }

    override func send(_ message: [UInt8], requestID: Int?, headers: [(String, String)] = [], scope: Scope) {
        guard let processID, scope.writeToProcess(processID, message + [0x0A]) else {
            if let requestID { delegate?.upstream(self, requestFailed: requestID, reason: "the process is not running") }
            return
        }
    }

    override func handle(_ event: PluginEvent, scope: Scope) -> Bool {
        guard let processID, event.id == processID else { return false }
        switch event.kind {
        case .processStdout:
            if !event.data.isEmpty { delegate?.upstream(self, received: event.data, relatedTo: nil) }
        case .processStderr:
            delegate?.upstream(self, log: event.text)
        case .processExit:
            self.processID = nil
            let status = event.code < 0 ? "was killed by signal \(-event.code)" : "exited with status \(event.code)"
            delegate?.upstream(self, failed: "the process \(status)")
        default:
            return false
        }
        return true
    }

    override func stop(_ scope: Scope) {
        if let processID { scope.terminateProcess(processID, graceMilliseconds: 1000) }
        processID = nil
    }
}

/// Streamable HTTP: each message is a POST; the answer is JSON or an SSE stream.
final class StreamableHTTPUpstream: Upstream {
    let url: String
    let timeoutMilliseconds: Int
    private var sessionID: String?

    private struct Call {
        var requestID: Int?
        var status: Int32 = 0
        var isEventStream = false
        var decoder = SSEDecoder()
        var body: [UInt8] = []
    }
    /// Calls in flight, by the scope that made them and its call id: a client's request goes out
    /// from its own stream (no hop to the home loop), the gateway's own from the configuration.
    private struct CallKey: Hashable {
        let scope: UInt
        let id: UInt64
    }
    private var calls: [CallKey: Call] = [:]

    init(target: MCPTarget, url: String, timeoutMilliseconds: Int) {
        self.url = url
        self.timeoutMilliseconds = timeoutMilliseconds
        super.init(target: target)
    }

    override func start(_ scope: Scope) {
        sessionID = nil
        protocolVersion = nil
        listenCall = nil
        delegate?.upstreamConnected(self)
    }

    override func send(_ message: [UInt8], requestID: Int?, headers extra: [(String, String)] = [], scope: Scope) {
        var headers = [("content-type", "application/json"), ("accept", "application/json, text/event-stream")] + extra
        if let sessionID { headers.append(("mcp-session-id", sessionID)) }
        if let protocolVersion { headers.append(("mcp-protocol-version", protocolVersion)) }
        headers += configuredHeaders
        // The federation's own deadline (-32001) fires first; this one only bounds a stuck connection.
        guard let callID = scope.httpCall(method: "POST", url: url, headers: headers, body: message,
                                          timeoutMilliseconds: UInt32(timeoutMilliseconds + 1000), streamBody: true) else {
            if let requestID { delegate?.upstream(self, requestFailed: requestID, reason: "the gateway refused the HTTP call") }
            return
        }
        calls[CallKey(scope: scope.identity, id: callID)] = Call(requestID: requestID)
    }

    /// Whether a request may go out from any scope (a stream's): each request is its own HTTP call.
    override var sendsFromAnyScope: Bool { true }

    /// The GET stream (handshake era) for server-initiated messages, while it is open.
    private var listenCall: UInt64?
    private var listenScope: UInt = 0
    private var listenDecoder = SSEDecoder()

    override func listen(_ scope: Scope) {
        var headers = [("accept", "text/event-stream")]
        if let sessionID { headers.append(("mcp-session-id", sessionID)) }
        if let protocolVersion { headers.append(("mcp-protocol-version", protocolVersion)) }
        listenDecoder = SSEDecoder()
        listenScope = scope.identity
        listenCall = scope.httpCall(method: "GET", url: url, headers: headers + configuredHeaders,
                                    timeoutMilliseconds: UInt32(timeoutMilliseconds), streamBody: true)
    }

    /// Server-initiated messages; a server without the stream answers 405, and that is fine.
    private func handleListener(_ event: PluginEvent) {
        switch event.kind {
        case .httpResponse where event.code != 200:
            listenCall = nil
            delegate?.upstream(self, log: "no GET stream for server-initiated messages (HTTP \(event.code))")
        case .httpBody:
            let events = (try? listenDecoder.feed(event.data)) ?? []
            for sse in events where sse.event == "message" && !sse.data.isEmpty {
                delegate?.upstream(self, received: sse.data, relatedTo: nil)
            }
            if event.endOfStream { listenCall = nil }
        case .httpFailed:
            listenCall = nil
        default:
            break
        }
    }

    override func handle(_ event: PluginEvent, scope: Scope) -> Bool {
        if let listenCall, event.id == listenCall, scope.identity == listenScope {
            handleListener(event)
            return true
        }
        let key = CallKey(scope: scope.identity, id: event.id)
        guard var call = calls[key] else { return false }
        switch event.kind {
        case .httpResponse:
            call.status = event.code
            if let session = event.header("mcp-session-id") { sessionID = session }
            if let type = event.header("content-type") { call.isEventStream = Array(type.utf8).hasPrefixIgnoringCase("text/event-stream") }
            if event.code == 404, sessionID != nil, call.requestID != nil {
                // The upstream forgot our session: the federation re-initializes.
                calls[key] = nil
                fail(call, reason: "the upstream session expired (HTTP 404)")
                delegate?.upstream(self, failed: "the upstream session expired (HTTP 404)")
                return true
            }
            calls[key] = call
            if event.endOfStream { finish(key) }
        case .httpBody:
            if call.status >= 300 || call.status < 200 {
                // Kept for the error: a JSON-RPC error response passes through to the client.
                if call.body.count < Self.maxErrorBody { call.body += event.data.prefix(Self.maxErrorBody - call.body.count) }
            } else if call.isEventStream {
                do {
                    for sse in try call.decoder.feed(event.data) where sse.event == "message" && !sse.data.isEmpty {
                        delegate?.upstream(self, received: sse.data, relatedTo: call.requestID)
                    }
                } catch {
                    calls[key] = nil
                    fail(call, reason: "an SSE event was larger than \(call.decoder.maxEventBytes) bytes")
                    return true
                }
            } else {
                if call.body.isEmpty { call.body = event.data } else { call.body += event.data } // one chunk: no copy
            }
            calls[key] = call
            if event.endOfStream { finish(key) }
        case .httpFailed:
            calls[key] = nil
            fail(call, reason: event.text)
        default:
            return false
        }
        return true
    }

    private func finish(_ key: CallKey) {
        guard let call = calls.removeValue(forKey: key) else { return }
        switch call.status {
        case 200..<300:
            if !call.isEventStream, !call.body.isEmpty {
                delegate?.upstream(self, received: call.body, relatedTo: call.requestID)
            }
            // A stream (or a 202) that ended without the answer: the federation fails the request
            // if it is still waiting.
            if let requestID = call.requestID { delegate?.upstream(self, requestFailed: requestID, reason: "the response ended without an answer") }
        default:
            if let requestID = call.requestID, let error = Self.jsonRPCError(in: call.body) {
                delegate?.upstream(self, rejected: requestID, error: error)
                return
            }
            let body = String(decoding: call.body.prefix(512), as: UTF8.self).split(separator: "\n").first.map(String.init) ?? ""
            fail(call, reason: "HTTP \(call.status)" + (body.isEmpty ? "" : ": \(body)"))
        }
    }

    /// The bytes of an error body kept (a JSON-RPC error response is passed on; more is cut).
    static let maxErrorBody = 65_536

    /// The error object of a JSON-RPC error response, when `body` is one.
    static func jsonRPCError(in body: [UInt8]) -> JSONValue? {
        guard let envelope = try? JSONRPCEnvelope.scan(body), envelope.kind == .error, let error = envelope.error else { return nil }
        let value = JSONValue(body, range: error)
        guard value["code"]?.int != nil, value["message"]?.string != nil else { return nil }
        return value
    }

    private func fail(_ call: Call, reason: String) {
        if let requestID = call.requestID { delegate?.upstream(self, requestFailed: requestID, reason: reason) }
    }

    override func stop(_ scope: Scope) {
        if let listenCall { scope.cancelHTTPCall(listenCall) }
        listenCall = nil
        if let sessionID {
            _ = scope.httpCall(method: "DELETE", url: url, headers: [("mcp-session-id", sessionID)] + configuredHeaders, timeoutMilliseconds: 2000)
        }
        sessionID = nil
    }
}

/// The 2024-11-05 HTTP+SSE transport: a GET stream whose first `endpoint` event names where to
/// POST; answers come back on the stream.
final class LegacySSEUpstream: Upstream {
    let url: String
    private var streamCall: UInt64?
    private var endpoint: String?
    private var decoder = SSEDecoder()
    private var posts: [UInt64: Int?] = [:]

    init(target: MCPTarget, url: String) {
        self.url = url
        super.init(target: target)
    }

    override func start(_ scope: Scope) {
        endpoint = nil
        decoder = SSEDecoder()
        streamCall = scope.httpCall(method: "GET", url: url, headers: [("accept", "text/event-stream")] + configuredHeaders,
                                    timeoutMilliseconds: 10_000, streamBody: true)
        if streamCall == nil { delegate?.upstream(self, failed: "the gateway refused the HTTP call") }
    }

    override func send(_ message: [UInt8], requestID: Int?, headers: [(String, String)] = [], scope: Scope) {
        guard let endpoint,
              let callID = scope.httpCall(method: "POST", url: endpoint, headers: [("content-type", "application/json")] + configuredHeaders,
                                          body: message, timeoutMilliseconds: 10_000) else {
            if let requestID { delegate?.upstream(self, requestFailed: requestID, reason: "the SSE session is not open") }
            return
        }
        posts[callID] = requestID
    }

    override func stop(_ scope: Scope) {
        if let streamCall { scope.cancelHTTPCall(streamCall) }
        streamCall = nil
        endpoint = nil
    }

    override func handle(_ event: PluginEvent, scope: Scope) -> Bool {
        if event.id == streamCall {
            handleStream(event)
            return true
        }
        guard let requestID = posts[event.id] else { return false }
        posts[event.id] = nil
        let failure: String? = switch event.kind {
        case .httpResponse where (200..<300).contains(event.code): nil
        case .httpResponse: "POST answered HTTP \(event.code)"
        default: event.text
        }
        if let failure, let requestID { delegate?.upstream(self, requestFailed: requestID, reason: failure) }
        return true
    }

    private func handleStream(_ event: PluginEvent) {
        switch event.kind {
        case .httpResponse where event.code != 200:
            streamCall = nil
            delegate?.upstream(self, failed: "GET \(url) answered HTTP \(event.code)")
        case .httpResponse:
            break
        case .httpBody:
            do {
                for sse in try decoder.feed(event.data) {
                    switch sse.event {
                    case "endpoint" where endpoint == nil:
                        endpoint = Self.resolve(String(decoding: sse.data, as: UTF8.self), against: url)
                        delegate?.upstreamConnected(self)
                    case "message" where !sse.data.isEmpty:
                        delegate?.upstream(self, received: sse.data, relatedTo: nil)
                    default:
                        break
                    }
                }
            } catch {
                streamCall = nil
                delegate?.upstream(self, failed: "an SSE event was too large")
                return
            }
            if event.endOfStream {
                streamCall = nil
                delegate?.upstream(self, failed: "the SSE stream closed")
            }
        default:
            streamCall = nil
            delegate?.upstream(self, failed: event.text.isEmpty ? "the SSE stream failed" : event.text)
        }
    }

    /// The `endpoint` event's URI is opaque; resolve it against the SSE URL (RFC 3986 §5.2, for the
    /// absolute, absolute-path and relative-path forms servers send).
    static func resolve(_ reference: String, against base: String) -> String {
        let reference = reference.trimmingCharacters(in: .whitespaces)
        if reference.hasPrefix("http://") || reference.hasPrefix("https://") { return reference }
        guard let schemeEnd = base.range(of: "://") else { return reference }
        let afterScheme = base[schemeEnd.upperBound...]
        let authorityEnd = afterScheme.firstIndex(of: "/") ?? afterScheme.endIndex
        let origin = String(base[..<authorityEnd])
        if reference.hasPrefix("/") { return origin + reference }
        let path = base[authorityEnd...].split(separator: "?", maxSplits: 1).first.map(String.init) ?? "/"
        let directory = path.hasSuffix("/") ? path : String(path[...(path.lastIndex(of: "/") ?? path.startIndex)])
        return origin + (directory.isEmpty ? "/" : directory) + reference
    }
}
