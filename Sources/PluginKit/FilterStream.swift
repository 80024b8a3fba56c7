// Longer than ~400 lines on purpose: `FilterStream` is the SDK's one per-request surface, a
// documented wrapper per host function in the order of `agw_host_api`'s sections, so a reader of
// the C table finds each Swift call where the table puts it.

import ABIInterop
import JSON
import PluginABI

/// One request/response as a filter sees it. Valid during the stream's hooks and events; use it
/// only on the stream's event loop (hooks and events run there). From other threads, post to a
/// ``Scheduler`` made with ``makeScheduler()``.
public struct FilterStream {
    let host: UnsafePointer<agw_host_api>
    let handle: OpaquePointer
    let box: StreamBox

    /// Which header map or body.
    public enum Part: Sendable {
        /// The client's request, or the response to it.
        case request, response
        var raw: agw_map { self == .request ? AGW_MAP_REQUEST : AGW_MAP_RESPONSE }
    }

    /// Request attributes.
    public enum Attribute: Sendable {
        /// `GET`, `POST`, …
        case method
        /// The path and query as received (after filters' rewrites).
        case path
        /// The `Host` header or `:authority`.
        case host
        /// `http` or `https`.
        case scheme
        /// The client's address, `127.0.0.1:53211`.
        case peerAddress
        /// The server name the client asked for (TLS only).
        case tlsServerName
        /// The client certificate's subject (mTLS only).
        case tlsPeerSubject
        /// The route's and listener's names from the config.
        case routeName, listenerName
        /// `HTTP/1.1` or `HTTP/2`.
        case httpVersion
        /// Unique per stream.
        case requestID
        /// The response status, once the response started.
        case responseStatus
        /// The instance name of the filter that asks.
        case filterName
        /// The path the route matches on: its `path_prefix`, else its exact `path` (ABI 1.4; nil
        /// on an older host or a route that matches on neither).
        case routePathPrefix
        /// The request's trace id (32 hex digits), when it carries a trace (ABI 1.5).
        case traceID
        /// "1" when the gateway traces requests (ABI 1.5).
        case tracing
        var raw: agw_attribute {
            switch self {
            case .method: return AGW_ATTR_METHOD
            case .path: return AGW_ATTR_PATH
            case .host: return AGW_ATTR_HOST
            case .scheme: return AGW_ATTR_SCHEME
            case .peerAddress: return AGW_ATTR_PEER_ADDRESS
            case .tlsServerName: return AGW_ATTR_TLS_SNI
            case .tlsPeerSubject: return AGW_ATTR_TLS_PEER_SUBJECT
            case .routeName: return AGW_ATTR_ROUTE_NAME
            case .listenerName: return AGW_ATTR_LISTENER_NAME
            case .httpVersion: return AGW_ATTR_HTTP_VERSION
            case .requestID: return AGW_ATTR_REQUEST_ID
            case .responseStatus: return AGW_ATTR_RESPONSE_STATUS
            case .filterName: return AGW_ATTR_FILTER_NAME
            case .routePathPrefix: return AGW_ATTR_ROUTE_PATH_PREFIX
            case .traceID: return AGW_ATTR_TRACE_ID
            case .tracing: return AGW_ATTR_TRACING
            }
        }
    }

    /// Per-stream state of this filter (anything you like); lives until the stream ends.
    public var state: AnyObject? {
        get { box.state }
        nonmutating set { box.state = newValue }
    }

    // MARK: headers

    /// The first value of a header (case-insensitive name).
    public func header(_ name: String, in part: Part = .request) -> String? {
        var value = agw_str()
        let result = name.withAGWString { host.pointee.header_get(handle, part.raw, $0, 0, &value) }
        return result == AGW_OK ? value.string : nil
    }

