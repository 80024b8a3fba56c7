import Foundation
import PluginABI
import Logging
import Tracing
import NIOCore

/// What an exchange leaves behind when it is over: its request metrics and its access-log
/// line, with what plugins annotated.
extension Exchange {
    /// The status the client got, 0 when none was sent (the client left first).
    var answeredStatus: Int { responseStarted ? responseStatus : 0 }

    /// What every log line about this request carries.
    var logMetadata: Logger.Metadata {
        var metadata: Logger.Metadata = ["request_id": .string(String(id, radix: 16)), "route": .string(route.name)]
        if let traceID = trace?.traceID { metadata["trace_id"] = .string(traceID) }
        return metadata
    }

    /// Whether an annotation with `key` (any, when nil) is recorded on this request.
    func wantsAnnotation(_ key: UnsafeRawBufferPointer?) -> Bool {
        guard let key else { return isLogged || trace?.sampled == true }
        let use = annotationUse(key)
        return use.logged || use.traced
    }

    /// Who takes an annotation with `key`: this request's log line (sampled, and the route's
    /// policy wants the key) and its span (sampled; every key but the opt-in ones, which only a
    /// route's log can ask for).
    private func annotationUse(_ key: UnsafeRawBufferPointer) -> (logged: Bool, traced: Bool) {
        let policy = route.accessLog // isLogged implies a policy
        let logged = isLogged && policy!.logs(annotation: key)
        guard trace?.sampled == true else { return (logged, false) }
        return (logged, policy?.tracesAnnotation(key) ?? !AccessLogPolicy.isOptIn(key))
    }

    /// `annotate`: false when nothing records the key.
    func annotate(key: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer) -> Bool {
        record(key, value, into: &annotations)
    }

    /// `annotate_pairs`: false when nothing records any of them. The annotations are taken out
    /// of the exchange while they are set (one access to the property, not one per pair).
    func annotate(pairs: UnsafeBufferPointer<agw_header>) -> Bool {
        var taken = Annotations()
        swap(&taken, &annotations)
        defer { swap(&taken, &annotations) }
        var recorded = false
        for pair in pairs where record(pair.name.rawBuffer, pair.value.rawBuffer, into: &taken) { recorded = true }
        return recorded
    }

    /// Sets one annotation in `annotations` when something records its key.
    private func record(_ key: UnsafeRawBufferPointer, _ value: UnsafeRawBufferPointer, into annotations: inout Annotations) -> Bool {
        let use = annotationUse(key)
        guard use.logged || use.traced else { return false }
        annotations.set(key: key, value: value, logged: use.logged)
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
        let status = answeredStatus
        if let metrics = requestMetrics {
            metrics.count(method: requestHead.method, status: status)
            metrics.duration.record(Double(elapsed) / 1e9)
            if requestBodyBytes > 0 { metrics.requestBytes.increment(by: Int64(requestBodyBytes)) }
            if responseBodyBytes > 0 { metrics.responseBytes.increment(by: Int64(responseBodyBytes)) }
        }
        if !childSpans.isEmpty {
            for (_, child) in childSpans {
                child.setStatus(SpanStatus(code: .error, message: "the request ended first"))
                child.end()
            }
            childSpans = []
        }
        let span = trace?.span // a sampled request's span, started now if nothing needed it before
        if isLogged, let policy = route.accessLog { writeAccessLog(policy, elapsed: elapsed, status: status) }
        if let span { endSpan(span) }
    }

    /// Sets the server span's attributes (HTTP semantic conventions, then the annotations) and
    /// ends it. An MCP request's span is named `{mcp.method.name} {target}` as the MCP
    /// conventions ask.
    private func endSpan(_ span: any Span) {
        let status = answeredStatus
        let pairs = annotations.pairs
        // One update: swift-otel copies the whole attribute set under its lock on every
        // `attributes[key] =` (measured: ~50k instructions a span set one by one).
        span.updateAttributes { attributes in
            attributes["http.request.method"] = requestHead.method.rawValue
            attributes["url.path"] = String(requestHead.uri.prefix { $0 != "?" })
            attributes["network.protocol.version"] = connection.httpVersion == "HTTP/2" ? "2" : "1.1"
            attributes["client.address"] = connection.peerIP
            attributes["agw.listener"] = connection.listenerName
            attributes["agw.route"] = route.name
            attributes["agw.request_id"] = String(id, radix: 16)
            if status > 0 { attributes["http.response.status_code"] = status }
            if let agent = requestHead.headers.first(name: "user-agent") { attributes["user_agent.original"] = agent }
            if let upstreamName { attributes["agw.upstream"] = upstreamName }
            if let decider = decidedBy ?? rpc.rejectedBy, decider < stages.count { attributes["agw.decided_by"] = stages[decider].instanceName }
            for (key, value) in pairs { attributes[key] = value }
            if status >= 500 || status == 0 { attributes["error.type"] = status == 0 ? "aborted" : String(status) }
        }
        if let method = pairs.first(where: { $0.key == "mcp.method.name" })?.value {
            let target = pairs.first { ["gen_ai.tool.name", "gen_ai.prompt.name", "mcp.resource.uri"].contains($0.key) }?.value
            span.operationName = target.map { "\(method) \($0)" } ?? method
        }
        if status >= 500 || status == 0 {
            span.setStatus(SpanStatus(code: .error, message: status == 0 ? "the client left before the response" : "HTTP \(status)"))
        }
        span.end()
    }

    private func writeAccessLog(_ policy: AccessLogPolicy, elapsed: UInt64, status: Int) {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        let decider = decidedBy ?? rpc.rejectedBy
        let record = AccessLogRecord(
            unixNanoseconds: UInt64(now.tv_sec) * 1_000_000_000 + UInt64(now.tv_nsec),
            requestID: id, traceID: trace?.traceID, spanID: trace?.spanID,
            listener: connection.listenerName, route: route.name, httpVersion: connection.httpVersion,
            method: requestHead.method.rawValue, uri: requestHead.uri, status: status, durationNanoseconds: elapsed,
            requestBytes: requestBodyBytes, responseBytes: responseBodyBytes, peer: connection.peerAddress,
            userAgent: requestHead.headers.first(name: "user-agent"),
            subject: keyValues.isEmpty ? nil : keyValues.value(forKey: IdentityKey.subject),
            authMethod: keyValues.isEmpty ? nil : keyValues.value(forKey: IdentityKey.method),
            upstream: upstreamName,
            decidedBy: decider.flatMap { $0 < stages.count ? stages[$0].instanceName : nil },
            annotations: annotations)
        AccessLogFormat.withLine(record, policy: policy) { services.accessLog.write($0) }
    }
}

/// The per-stream keys the identity filters set (PluginKit's `IdentityKeys`), as the host reads them.
enum IdentityKey {
    static let subject = "agw.auth.sub"
    static let method = "agw.auth.method"
}
