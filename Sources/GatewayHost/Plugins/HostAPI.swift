import Foundation
import Logging
import NIOCore
import NIOHTTP1
import ABIInterop
import PluginABI

/// Builds the `agw_host_api` table: every host service a plugin can use, as C function pointers.
///
/// The table is allocated once and lives as long as the process. Each function checks its
/// arguments and its thread and returns an `agw_result`; none of them traps on bad input.
enum HostAPI {
    /// The one table of this process.
    nonisolated(unsafe) static let table: UnsafePointer<agw_host_api> = {
        let pointer = UnsafeMutablePointer<agw_host_api>.allocate(capacity: 1)
        pointer.initialize(to: makeTable())
        return UnsafePointer(pointer)
    }()

    nonisolated(unsafe) private static let hostVersionCString: UnsafePointer<CChar> = {
        UnsafePointer(strdup(GatewayVersion.current)!)
    }()

    // swiftlint:disable:next function_body_length
    private static func makeTable() -> agw_host_api {
        var api = agw_host_api()
        api.struct_size = UInt32(MemoryLayout<agw_host_api>.size)
        api.abi_major = UInt16(AGW_ABI_MAJOR)
        api.abi_minor = UInt16(AGW_ABI_MINOR)
        api.host_version = hostVersionCString

        api.log = { scope, level, message in
            let logger = ProcessWide.pluginLogger
            let swiftLevel = Logger.Level(agw: level)
            guard logger.logLevel <= swiftLevel else { return }
            var metadata: Logger.Metadata = [:]
            if let scope {
                let scope = AsyncScope.from(scope)
                metadata["scope"] = "\(scope.ownerName)"
                if case .stream(let exchange, _)? = scope.owner { metadata.merge(exchange.logMetadata) { old, _ in old } }
            }
            logger.log(level: swiftLevel, "\(message.string)", metadata: metadata)
        }
        api.log_enabled = { level in ProcessWide.pluginLogger.logLevel <= Logger.Level(agw: level) ? 1 : 0 }

        api.stream_scope = { stream in
            guard let stream else { return nil }
            let exchange = Exchange.from(stream)
            guard exchange.eventLoop.inEventLoop else { return nil }
            return exchange.scopeOfCallingStage()?.handle
        }
        api.config_scope = { config in
            guard let config else { return nil }
            return FilterInstance.from(config).scope.handle
        }
        api.config_set_error = { config, message in
            guard let config else { return }
            FilterInstance.from(config).rejection = message.string
        }

        // Headers.
        api.header_get = { stream, map, name, index, value in
            HostAPI.withExchange(stream) { exchange in
                guard let value, let found = exchange.headerValue(map, named: name.rawBuffer, at: index) else { return AGW_ERR_INVALID_ARGUMENT }
                guard let found else { return AGW_ERR_NOT_FOUND }
                value.pointee = found
                return AGW_OK
            }
        }
        api.header_count = { stream, map, count in
            HostAPI.withExchange(stream) { exchange in
                guard let headerCount = exchange.headerCount(map), let count else { return AGW_ERR_INVALID_ARGUMENT }
                count.pointee = headerCount
                return AGW_OK
            }
        }
        api.header_at = { stream, map, index, name, value in
            HostAPI.withExchange(stream) { exchange in
                guard exchange.headerCount(map) != nil, let name, let value else { return AGW_ERR_INVALID_ARGUMENT }
                guard let field = exchange.headerField(map, at: index) else { return AGW_ERR_NOT_FOUND }
                name.pointee = field.name
                value.pointee = field.value
                return AGW_OK
            }
        }
        api.header_set = { stream, map, name, value in
            guard HeaderValidation.isValid(name: name, value: value) else { return AGW_ERR_INVALID_ARGUMENT }
            return HostAPI.mutateHeaders(stream, map, .set(name.string, value.string))
        }
        api.header_add = { stream, map, name, value in
            guard HeaderValidation.isValid(name: name, value: value) else { return AGW_ERR_INVALID_ARGUMENT }
            return HostAPI.mutateHeaders(stream, map, .add(name.string, value.string))
        }
        api.header_remove = { stream, map, name in
            HostAPI.mutateHeaders(stream, map, .remove(name.string))
        }

        // Bodies.
        api.body_get = { stream, map, body in
            HostAPI.withExchange(stream) { exchange in
                guard let body else { return AGW_ERR_INVALID_ARGUMENT }
                guard let buffer = exchange.body(map) else { return AGW_ERR_WRONG_STATE }
                body.pointee = buffer.withUnsafeReadableBytes { exchange.scratch.store($0) }
                return AGW_OK
            }
        }
        api.body_replace = { stream, map, data in
            HostAPI.withExchange(stream) { exchange in
                guard exchange.body(map) != nil else { return AGW_ERR_WRONG_STATE }
                exchange.setBody(map, ByteBuffer(bytes: data.rawBuffer))
                return AGW_OK
            }
        }
        api.body_append = { stream, map, data in
            HostAPI.withExchange(stream) { exchange in
                guard var buffer = exchange.body(map) else { return AGW_ERR_WRONG_STATE }
                buffer.writeBytes(data.rawBuffer)
                exchange.setBody(map, buffer)
                return AGW_OK
            }
        }

        // Replies.
        api.send_local_reply = { stream, status, headers, count, body in
            HostAPI.withExchange(stream) { exchange in
                guard (100...999).contains(status), HeaderValidation.areValid(headers, count) else { return AGW_ERR_INVALID_ARGUMENT }
                if !exchange.isHandlerCalling, exchange.callingStage >= 0 { exchange.decidedBy = exchange.callingStage }
                return exchange.sendLocalReply(status: HTTPResponseStatus(statusCode: Int(status)),
                                               headers: HostAPI.pairs(headers, count), body: ByteBuffer(bytes: body.rawBuffer))
            }
        }
        api.respond_headers = { stream, status, headers, count, endOfStream in
            HostAPI.withExchange(stream) { exchange in
                guard (100...999).contains(status), HeaderValidation.areValid(headers, count) else { return AGW_ERR_INVALID_ARGUMENT }
                guard exchange.isHandlerCalling, exchange.chain.canBeginResponse else {
                    return exchange.isComplete ? AGW_ERR_GONE : AGW_ERR_WRONG_STATE
                }
                // Pairs first, then one `HTTPHeaders`: its `add` checks each name for `connection`
                // through the strings (~540 instructions a field); the writer reads that field itself.
                let head = HTTPResponseHead(version: exchange.requestHead.version, status: HTTPResponseStatus(statusCode: Int(status)),
                                            headers: HTTPHeaders(HostAPI.pairs(headers, count)))
                exchange.beginResponse(head, endOfStream: endOfStream != 0)
                if endOfStream != 0 { exchange.receiveResponseEnd() } else { exchange.flushResponseAfterHook() }
                return AGW_OK
            }
        }
        api.respond_body = { stream, data, endOfStream in
            HostAPI.withExchange(stream) { exchange in
                guard !exchange.isComplete else { return AGW_ERR_GONE }
                guard exchange.isHandlerCalling, exchange.hasResponseHead else { return AGW_ERR_WRONG_STATE }
                if data.len > 0 { exchange.receiveResponseBody(bytes: data.rawBuffer) }
                if endOfStream != 0 { exchange.receiveResponseEnd() } else { exchange.flushResponseAfterHook() }
                return AGW_OK
            }
        }

        // Stream state.
        api.resume = { stream in HostAPI.withExchange(stream) { $0.resume() } }
        api.kv_set = { stream, key, value in
            HostAPI.withExchange(stream) { exchange in
                exchange.keyValues.set(value.rawBuffer, forKey: key.rawBuffer)
                return AGW_OK
            }
        }
        api.kv_get = { stream, key, value in
            HostAPI.withExchange(stream) { exchange in
                guard let value else { return AGW_ERR_INVALID_ARGUMENT }
                // A view of the stored value itself (no copy): valid until the entry is set again.
                guard let stored = exchange.keyValues.view(forKey: key.rawBuffer) else { return AGW_ERR_NOT_FOUND }
                value.pointee = stored
                return AGW_OK
            }
        }
        api.attribute_get = { stream, attribute, value in
            HostAPI.withExchange(stream) { exchange in
                guard let value else { return AGW_ERR_INVALID_ARGUMENT }
                guard let text = exchange.attribute(attribute) else { return AGW_ERR_NOT_FOUND }
                value.pointee = exchange.scratch.store(text)
                return AGW_OK
            }
        }

        installTelemetry(&api)

        // Async services.
        api.http_call = { scope, request, callID in
            HostAPI.withScope(scope) { scope in
                guard let request, let callID, request.pointee.struct_size >= UInt32(MemoryLayout<agw_http_call_request>.size) else {
                    return AGW_ERR_INVALID_ARGUMENT
                }
                return HTTPCall.start(scope: scope, request: request.pointee, callID: callID)
            }
        }
        api.http_call_cancel = { scope, callID in
            HostAPI.withScope(scope) { scope in
                guard let call = scope.call(callID) else { return AGW_ERR_NOT_FOUND }
                call.cancel()
                return AGW_OK
            }
        }
        api.timer_start = { scope, delay, timerID in
            HostAPI.withScope(scope) { scope in
                guard let timerID else { return AGW_ERR_INVALID_ARGUMENT }
                timerID.pointee = scope.startTimer(delayMilliseconds: delay)
                return AGW_OK
            }
        }
        api.timer_cancel = { scope, timerID in
            HostAPI.withScope(scope) { scope in scope.cancelTimer(timerID) ? AGW_OK : AGW_ERR_NOT_FOUND }
        }
        api.process_spawn = { scope, spec, processID in
            HostAPI.withScope(scope) { scope in
                guard let spec, let processID, spec.pointee.struct_size >= UInt32(MemoryLayout<agw_process_spec>.size) else {
                    return AGW_ERR_INVALID_ARGUMENT
                }
                return ChildProcess.spawn(scope: scope, spec: spec.pointee, processID: processID)
            }
        }
        api.process_write = { scope, processID, data in
            HostAPI.withScope(scope) { scope in
                guard let process = scope.process(processID) else { return AGW_ERR_NOT_FOUND }
                return process.write(ByteBuffer(bytes: data.rawBuffer))
            }
        }
        api.process_terminate = { scope, processID, grace in
            HostAPI.withScope(scope) { scope in
                guard let process = scope.process(processID) else { return AGW_ERR_NOT_FOUND }
                process.terminate(graceMilliseconds: grace)
                return AGW_OK
            }
        }

        // Scheduling.
        api.scheduler_new = { scope in
            guard let scope else { return nil }
            // Any thread: a scheduler only captures the scope (weakly) and its loop.
            let asyncScope = AsyncScope.from(scope)
            guard !asyncScope.isClosed else { return nil }
            return OpaquePointer(Unmanaged.passRetained(PluginScheduler(scope: asyncScope)).toOpaque())
        }
        api.scheduler_post = { scheduler, eventID in
            guard let scheduler else { return }
            Unmanaged<PluginScheduler>.fromOpaque(UnsafeRawPointer(scheduler)).takeUnretainedValue().post(eventID)
        }
        api.scheduler_free = { scheduler in
            guard let scheduler else { return }
            Unmanaged<PluginScheduler>.fromOpaque(UnsafeRawPointer(scheduler)).release()
        }

        // Protocol messages.
        api.rpc_publish = { stream, message, token, verdict in
            HostAPI.withExchange(stream) { exchange in
                guard let message, let verdict, message.pointee.struct_size >= UInt32(MemoryLayout<agw_rpc_message>.size) else {
                    return AGW_ERR_INVALID_ARGUMENT
                }
                let result = exchange.publishRPC(message.pointee, token: token)
                guard result == AGW_OK else { return result }
                HostAPI.write(exchange.rpc.verdict(scratch: &exchange.scratch), to: verdict, callerMinor: exchange.callingABIMinor)
                return AGW_OK
            }
        }
        api.rpc_last_verdict = { stream, verdict in
            HostAPI.withExchange(stream) { exchange in
                guard let verdict else { return AGW_ERR_INVALID_ARGUMENT }
                HostAPI.write(exchange.rpc.verdict(scratch: &exchange.scratch), to: verdict, callerMinor: exchange.callingABIMinor)
                return AGW_OK
            }
        }
        api.rpc_reject = { stream, code, message in
            HostAPI.withExchange(stream) { exchange in
                exchange.rpc.reject(code: code, message: message.string, response: nil, callingStage: exchange.callingStage)
            }
        }
        api.rpc_set_params = { stream, params in
            HostAPI.withExchange(stream) { exchange in
                exchange.rpc.setParams(Array(params.rawBuffer), callingStage: exchange.callingStage)
            }
        }
        api.rpc_resume = { stream, decision, code, message in
            HostAPI.withExchange(stream) { exchange in
                guard decision == AGW_RPC_ALLOW || decision == AGW_RPC_REJECT else { return AGW_ERR_INVALID_ARGUMENT }
                return exchange.resumeRPC(decision: decision, code: code, message: message.string)
            }
        }

        api.now_unix_ns = {
            var time = timespec()
            clock_gettime(CLOCK_REALTIME, &time)
            return UInt64(time.tv_sec) * 1_000_000_000 + UInt64(time.tv_nsec)
        }
        api.rpc_subscriber_count = { stream, count in
            HostAPI.withExchange(stream) { exchange in
                guard let count else { return AGW_ERR_INVALID_ARGUMENT }
                count.pointee = exchange.rpc.subscribers.count
                return AGW_OK
            }
        }
        api.rpc_reject_with_response = { stream, code, message, status, headers, count in
            HostAPI.withExchange(stream) { exchange in
                guard exchange.rpc.activeStage == exchange.callingStage else { return AGW_ERR_WRONG_STATE }
                guard status == 0 || (100...599).contains(status), HeaderValidation.areValid(headers, count) else { return AGW_ERR_INVALID_ARGUMENT }
                return exchange.rpc.reject(code: code, message: message.string,
                                           response: .init(status: status, headers: HostAPI.pairs(headers, count)),
                                           callingStage: exchange.callingStage)
            }
        }
        api.rpc_rejection_response = { stream, status, headers, count in
            HostAPI.withExchange(stream) { exchange in
                guard let status, let headers, let count else { return AGW_ERR_INVALID_ARGUMENT }
                guard exchange.rpc.decision == AGW_RPC_REJECT, let response = exchange.rpc.finalResponse else { return AGW_ERR_NOT_FOUND }
                let views = exchange.rejectionHeaders(response.headers)
                status.pointee = response.status
                headers.pointee = UnsafePointer(views.baseAddress)
                count.pointee = views.count
                return AGW_OK
            }
        }
        api.config_directory = { config, directory in
            guard let config, let directory else { return AGW_ERR_INVALID_ARGUMENT }
            directory.pointee = FilterInstance.from(config).configDirectoryView
            return AGW_OK
        }
        return api
    }

