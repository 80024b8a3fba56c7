import Foundation
import SSE

/// The 2024-11-05 HTTP+SSE transport, one connection's worth: a GET stream whose first
/// `endpoint` event names where to POST; every answer comes back on the stream. I/O-free.
final class LegacySSETransport: @unchecked Sendable {
    let url: String
    let configuredHeaders: [HTTPHeaderPair]
    /// The open GET stream.
    private(set) var streamCall: HTTPCallID?
    /// Where messages are POSTed (from the `endpoint` event, resolved against `url`).
    private(set) var endpoint: String?
    private var decoder = SSEDecoder()

    init(url: String, headers: [String: String]) {
        self.url = url
        configuredHeaders = headers.sorted { $0.key < $1.key }.map { HTTPHeaderPair($0.key, $0.value) }
    }

    /// Starts over: the GET stream for call `id`.
    func open(_ id: HTTPCallID) -> HTTPCallRequest {
        endpoint = nil
        decoder = SSEDecoder()
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

    func response(_ call: HTTPCallUse, status: Int) -> [TransportOutput] {
        if call.kind == .sseStream {
            guard call.id == streamCall else { return [] }
            guard status == 200 else {
                streamCall = nil
                return [.failed("GET \(url) answered HTTP \(status)")]
            }
            return []
        }
        guard (200..<300).contains(status) else {
            return call.requestID.map { [.requestFailed($0, reason: "POST answered HTTP \(status)")] } ?? []
        }
        return []
    }

    func body(_ call: HTTPCallUse, _ bytes: UnsafeRawBufferPointer, end: Bool) -> [TransportOutput] {
        guard call.kind == .sseStream, call.id == streamCall else { return [] }
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

    func failed(_ call: HTTPCallUse, reason: String) -> [TransportOutput] {
        if call.kind == .sseStream {
            guard call.id == streamCall else { return [] }
            streamCall = nil
            return [.failed(reason.isEmpty ? "the SSE stream failed" : reason)]
        }
        return call.requestID.map { [.requestFailed($0, reason: reason)] } ?? []
    }

    /// Stops: the stream to cancel.
    func stop() -> HTTPCallID? {
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
