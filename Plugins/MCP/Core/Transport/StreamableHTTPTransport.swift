import JSON
import JSONRPC
import SSE

/// Streamable HTTP, one connection's worth: each message is a POST whose answer is JSON or an
/// SSE stream; in the handshake era the server's `Mcp-Session-Id` and an optional GET stream for
/// what it sends on its own. I/O-free: it builds the requests and reads what the host delivers.
/// A POST's answer, as read so far, travels with the call (``HTTPCallUse/answer``).
final class StreamableHTTPTransport: @unchecked Sendable {
    let url: String
    let configuredHeaders: [HTTPHeaderPair]
    let timeoutMilliseconds: Int
    /// The server's session (handshake era), from its answers.
    private(set) var sessionID: String?
    /// Sent as `MCP-Protocol-Version` once the era is known.
    var protocolVersion: String?
    /// The GET stream for server-initiated messages, while it is open.
    private(set) var listenCall: HTTPCallID?
    private var listenDecoder = SSEDecoder()

    /// One POST's answer, read so far.
    struct Answer: Sendable {
        var status = 0
        var contentType: String?
        var isEventStream = false
        var decoder = SSEDecoder()
        var body: [UInt8] = []
        /// The head's `Content-Length`: the body's room is reserved once.
        var expectedLength: Int?
    }

    /// The bytes of an error body kept (a JSON-RPC error response is passed on; more is cut).
    static let maxErrorBody = 65_536
    /// The most room reserved ahead from a `Content-Length` (a larger body grows as it comes).
    static let maxReservedBody = 16 << 20

    init(url: String, headers: [String: String], timeoutMilliseconds: Int) {
        self.url = url
        configuredHeaders = headers.sorted { $0.key < $1.key }.map { HTTPHeaderPair($0.key, $0.value) }
        self.timeoutMilliseconds = timeoutMilliseconds
    }

    /// A fresh start: no session, no era.
    func reset() {
        sessionID = nil
        protocolVersion = nil
        listenCall = nil
    }

    /// The POST carrying `message`; `headers` are the era's (`Mcp-Method`, `Mcp-Name`) and forwarded ones.
    func post(_ message: [UInt8], headers: [(String, String)]) -> HTTPCallRequest {
        var all = [HTTPHeaderPair("content-type", "application/json"),
                   HTTPHeaderPair("accept", "application/json, text/event-stream")]
        all.reserveCapacity(4 + headers.count + configuredHeaders.count)
        for (name, value) in headers { all.append(HTTPHeaderPair(name, value)) }
        if let sessionID { all.append(.init("mcp-session-id", sessionID)) }
        if let protocolVersion { all.append(.init("mcp-protocol-version", protocolVersion)) }
        all += configuredHeaders
        // The federation's own deadline (-32001) fires first; this one only bounds a stuck connection.
        return HTTPCallRequest(method: "POST", url: url, headers: all, body: message, timeoutMilliseconds: timeoutMilliseconds + 1000,
                               streamsBody: true)
    }

    /// The GET stream (handshake era) for what the server sends on its own.
    func listen(_ id: HTTPCallID) -> HTTPCallRequest {
        var headers = [HTTPHeaderPair("accept", "text/event-stream")]
        if let sessionID { headers.append(.init("mcp-session-id", sessionID)) }
        if let protocolVersion { headers.append(.init("mcp-protocol-version", protocolVersion)) }
        listenDecoder = SSEDecoder()
        listenCall = id
        return HTTPCallRequest(method: "GET", url: url, headers: headers + configuredHeaders, body: [],
                               timeoutMilliseconds: timeoutMilliseconds, streamsBody: true)
    }

    /// The response head of `call`.
    func response(_ call: HTTPCallUse, status: Int, contentType: String?, sessionID session: String?, contentLength: Int? = nil) -> [TransportOutput] {
        if call.kind == .listen {
            guard call.id == listenCall else { return [] }
            guard status == 200 else {
                listenCall = nil
                return [.log("no GET stream for server-initiated messages (HTTP \(status))")]
            }
            return []
        }
        call.answer.status = status
        call.answer.expectedLength = contentLength
        if let session { sessionID = session }
        if let contentType { call.answer.isEventStream = contentType.hasPrefixIgnoringCase("text/event-stream") }
        if status == 404, sessionID != nil, let requestID = call.requestID {
            // The server forgot our session: the federation initializes again.
            return [.requestFailed(requestID, reason: "the upstream session expired (HTTP 404)"), .failed("the upstream session expired (HTTP 404)")]
        }
        return []
    }