    // MARK: helpers

    /// Writes an out-struct for a caller that may know a smaller one (ABI 1.3): at most the
    /// caller's `struct_size` bytes, and says in `struct_size` how many were written. Members the
    /// caller does not know are not written; every exchanged struct starts with its `uint32_t`
    /// size. Callers built before 1.3 (`callerMinor` < 3) did not have to set it: they get the
    /// 1.0 size, as does a 0, and every out-struct still has its 1.0 size.
    static func write<Struct>(_ value: Struct, to out: UnsafeMutablePointer<Struct>, callerMinor: UInt16) {
        let raw = UnsafeMutableRawPointer(out)
        let asked = callerMinor < 3 ? 0 : Int(raw.load(as: UInt32.self))
        let size = min(asked == 0 ? MemoryLayout<Struct>.size : max(asked, MemoryLayout<UInt32>.size), MemoryLayout<Struct>.size)
        withUnsafeBytes(of: value) { bytes in raw.copyMemory(from: bytes.baseAddress!, byteCount: size) }
        raw.storeBytes(of: UInt32(size), as: UInt32.self)
    }

    /// Runs body with the exchange behind a stream handle, after the thread and liveness checks.
    @inline(__always)
    static func withExchange(_ stream: OpaquePointer?, _ body: (Exchange) -> agw_result) -> agw_result {
        guard let stream else { return AGW_ERR_INVALID_ARGUMENT }
        let exchange = Exchange.from(stream)
        guard exchange.eventLoop.inEventLoop else { return AGW_ERR_WRONG_THREAD }
        return body(exchange)
    }

