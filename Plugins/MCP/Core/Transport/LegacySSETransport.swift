import Foundation

/// The 2024-11-05 HTTP+SSE transport, one connection's worth: a GET stream whose first
/// `endpoint` event names where to POST; every answer comes back on the stream. I/O-free.
struct LegacySSETransport: Sendable {
    let url: String
    let configuredHeaders: [HTTPCallRequest.Header]
    /// The open GET stream.
    private(set) var streamCall: HTTPCallID?
    /// Where messages are POSTed (from the `endpoint` event, resolved against `url`).
    private(set) var endpoint: String?
    private var decoder = SSEDecoder()
    /// POSTs in flight, with the request each carries.
    private var posts: [HTTPCallID: Int?] = [:]

    init(url: String, headers: [String: String]) {
        self.url = url
        configuredHeaders = headers.sorted { $0.key < $1.key }.map { HTTPCallRequest.Header($0.key, $0.value) }
    }

    /// Starts over: the GET stream for call `id`.
    mutating func open(_ id: HTTPCallID) -> HTTPCallRequest {
        endpoint = nil
        decoder = SSEDecoder()
        posts.removeAll()
        streamCall = id
        return HTTPCallRequest(method: "GET", url: url, headers: [.init("accept", "text/event-stream")] + configuredHeaders,
                               body: [], timeoutMilliseconds: 10_000, streamsBody: true)
    }

    /// The POST of `message`, or nil while there is no endpoint.
    func post(_ message: [UInt8]) -> HTTPCallRequest? {
        guard let endpoint else { return nil }
        return HTTPCallRequest(method: "POST", url: endpoint, headers: [.init("content-type", "application/json")] + configuredHeaders,
                               body: message, timeoutMilliseconds: 10_000, streamsBody: false)
    }

    mutating func opened(_ id: HTTPCallID, requestID: Int?) { posts[id] = requestID }

    func owns(_ id: HTTPCallID) -> Bool { id == streamCall || posts[id] != nil }

    mutating func response(_ id: HTTPCallID, status: Int) -> [TransportOutput] {
        if id == streamCall {
            guard status == 200 else {
                streamCall = nil
                return [.failed("GET \(url) answered HTTP \(status)")]
            }
            return []
        }
        guard let requestID = posts.removeValue(forKey: id) else { return [] }
        guard (200..<300).contains(status) else {
            return requestID.map { [.requestFailed($0, reason: "POST answered HTTP \(status)")] } ?? []
        }
        return []
    }

    mutating func body(_ id: HTTPCallID, _ bytes: [UInt8], end: Bool) -> [TransportOutput] {
        guard id == streamCall else { return [] }
        var outputs: [TransportOutput] = []
        do {
            for event in try decoder.feed(bytes) {
                switch event.event {
                case "endpoint" where endpoint == nil:
                    endpoint = Self.resolve(String(decoding: event.data, as: UTF8.self), against: url)
                    outputs.append(.connected)
                case "message" where !event.data.isEmpty:
                    outputs.append(.message(event.data, relatedTo: nil))
                default:
                    break
                }
            }
        } catch {
            streamCall = nil
            return outputs + [.failed("an SSE event was too large")]
        }
        if end {
            streamCall = nil
            outputs.append(.failed("the SSE stream closed"))
        }
        return outputs
    }

    mutating func failed(_ id: HTTPCallID, reason: String) -> [TransportOutput] {
        if id == streamCall {
            streamCall = nil
            return [.failed(reason.isEmpty ? "the SSE stream failed" : reason)]
        }
        guard let requestID = posts.removeValue(forKey: id) else { return [] }
        return requestID.map { [.requestFailed($0, reason: reason)] } ?? []
    }

    /// Stops: the stream to cancel.
    mutating func stop() -> HTTPCallID? {
        defer {
            streamCall = nil
            endpoint = nil
        }
        return streamCall
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
