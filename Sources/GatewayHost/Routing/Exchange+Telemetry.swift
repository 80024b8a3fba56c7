import Foundation
import Logging
import Tracing
import NIOCore

/// What an exchange leaves behind when it is over: its request metrics and its access-log
/// line, with what plugins annotated.
extension Exchange {
    /// The status the client got, 0 when none was sent (the client left first).
    var answeredStatus: Int { responseStarted ? Int(responseHead?.status.code ?? 0) : 0 }

    /// What every log line about this request carries.
    var logMetadata: Logger.Metadata {
        var metadata: Logger.Metadata = ["request_id": .string(String(id, radix: 16)), "route": .string(route.name)]
        if let traceID = trace?.traceID { metadata["trace_id"] = .string(traceID) }
        return metadata
    }

    /// Whether an annotation with `key` (any, when nil) is recorded on this request.
    func wantsAnnotation(_ key: String?) -> Bool {
        let logs = isLogged && route.accessLog != nil
        let traced = trace?.sampled == true
        guard logs || traced else { return false }
        guard let key else { return true }
        if logs, route.accessLog!.wants(key) { return true }
        // A span takes every annotation but the opt-in ones, which only a route's log can ask for.
        return traced && !AccessLogPolicy.isOptIn(key)
    }

    /// `annotate`: false when nothing records the key.
    func annotate(_ key: String, _ value: String) -> Bool {
        guard wantsAnnotation(key) else { return false }
        if let index = annotations.firstIndex(where: { $0.key == key }) {
            annotations[index].value = value
        } else {
            annotations.append((key, value))
        }
        return true
    }

    /// Keeps a span a plugin started; returns its id (1, 2, …).
    func addChildSpan(_ span: any Span) -> UInt64 {
        let id = (childSpans.last?.id ?? 0) + 1
        childSpans.append((id, span))
        return id
    }

    func removeChildSpan(_ id: UInt64) -> (any Span)? {
        guard let index = childSpans.firstIndex(where: { $0.id == id }) else { return nil }
        return childSpans.remove(at: index).span
    }

    /// Records the finished exchange. Called once, from `complete()`.
    func recordFinished() {
        let elapsed = NIODeadline.now().uptimeNanoseconds &- startedAt
        if let metrics = requestMetrics {
            metrics.count(method: requestHead.method, status: answeredStatus)
            metrics.duration.record(Double(elapsed) / 1e9)
            if requestBodyBytes > 0 { metrics.requestBytes.increment(by: Int64(requestBodyBytes)) }
            if responseBodyBytes > 0 { metrics.responseBytes.increment(by: Int64(responseBodyBytes)) }
        }
        for (_, child) in childSpans {
            child.setStatus(SpanStatus(code: .error, message: "the request ended first"))
            child.end()
        }
        childSpans = []
        let span = trace?.span // a sampled request's span, started now if nothing needed it before
        if isLogged, let policy = route.accessLog { writeAccessLog(policy, elapsed: elapsed) }
        if let span { endSpan(span) }
    }

    /// Sets the server span's attributes (HTTP semantic conventions, then the annotations) and
    /// ends it. An MCP request's span is named `{mcp.method.name} {target}` as the MCP
    /// conventions ask.
    private func endSpan(_ span: any Span) {
        let status = answeredStatus
        span.attributes["http.request.method"] = requestHead.method.rawValue
        span.attributes["url.path"] = String(requestHead.uri.prefix { $0 != "?" })
        span.attributes["network.protocol.version"] = connection.httpVersion == "HTTP/2" ? "2" : "1.1"
        span.attributes["client.address"] = BackendCall.ipOnly(connection.peerAddress)
        span.attributes["agw.listener"] = connection.listenerName
        span.attributes["agw.route"] = route.name
        span.attributes["agw.request_id"] = String(id, radix: 16)
        if status > 0 { span.attributes["http.response.status_code"] = status }
        if let agent = requestHead.headers.first(name: "user-agent") { span.attributes["user_agent.original"] = agent }
        if let upstreamName { span.attributes["agw.upstream"] = upstreamName }
        if let decider = decidedBy ?? rpc.rejectedBy, decider < stages.count { span.attributes["agw.decided_by"] = stages[decider].instanceName }
        for (key, value) in annotations where !AccessLogPolicy.isOptIn(key) || route.accessLog?.wants(key) == true {
            span.attributes[key] = value
        }
        if let method = annotations.first(where: { $0.key == "mcp.method.name" })?.value {
            let target = annotations.first { ["gen_ai.tool.name", "gen_ai.prompt.name", "mcp.resource.uri"].contains($0.key) }?.value
            span.operationName = target.map { "\(method) \($0)" } ?? method
        }
        if status >= 500 || status == 0 {
            span.setStatus(SpanStatus(code: .error, message: status == 0 ? "the client left before the response" : "HTTP \(status)"))
            span.attributes["error.type"] = status == 0 ? "aborted" : String(status)
        }
        span.end()
    }

    private func writeAccessLog(_ policy: AccessLogPolicy, elapsed: UInt64) {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        let decider = decidedBy ?? rpc.rejectedBy
        let record = AccessLogRecord(
            unixNanoseconds: UInt64(now.tv_sec) * 1_000_000_000 + UInt64(now.tv_nsec),
            requestID: id, traceID: trace?.traceID, spanID: trace?.spanID,
            listener: connection.listenerName, route: route.name, httpVersion: connection.httpVersion,
            method: requestHead.method.rawValue, uri: requestHead.uri, status: answeredStatus, durationNanoseconds: elapsed,
            requestBytes: requestBodyBytes, responseBytes: responseBodyBytes, peer: connection.peerAddress,
            userAgent: requestHead.headers.first(name: "user-agent"),
            subject: keyValues[IdentityKey.subject].map { String(decoding: $0, as: UTF8.self) },
            authMethod: keyValues[IdentityKey.method].map { String(decoding: $0, as: UTF8.self) },
            upstream: upstreamName,
            decidedBy: decider.flatMap { $0 < stages.count ? stages[$0].instanceName : nil },
            annotations: annotations)
        services.accessLog.write(AccessLogFormat.line(record, policy: policy))
    }
}

/// The per-stream keys the identity filters set (PluginKit's `IdentityKeys`), as the host reads them.
enum IdentityKey {
    static let subject = "agw.auth.sub"
    static let method = "agw.auth.method"
}