    @inline(__always)
    private static func withScope(_ scope: OpaquePointer?, _ body: (AsyncScope) -> agw_result) -> agw_result {
        guard let scope else { return AGW_ERR_INVALID_ARGUMENT }
        let asyncScope = AsyncScope.from(scope)
        guard asyncScope.eventLoop.inEventLoop else { return AGW_ERR_WRONG_THREAD }
        guard !asyncScope.isClosed else { return AGW_ERR_GONE }
        return body(asyncScope)
    }

    private static func mutateHeaders(_ stream: OpaquePointer?, _ map: agw_map, _ change: HeaderChange) -> agw_result {
        withExchange(stream) { exchange in
            guard map == AGW_MAP_REQUEST || map == AGW_MAP_RESPONSE else { return AGW_ERR_INVALID_ARGUMENT }
            guard exchange.canModifyHeaders(map) else { return AGW_ERR_WRONG_STATE }
            if map == AGW_MAP_REQUEST {
                change.apply(to: &exchange.requestHead.headers)
            } else {
                change.apply(to: &exchange.responseHead!.headers)
            }
            return AGW_OK
        }
    }

    static func pairs(_ headers: UnsafePointer<agw_header>?, _ count: Int) -> [(String, String)] {
        guard let headers, count > 0 else { return [] }
        return (0..<count).map { (headers[$0].name.string, headers[$0].value.string) }
    }
}

extension Logger.Level {
    init(agw level: agw_log_level) {
        switch level {
        case AGW_LOG_TRACE: self = .trace
        case AGW_LOG_DEBUG: self = .debug
        case AGW_LOG_INFO: self = .info
        case AGW_LOG_WARN: self = .warning
        default: self = .error
        }
    }
}
