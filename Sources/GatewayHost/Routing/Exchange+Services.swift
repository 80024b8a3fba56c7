import NIOCore
import NIOHTTP1
import PluginABI

/// What host functions do on an exchange for the plugin that calls: headers, bodies and
/// attributes, the per-stage scopes and their events, the key–value store, and the filters'
/// part of a JSON-RPC publication (``RPCBus``).
extension Exchange {
    // MARK: - Scopes and events

    /// The async scope of the calling filter on this stream.
    func scopeOfCallingStage() -> AsyncScope? {
        let stage = callingStage
        guard stage >= 0, stage < stages.count, !isComplete else { return nil }
        if scopes.isEmpty { // appended, not `Array(repeating:count:)`: its allocation is a generic lookup
            scopes.reserveCapacity(stages.count)
            for _ in 0..<stages.count { scopes.append(nil) }
        }
        if let scope = scopes[stage] { return scope }
        let scope = AsyncScope(eventLoop: eventLoop, owner: .stream(self, stage: stage))
        scopes[stage] = scope
        return scope
    }

    func deliverEvent(_ event: HostEvent, toStage stage: Int) {
        guard !isComplete, stage < contexts.count, let hook = stages[stage].type.hooks.on_event else { return }
        let context = contexts[stage]
        event.withCEvent { cEvent in
            callPlugin(stage: stage, hook: .event) { hook(context, handle, cEvent) }
        }
    }


    func stage(_ index: Int) -> FilterInstance { stages[index] }

    // MARK: - Headers, bodies, attributes

    /// Request headers may change until the backend or the handler has the request; response
    /// headers until they are written.
    func canModifyHeaders(_ map: agw_map) -> Bool {
        map == AGW_MAP_REQUEST ? chain.requestHeadersAreOpen : (hasResponseHead && !responseStarted)
    }

    /// How many fields `map` has; nil for an unknown map, or the response before it has a head.
    func headerCount(_ map: agw_map) -> Int? {
        switch map {
        case AGW_MAP_REQUEST: return requestHead.headers.count
        case AGW_MAP_RESPONSE: return responseHead?.headers.count
        default: return nil
        }
    }

    /// The `index`-th value of the field `name` (bytes, any case) in `map`, stored in the scratch
    /// arena: `.some(nil)` when there is none, nil for an unknown map. The request's fields are
    /// compared as bytes; the response's (NIO's `HTTPHeaders`) without a `String` for `name`.
    func headerValue(_ map: agw_map, named name: UnsafeRawBufferPointer, at index: Int) -> agw_str?? {
        switch map {
        case AGW_MAP_REQUEST:
            return .some(requestHead.headers.value(named: name, at: index) { scratch.store($0) })
        case AGW_MAP_RESPONSE:
            guard let headers = responseHead?.headers else { return nil }
            var remaining = index
            for field in headers where FieldName.string(field.name, equals: name) {
                if remaining == 0 { return .some(scratch.store(field.value)) }
                remaining -= 1
            }
            return .some(nil)
        default:
            return nil
        }
    }

    /// The `index`-th field of `map` (name and value stored in the scratch arena); nil when
    /// there is no such map or field.
    func headerField(_ map: agw_map, at index: Int) -> (name: agw_str, value: agw_str)? {
        switch map {
        case AGW_MAP_REQUEST:
            guard index < requestHead.headers.count else { return nil }
            return requestHead.headers.withField(at: index) { (scratch.store($0), scratch.store($1)) }
        case AGW_MAP_RESPONSE:
            guard let headers = responseHead?.headers, index < headers.count else { return nil }
            let entry = headers[headers.index(headers.startIndex, offsetBy: index)]
            return (scratch.store(entry.name), scratch.store(entry.value))
        default:
            return nil
        }
    }

    /// The buffered body a body hook may read or replace, in its phase (the handler: after it).
    func body(_ map: agw_map) -> ByteBuffer? {
        switch map {
        case AGW_MAP_REQUEST: return chain.requestBodyIsReadable ? (requestBody ?? ByteBuffer()) : nil
        case AGW_MAP_RESPONSE: return chain.responseBodyIsReadable ? (responseBody ?? ByteBuffer()) : nil
        default: return nil
        }
    }