    /// Every value of a header (case-insensitive name), in order.
    public func headerValues(_ name: String, in part: Part = .request) -> [String] {
        var values: [String] = []
        name.withAGWString { name in
            var value = agw_str()
            while host.pointee.header_get(handle, part.raw, name, values.count, &value) == AGW_OK { values.append(value.string) }
        }
        return values
    }

    /// Reads the `index`th value of a header (case-insensitive name) in place, without a
    /// `String`: body gets its bytes, valid only during the call. Nil when there is no such value.
    public func withHeader<R>(_ name: StaticString, at index: Int = 0, in part: Part = .request,
                              _ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R? {
        var value = agw_str()
        let name = agw_str(viewing: UnsafeRawBufferPointer(start: name.utf8Start, count: name.utf8CodeUnitCount))
        guard host.pointee.header_get(handle, part.raw, name, index, &value) == AGW_OK else { return nil }
        return try body(value.rawBuffer)
    }

    /// Reads a header's value in place, as the `StaticString` form does, for a name known only at
    /// run time (from a config).
    public func withHeader<R>(_ name: String, at index: Int = 0, in part: Part = .request,
                              _ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R? {
        var value = agw_str()
        guard name.withAGWString({ host.pointee.header_get(handle, part.raw, $0, index, &value) }) == AGW_OK else { return nil }
        return try body(value.rawBuffer)
    }

    /// Every header, in order.
    public func headers(in part: Part = .request) -> [(name: String, value: String)] {
        var count = 0
        guard host.pointee.header_count(handle, part.raw, &count) == AGW_OK else { return [] }
        return (0..<count).compactMap { index in
            var name = agw_str(), value = agw_str()
            guard host.pointee.header_at(handle, part.raw, index, &name, &value) == AGW_OK else { return nil }
            return (name.string, value.string)
        }
    }

    @discardableResult
    public func setHeader(_ name: String, _ value: String, in part: Part = .request) -> Bool {
        name.withAGWString { n in value.withAGWString { v in host.pointee.header_set(handle, part.raw, n, v) } } == AGW_OK
    }

    @discardableResult
    public func addHeader(_ name: String, _ value: String, in part: Part = .request) -> Bool {
        name.withAGWString { n in value.withAGWString { v in host.pointee.header_add(handle, part.raw, n, v) } } == AGW_OK
    }

    @discardableResult
    public func removeHeader(_ name: String, in part: Part = .request) -> Bool {
        name.withAGWString { host.pointee.header_remove(handle, part.raw, $0) } == AGW_OK
    }

    // MARK: bodies (inside body hooks)

    /// The whole buffered body, inside `requestBody` / `responseBody` (a handler may read the
    /// request body later too); nil outside them.
    public func body(of part: Part = .request) -> [UInt8]? {
        var body = agw_str()
        guard host.pointee.body_get(handle, part.raw, &body) == AGW_OK else { return nil }
        return body.bytes
    }

    @discardableResult
    public func replaceBody(of part: Part = .request, with bytes: [UInt8]) -> Bool {
        bytes.withAGWString { host.pointee.body_replace(handle, part.raw, $0) } == AGW_OK
    }

    // MARK: replies

    /// Answers the client now. Return `.replied` from the hook.
    @discardableResult
    public func sendLocalReply(status: Int, headers: [(String, String)] = [], body: String = "") -> Bool {
        headers.withAGWHeaders { pointer, count in
            body.withAGWString { host.pointee.send_local_reply(handle, UInt32(status), pointer, count, $0) }
        } == AGW_OK
    }

    /// Handlers: starts the response.
    @discardableResult
    public func respond(status: Int, headers: [(String, String)] = [], endOfStream: Bool = false) -> Bool {
        headers.withAGWHeaders { pointer, count in
            host.pointee.respond_headers(handle, UInt32(status), pointer, count, endOfStream ? 1 : 0)
        } == AGW_OK
    }

    /// Handlers: sends a body chunk now. False once the client is gone.
    @discardableResult
    public func respondBody(_ bytes: [UInt8], endOfStream: Bool = false) -> Bool {
        bytes.withAGWString { host.pointee.respond_body(handle, $0, endOfStream ? 1 : 0) } == AGW_OK
    }

    /// Sends part of a byte array without copying it first (the host copies it once).
    @discardableResult
    public func respondBody(_ bytes: ArraySlice<UInt8>, endOfStream: Bool = false) -> Bool {
        bytes.withUnsafeBytes { host.pointee.respond_body(handle, agw_str(viewing: $0), endOfStream ? 1 : 0) } == AGW_OK
    }

    @discardableResult
    public func respondBody(_ text: String, endOfStream: Bool = false) -> Bool {
        respondBody(Array(text.utf8), endOfStream: endOfStream)
    }

    // MARK: state

    /// Resumes a stream a hook paused with `.stop`.
    @discardableResult
    public func resume() -> Bool { host.pointee.resume(handle) == AGW_OK }

    /// Per-stream key-value shared by all filters of the stream (e.g. the identity auth found).
    public func setValue(_ value: String, forKey key: String) {
        _ = key.withAGWString { k in value.withAGWString { v in host.pointee.kv_set(handle, k, v) } }
    }

    /// The value's bytes (no `String` made).
    public func bytes(forKey key: String) -> [UInt8]? {
        var value = agw_str()
        let result = key.withAGWString { host.pointee.kv_get(handle, $0, &value) }
        return result == AGW_OK ? value.bytes : nil
    }

    /// Records a fact about the request for its access-log line and trace span (`annotate`):
    /// use OpenTelemetry attribute names where one exists (`mcp.method.name`,
    /// `gen_ai.tool.name`). Never a credential. Does nothing on a request nothing records
    /// (or on a host before ABI 1.5).
    public func annotate(_ key: String, _ value: String) {
        guard host.pointee.hasMinor5, let annotate = host.pointee.annotate else { return }
        _ = key.withAGWString { k in value.withAGWString { v in annotate(handle, k, v) } }
    }

    /// Records several facts in one call (``annotate(_:_:)`` for each pair, in order): a filter
    /// that annotates every request crosses into the host once. On a host before ABI 1.6 the
    /// pairs go one by one.
    public func annotate(_ pairs: [(String, String)]) {
        guard !pairs.isEmpty else { return }
        guard host.pointee.hasMinor6, let annotatePairs = host.pointee.annotate_pairs else {
            for (key, value) in pairs { annotate(key, value) }
            return
        }
        _ = pairs.withAGWHeaders { annotatePairs(handle, $0, $1) }
    }

    /// The W3C trace context to carry in a message sent on for this request (MCP:
    /// `params._meta.traceparent` / `tracestate`); nil when the request carries no trace.
    public func traceContext() -> (traceparent: String, tracestate: String?)? {
        guard host.pointee.hasMinor5, let get = host.pointee.trace_context_get else { return nil }
        var parent = agw_str()
        var state = agw_str()
        guard get(handle, &parent, &state) == AGW_OK else { return nil }
        return (parent.string, state.len > 0 ? state.string : nil)
    }

    /// Continues the trace a message names (MCP's `params._meta.traceparent`) when the request
    /// head named none. False when it was not taken (malformed, too late, or no tracing).
    @discardableResult
    public func adoptTrace(traceparent: String, tracestate: String?) -> Bool {
        guard host.pointee.hasMinor5, let adopt = host.pointee.trace_context_adopt else { return false }
        return traceparent.withAGWString { p in (tracestate ?? "").withAGWString { s in adopt(handle, p, s) } } == AGW_OK
    }

    /// Starts a child span of the request's (when it is sampled) for upstream work the gateway
    /// does not see, such as a call written to a child process. Returns its id and the
    /// `traceparent` to carry in the message; end it with ``endSpan(_:error:)``.
    public func startSpan(_ name: String) -> (id: UInt64, traceparent: String)? {
        guard host.pointee.hasMinor5, let start = host.pointee.trace_span_start else { return nil }
        var id: UInt64 = 0
        var traceparent = agw_str()
        guard name.withAGWString({ start(handle, $0, &id, &traceparent) }) == AGW_OK else { return nil }
        return (id, traceparent.string)
    }

    /// Ends a span ``startSpan(_:)`` started; `error` marks it failed.
    public func endSpan(_ id: UInt64, error: String? = nil) {
        guard host.pointee.hasMinor5, let end = host.pointee.trace_span_end else { return }
        _ = (error ?? "").withAGWString { end(handle, id, error == nil ? 0 : 1, $0) }
    }

    /// Adds an event to the request's span (when it is sampled), e.g. a policy decision. The
    /// attributes are built only when the gateway traces requests at all.
    public func addTraceEvent(_ name: String, attributes: @autoclosure () -> [(String, String)] = []) {
        guard host.pointee.hasMinor5, let add = host.pointee.trace_event_add, withAttribute(.tracing, { _ in true }) == true else { return }
        _ = name.withAGWString { n in attributes().withAGWHeaders { add(handle, n, $0, $1) } }
    }

    /// Whether `annotate(key, …)` would be recorded (with nil: whether any annotation would be).
    /// Ask before building a costly value, or once before several annotations.
    public func wantsAnnotation(_ key: String? = nil) -> Bool {
        guard host.pointee.hasMinor5, let wanted = host.pointee.annotation_wanted else { return false }
        return (key ?? "").withAGWString { wanted(handle, $0) } == 1
    }

    /// The stream's key–value entry as text (e.g. ``IdentityKeys/subject``), nil when unset.
    public func value(forKey key: String) -> String? {
        var value = agw_str()
        let result = key.withAGWString { host.pointee.kv_get(handle, $0, &value) }
        return result == AGW_OK ? value.string : nil
    }

    /// Whether the stream's key–value entry `key` is set to exactly `text` (compared as bytes,
    /// no `String` made): e.g. whether ``IdentityKeys/method`` is `jwt`.
    public func hasValue(_ text: StaticString, forKey key: String) -> Bool {
        var value = agw_str()
        guard key.withAGWString({ host.pointee.kv_get(handle, $0, &value) }) == AGW_OK else { return false }
        return value.rawBuffer.isExactly(text)
    }

    /// A request attribute as text, nil when it does not apply (no TLS, no response yet).
    public func attribute(_ attribute: Attribute) -> String? {
        var value = agw_str()
        return host.pointee.attribute_get(handle, attribute.raw, &value) == AGW_OK ? value.string : nil
    }

    /// Reads a request attribute in place, without a `String`: body gets its bytes, valid only
    /// during the call. Nil when the attribute does not apply.
    public func withAttribute<R>(_ attribute: Attribute, _ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R? {
        var value = agw_str()
        guard host.pointee.attribute_get(handle, attribute.raw, &value) == AGW_OK else { return nil }
        return try body(value.rawBuffer)
    }

    // MARK: async

    /// The scope of this filter on this stream: its calls, timers and processes end with the stream.
    public var scope: Scope {
        Scope(host: host, handle: host.pointee.stream_scope(handle))
    }

    /// A handle to get back onto this stream from any thread.
    public func makeScheduler() -> Scheduler? { scope.makeScheduler() }

    /// Logs through the gateway's logger; the message is only built when the level is enabled.
    public func log(_ level: LogLevel, _ message: @autoclosure () -> String) {
        guard host.pointee.log_enabled(level.raw) != 0 else { return }
        scope.log(level, message())
    }

    // MARK: protocol messages

    /// Inside `rpcMessage`: reject the message with a JSON-RPC error. Return `.replied`.
    ///
    /// `httpStatus` and `headers` ask the handler to send its error reply with that status and
    /// those headers (e.g. 429 and `Retry-After`); a host older than ABI 1.2 ignores them.
    @discardableResult
    public func rejectRPC(code: Int32, message: String, httpStatus: Int = 0, headers: [(String, String)] = []) -> Bool {
        if httpStatus != 0 || !headers.isEmpty, host.pointee.has(\.rpc_reject_with_response),
           let rejectWithResponse = host.pointee.rpc_reject_with_response {
            return message.withAGWString { text in
                headers.withAGWHeaders { pointer, count in rejectWithResponse(handle, code, text, UInt32(httpStatus), pointer, count) }
            } == AGW_OK
        }
        return message.withAGWString { host.pointee.rpc_reject(handle, code, $0) } == AGW_OK
    }

    /// Inside `rpcMessage`: replace the params (JSON text) for the filters after and the handler.
    @discardableResult
    public func setRPCParams(_ json: String) -> Bool {
        json.withAGWString { host.pointee.rpc_set_params(handle, $0) } == AGW_OK
    }

    /// Finishes a `rpcMessage` that returned `.stop`.
    @discardableResult
    public func resumeRPC(allow: Bool, code: Int32 = 0, message: String = "") -> Bool {
        message.withAGWString { host.pointee.rpc_resume(handle, allow ? AGW_RPC_ALLOW : AGW_RPC_REJECT, code, $0) } == AGW_OK
    }
}

/// Per-stream storage the SDK keeps for a filter.
final class StreamBox {
    let filter: AnyFilterBox
    var state: AnyObject?
    init(filter: AnyFilterBox) { self.filter = filter }
}

/// The outcome of publishing a JSON-RPC message to the route's filters.
public struct RPCVerdict: Sendable {
    /// What the filters decided.
    public enum Decision: Sendable {
        /// Go on (the params may have been rewritten).
        case allow
        /// Answer the client with ``errorCode`` / ``errorMessage``.
        case reject
        /// A filter decides later; the verdict arrives as a `.rpcVerdict` event.
        case pending
    }
    public var decision: Decision
    /// The JSON-RPC error code of a rejection; 0 when the filter gave none (the handler picks
    /// its protocol's generic error).
    public var errorCode: Int32
    /// Why it was rejected.
    public var errorMessage: String
    /// Set when a filter replaced the params.
    public var rewrittenParams: String?
    /// The HTTP status the rejecting filter asked for (nil: the handler's usual one).
    public var httpStatus: Int?
    /// Response headers the rejecting filter asked for (e.g. `Retry-After`).
    public var responseHeaders: [(name: String, value: String)] = []

    /// What a publication with no listening filter comes to.
    public static let allowed = RPCVerdict(agw_rpc_verdict(struct_size: 0, decision: AGW_RPC_ALLOW, error_code: 0,
                                                           error_message: agw_str(), rewritten_params: agw_str()))

    init(_ verdict: agw_rpc_verdict) {
        switch verdict.decision {
        case AGW_RPC_ALLOW: decision = .allow
        case AGW_RPC_PENDING: decision = .pending
        default: decision = .reject
        }
        errorCode = verdict.error_code
        errorMessage = verdict.error_message.string
        rewrittenParams = verdict.rewritten_params.len > 0 ? verdict.rewritten_params.string : nil
    }
}

extension FilterStream {
    /// Handlers: runs the route's filters' `rpcMessage` for a client request. A `.pending`
    /// verdict arrives later as a `.rpcVerdict` event; read it with ``lastRPCVerdict()``.
    public func publishRPC(method: String, id: String, target: String = "", targetKind: String = "", upstream: String = "",
                           sessionID: String = "", params: String, kind: RPCMessage.Kind = .request,
                           protocol rpcProtocol: RPCMessage.ProtocolName = .mcp, token: UInt64 = 0) -> RPCVerdict {
        var verdict = agw_rpc_verdict()
        verdict.struct_size = UInt32(MemoryLayout<agw_rpc_verdict>.size)
        let result = method.withAGWString { m in id.withAGWString { i in target.withAGWString { t in
            targetKind.withAGWString { tk in upstream.withAGWString { u in sessionID.withAGWString { s in
                params.withAGWString { p in
                    var message = agw_rpc_message(struct_size: UInt32(MemoryLayout<agw_rpc_message>.size), protocol: rpcProtocol.raw,
                                                  direction: AGW_RPC_CLIENT_TO_SERVER, kind: kind.raw, id: i, method: m, target: t,
                                                  target_kind: tk, upstream: u, session_id: s, params: p)
                    return host.pointee.rpc_publish(handle, &message, token, &verdict)
                }
            } } }
        } } }
        guard result == AGW_OK else {
            return RPCVerdict(agw_rpc_verdict(struct_size: 0, decision: AGW_RPC_REJECT, error_code: 0,
                                              error_message: agw_str(), rewritten_params: agw_str()))
        }
        return withRejectionResponse(RPCVerdict(verdict))
    }

    /// Adds the HTTP status and headers a rejecting filter asked for (ABI 1.2).
    private func withRejectionResponse(_ verdict: RPCVerdict) -> RPCVerdict {
        guard verdict.decision == .reject, host.pointee.has(\.rpc_rejection_response),
              let read = host.pointee.rpc_rejection_response else { return verdict }
        var status: UInt32 = 0
        var headers: UnsafePointer<agw_header>?
        var count = 0
        guard read(handle, &status, &headers, &count) == AGW_OK else { return verdict }
        var verdict = verdict
        verdict.httpStatus = status == 0 ? nil : Int(status)
        verdict.responseHeaders = (0..<count).compactMap { index in headers.map { ($0[index].name.string, $0[index].value.string) } }
        return verdict
    }

    /// Whether any filter on the route reads JSON-RPC messages (`RPCFilter`). When not, every
    /// `publishRPC` would allow: a handler may skip it. True on a host older than ABI 1.1.
    public var hasRPCFilters: Bool {
        guard host.pointee.has(\.rpc_subscriber_count), let subscriberCount = host.pointee.rpc_subscriber_count else { return true }
        var count = 0
        return subscriberCount(handle, &count) != AGW_OK || count > 0
    }

    /// The verdict of the last finished `publishRPC` (after a `.rpcVerdict` event).
    public func lastRPCVerdict() -> RPCVerdict? {
        var verdict = agw_rpc_verdict()
        verdict.struct_size = UInt32(MemoryLayout<agw_rpc_verdict>.size)
        return host.pointee.rpc_last_verdict(handle, &verdict) == AGW_OK ? withRejectionResponse(RPCVerdict(verdict)) : nil
    }
}


extension agw_host_api {
    /// Whether the host implements ABI 1.5 (labelled metrics, annotations, tracing): integer
    /// compares, for calls made on every request (`has` works out a key path's offset).
    var hasMinor5: Bool { abi_major > 1 || (abi_major == 1 && abi_minor >= 5 && struct_size >= Self.minor5Size) }
    /// Whether the host implements ABI 1.6 (`annotate_pairs`).
    var hasMinor6: Bool { abi_major > 1 || (abi_major == 1 && abi_minor >= 6 && struct_size >= Self.minor6Size) }

    /// The table's size up to its last 1.5 and 1.6 members.
    private static let minor5Size = UInt32(MemoryLayout<agw_host_api>.offset(of: \.trace_span_end)! + MemoryLayout<UnsafeRawPointer>.size)
    private static let minor6Size = UInt32(MemoryLayout<agw_host_api>.offset(of: \.annotate_pairs)! + MemoryLayout<UnsafeRawPointer>.size)

    /// Whether the host's table has a member added in a later minor (`AGW_HAS_MEMBER`).
    func has<Member>(_ member: KeyPath<agw_host_api, Member>) -> Bool {
        guard let offset = MemoryLayout<agw_host_api>.offset(of: member) else { return false }
        return Int(struct_size) >= offset + MemoryLayout<Member>.size
    }
}