    /// A chunk of `call`'s body (`end`: the last), read in place.
    func body(_ call: HTTPCallUse, _ bytes: UnsafeRawBufferPointer, end: Bool) -> [TransportOutput] {
        if call.kind == .listen {
            guard call.id == listenCall else { return [] }
            let events = (try? listenDecoder.feed(bytes)) ?? []
            if end { listenCall = nil }
            return events.filter { $0.event == "message" && !$0.data.isEmpty }.map { .message($0.data, relatedTo: nil) }
        }
        var outputs: [TransportOutput] = []
        if call.answer.status >= 300 || call.answer.status < 200 {
            // Kept for the error: a JSON-RPC error response passes through to the client.
            if call.answer.body.count < Self.maxErrorBody { call.answer.body.append(contentsOf: bytes.prefix(Self.maxErrorBody - call.answer.body.count)) }
        } else if call.answer.isEventStream {
            do {
                for event in try call.answer.decoder.feed(bytes) where event.event == "message" && !event.data.isEmpty {
                    outputs.append(.message(event.data, relatedTo: call.requestID))
                }
            } catch {
                return outputs + failure(call, reason: "an SSE event was larger than \(call.answer.decoder.maxEventBytes) bytes")
            }
        } else {
            // The one copy of a JSON answer: whole in one piece (the common case), or into room
            // reserved for the whole body when its length is known.
            if call.answer.body.isEmpty, end {
                call.answer.body = Array(bytes)
            } else {
                if call.answer.body.isEmpty, let expected = call.answer.expectedLength, expected > bytes.count, expected <= Self.maxReservedBody {
                    call.answer.body.reserveCapacity(expected)
                }
                call.answer.body.append(contentsOf: bytes)
            }
        }
        if end { finish(call, into: &outputs) }
        return outputs
    }

    /// `call` ended with its head (no body).
    func ended(_ call: HTTPCallUse) -> [TransportOutput] {
        if call.kind == .listen {
            if call.id == listenCall { listenCall = nil }
            return []
        }
        var outputs: [TransportOutput] = []
        finish(call, into: &outputs)
        return outputs
    }

    /// `call` failed (refused, reset, timed out).
    func failed(_ call: HTTPCallUse, reason: String) -> [TransportOutput] {
        if call.kind == .listen {
            if call.id == listenCall { listenCall = nil }
            return []
        }
        return failure(call, reason: reason)
    }

    /// Stops: the GET stream to cancel, and the DELETE that ends the server's session.
    func stop() -> (cancel: HTTPCallID?, delete: HTTPCallRequest?) {
        let cancel = listenCall
        listenCall = nil
        defer { sessionID = nil }
        guard let sessionID else { return (cancel, nil) }
        return (cancel, HTTPCallRequest(method: "DELETE", url: url, headers: [.init("mcp-session-id", sessionID)] + configuredHeaders,
                                        body: [], timeoutMilliseconds: 2000, streamsBody: false))
    }

    /// What a finished answer means, appended to `outputs` (one array for a whole read, not one
    /// per piece: each costs an allocation and a copy of what it holds).
    private func finish(_ call: HTTPCallUse, into outputs: inout [TransportOutput]) {
        let answer = call.answer
        call.answer = Answer()
        switch answer.status {
        case 200..<300:
            outputs.reserveCapacity(outputs.count + 2)
            if !answer.isEventStream, !answer.body.isEmpty { outputs.append(.message(answer.body, relatedTo: call.requestID)) }
            if let requestID = call.requestID { outputs.append(.responseEnded(requestID)) }
        default:
            if let requestID = call.requestID, let error = Self.jsonRPCError(in: answer.body) {
                outputs.append(.rejected(requestID, error: error))
                return
            }
            let body = String(decoding: answer.body.prefix(512), as: UTF8.self).split(separator: "\n").first.map(String.init) ?? ""
            outputs += failure(call, reason: "HTTP \(answer.status)" + (body.isEmpty ? "" : ": \(body)"))
        }
    }

    private func failure(_ call: HTTPCallUse, reason: String) -> [TransportOutput] {
        call.requestID.map { [.requestFailed($0, reason: reason)] } ?? []
    }

    /// The error object of a JSON-RPC error response, when `body` is one.
    static func jsonRPCError(in body: [UInt8]) -> JSONValue? {
        guard let envelope = try? JSONRPCEnvelope.scan(body), envelope.kind == .error, let error = envelope.error else { return nil }
        let value = JSONValue(body, range: error)
        guard value["code"]?.int != nil, value["message"]?.string != nil else { return nil }
        return value
    }
}