    func setBody(_ map: agw_map, _ buffer: ByteBuffer) {
        if map == AGW_MAP_REQUEST { requestBody = buffer } else { responseBody = buffer }
    }

    func attribute(_ attribute: agw_attribute) -> String? {
        switch attribute {
        case AGW_ATTR_METHOD: return requestHead.method.rawValue
        case AGW_ATTR_PATH: return requestHead.uri
        case AGW_ATTR_HOST: return requestHead.headers.first(name: "host")
        case AGW_ATTR_SCHEME: return connection.isTLS ? "https" : "http"
        case AGW_ATTR_PEER_ADDRESS: return connection.peerAddress
        case AGW_ATTR_TLS_SNI: return connection.serverName
        case AGW_ATTR_TLS_PEER_SUBJECT: return connection.peerSubject
        case AGW_ATTR_ROUTE_NAME: return route.name
        case AGW_ATTR_LISTENER_NAME: return connection.listenerName
        case AGW_ATTR_HTTP_VERSION: return connection.httpVersion
        case AGW_ATTR_REQUEST_ID: return String(id, radix: 16)
        case AGW_ATTR_RESPONSE_STATUS: return responseStarted && hasResponseHead ? String(responseStatus) : nil
        case AGW_ATTR_FILTER_NAME: return callingStage >= 0 ? stage(callingStage).instanceName : nil
        case AGW_ATTR_ROUTE_PATH_PREFIX: return route.match.pathPrefix ?? route.match.path
        case AGW_ATTR_TRACE_ID: return trace?.traceID
        case AGW_ATTR_TRACING: return services.tracer == nil ? nil : "1"
        default: return nil
        }
    }

    /// The ABI minor the calling filter was built against (what it knows of out-structs).
    var callingABIMinor: UInt16 { callingStage >= 0 ? stage(callingStage).type.hooks.abi_minor : UInt16(AGW_ABI_MINOR) }

    // MARK: - RPC publication (handler → filters)

    /// The handler publishes a message (`rpc_publish`): the filters' hooks run now, until the
    /// verdict or a filter's STOP.
    func publishRPC(_ message: agw_rpc_message, token: UInt64) -> agw_result {
        guard isHandlerCalling, rpc.canPublish else { return AGW_ERR_WRONG_STATE }
        runRPC(rpc.publish(message, token: token))
        return AGW_OK
    }

    /// A filter finished a paused `on_rpc_message` (`rpc_resume`); the handler hears the verdict
    /// as `AGW_EVENT_RPC_VERDICT`.
    func resumeRPC(decision: agw_rpc_decision, code: Int32, message: String) -> agw_result {
        guard rpc.mayResume(callingStage: callingStage, isInsideHook: isInHook) else { return AGW_ERR_WRONG_STATE }
        runRPC(rpc.resume(allow: decision != AGW_RPC_REJECT, code: code, message: message))
        if let handler = chain.handler, rpc.isFinished {
            deliverEvent(HostEvent(type: AGW_EVENT_RPC_VERDICT, id: rpc.token, code: rpc.decision), toStage: handler)
        }
        return AGW_OK
    }

    private func runRPC(_ first: RPCBus.Action) {
        var action = first
        while case .callHook(let stage) = action {
            guard let hook = stages[stage].type.hooks.on_rpc_message else { return }
            let context = contexts[stage]
            var message = rpc.message(scratch: &scratch)
            let status = withUnsafePointer(to: &message) { message in
                callPlugin(stage: stage, hook: .rpcMessage) { hook(context, handle, message) }
            }
            if isComplete { return }
            if ![AGW_STATUS_CONTINUE, AGW_STATUS_STOP, AGW_STATUS_REPLIED].contains(status) {
                services.logger.error("filter returned unknown status from on_rpc_message",
                                      metadata: ["filter": "\(stages[stage].instanceName)", "status": "\(status)"])
            }
            action = rpc.hookReturned(status)
        }
    }

    /// C views of the rejecting filter's response headers, valid until the hook returns.
    func rejectionHeaders(_ headers: [(String, String)]) -> UnsafeBufferPointer<agw_header> {
        scratch.store(headers: headers)
    }
}
