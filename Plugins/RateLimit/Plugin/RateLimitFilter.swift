import Foundation
import PluginKit
import PolicyKit
import RateLimitCore

/// The `ratelimit` filter: token buckets per descriptor (identity, client address, route, header,
/// MCP tool, ...). Over a limit: HTTP 429 with `Retry-After` and `RateLimit-Limit/Remaining/Reset`;
/// on MCP routes the body is a JSON-RPC error for the request's id.
final class RateLimitFilter: Filter, RPCFilter, @unchecked Sendable {
    static let name = "ratelimit"
    /// The quota headers go on the response; nothing happens at the end of a stream.
    static let implementedHooks: FilterHooks = [.responseHeaders]

    let limiter: RateLimiter
    private let hasRequestLimits: Bool
    private let hasMessageLimits: Bool
    /// `agw_ratelimit_refused_total{route, limit}`.
    private let refusals: MetricSeriesCache<Counter>
    private let route: String

    /// JSON-RPC's "server error" range; the message says which limit.
    static let errorCode: Int32 = -32029

    init(configuration: FilterConfiguration) throws {
        let config: RateLimitConfig
        do {
            config = try RateLimitConfig(json: configuration.json)
        } catch {
            throw FilterConfiguration.Invalid(error.description)
        }
        limiter = RateLimiter(config: config, clock: { DispatchTime.now().uptimeNanoseconds })
        hasRequestLimits = config.limits.contains { !$0.perMessage }
        hasMessageLimits = config.limits.contains { $0.perMessage }
        refusals = MetricSeriesCache(configuration.counter(name: "agw_ratelimit_refused_total", help: "Requests and messages refused by a rate limit",
                                                           labels: ["route", "limit"]))
        route = configuration.routeName
    }

    /// The quota an admitted request leaves, for its response's headers.
    private final class Admitted {
        var quota: RateLimiter.Quota
        init(_ quota: RateLimiter.Quota) { self.quota = quota }
        /// Keeps the tighter of two quotas (request-level and message-level limits).
        func merge(_ other: RateLimiter.Quota) { if other.remaining < quota.remaining { quota = other } }
    }

    private func remember(_ quota: RateLimiter.Quota?, _ stream: FilterStream) {
        guard limiter.config.responseHeaders, let quota else { return }
        if let admitted = stream.state as? Admitted { admitted.merge(quota) } else { stream.state = Admitted(quota) }
    }

    func responseHeaders(_ stream: FilterStream, endOfStream: Bool) -> FilterStatus {
        guard let admitted = stream.state as? Admitted else { return .continue }
        stream.setHeader("ratelimit-limit", String(admitted.quota.maxTokens), in: .response)
        stream.setHeader("ratelimit-remaining", String(admitted.quota.remaining), in: .response)
        stream.setHeader("ratelimit-reset", String(admitted.quota.resetSeconds), in: .response)
        return .continue
    }

    func requestHeaders(_ stream: FilterStream, endOfStream: Bool) -> FilterStatus {
        guard hasRequestLimits, let refusal = refusal(perMessage: false, StreamActivation(stream: stream), stream) else { return .continue }
        let isJSONRPC = stream.attribute(.method) == "POST"
            && (stream.header("content-type").map { Array($0.utf8.prefix(16)).map { $0 | 0x20 }.elementsEqual("application/json".utf8) } ?? false)
        let body = isJSONRPC
            ? #"{"jsonrpc":"2.0","id":null,"error":{"code":\#(Self.errorCode),"message":\#(Self.quoted(Self.message(refusal))),"data":{"retryAfterSeconds":\#(refusal.retryAfterSeconds)}}}"#
            : Self.message(refusal) + "\n"
        stream.sendLocalReply(status: 429, headers: Self.headers(refusal) + [("content-type", isJSONRPC ? "application/json" : "text/plain; charset=utf-8")],
                              body: body)
        return .replied
    }

    func wantsRPCMessage(kind: RPCMessage.Kind, fromClient: Bool) -> Bool { hasMessageLimits && fromClient && kind == .request }

    func rpcMessage(_ message: RPCMessage, stream: FilterStream) -> FilterStatus {
        guard wantsRPCMessage(kind: message.kind, fromClient: message.isFromClient),
              let refusal = refusal(perMessage: true, StreamActivation(stream: stream, message: message), stream) else { return .continue }
        stream.rejectRPC(code: Self.errorCode, message: Self.message(refusal), httpStatus: 429, headers: Self.headers(refusal))
        return .replied
    }

    /// Takes a token from every limit that applies: nil when admitted (its quota remembered for
    /// the response), else the refusal, counted and logged.
    private func refusal(perMessage: Bool, _ activation: StreamActivation, _ stream: FilterStream) -> RateLimiter.Refusal? {
        switch limiter.check(perMessage: perMessage, activation) {
        case .admitted(let quota):
            remember(quota, stream)
            return nil
        case .refused(let refusal):
            count(refusal, stream)
            return refusal
        }
    }

    private func count(_ refusal: RateLimiter.Refusal, _ stream: FilterStream) {
        refusals.series(route, refusal.limit)?.increment()
        stream.addTraceEvent("ratelimit.refused", attributes: [("agw.ratelimit.limit", refusal.limit)])
        stream.log(.debug, "ratelimit: '\(refusal.limit)' refused \(stream.value(forKey: IdentityKeys.subject) ?? stream.attribute(.peerAddress) ?? "?"); retry in \(refusal.retryAfterSeconds) s")
    }

    private static func message(_ refusal: RateLimiter.Refusal) -> String {
        "Rate limit exceeded ('\(refusal.limit)'); retry in \(refusal.retryAfterSeconds) s"
    }

    /// `Retry-After` (RFC 9110) and the RateLimit header fields of draft-ietf-httpapi-ratelimit-headers.
    private static func headers(_ refusal: RateLimiter.Refusal) -> [(String, String)] {
        [("retry-after", String(refusal.retryAfterSeconds)), ("ratelimit-limit", String(refusal.maxTokens)),
         ("ratelimit-remaining", "0"), ("ratelimit-reset", String(refusal.retryAfterSeconds))]
    }

    private static func quoted(_ text: String) -> String {
        let data = (try? JSONSerialization.data(withJSONObject: [text], options: [.withoutEscapingSlashes])) ?? Data("[\"\"]".utf8)
        return String(decoding: data.dropFirst().dropLast(), as: UTF8.self)
    }
}
