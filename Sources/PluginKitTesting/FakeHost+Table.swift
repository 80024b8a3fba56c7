import Foundation
import ABIInterop
import PluginABI
import PluginKit

/// The fake's `agw_host_api`: every member, each finding its fake through the handle it gets.
extension FakeHost {
    nonisolated(unsafe) static let hostTable: UnsafePointer<agw_host_api> = {
        let pointer = UnsafeMutablePointer<agw_host_api>.allocate(capacity: 1)
        pointer.initialize(to: makeTable())
        return UnsafePointer(pointer)
    }()

    nonisolated(unsafe) private static let version: UnsafePointer<CChar> = UnsafePointer(strdup("fake-host")!)

    // swiftlint:disable:next function_body_length
    private static func makeTable() -> agw_host_api {
        var api = agw_host_api()
        api.struct_size = UInt32(MemoryLayout<agw_host_api>.size)
        api.abi_major = UInt16(AGW_ABI_MAJOR)
        api.abi_minor = UInt16(AGW_ABI_MINOR)
        api.host_version = version

        api.log = { scope, level, message in
            let host = scope.flatMap { FakeScope.from($0).hostReference } ?? FakeHost.now
            host?.log(level, message.string)
        }
        api.log_enabled = { _ in 1 }
        api.stream_scope = { stream in
            guard let stream else { return nil }
            let fake = FakeStream.from(stream)
            return fake.scope(ofStage: fake.callingStage)?.handle
        }
        api.config_scope = { config in config.map { FakeFilter.from($0).scope.handle } }
        api.config_set_error = { config, message in config.map { FakeFilter.from($0).rejection = message.string } }

        api.header_get = { stream, map, name, index, value in
            FakeHost.withStream(stream) { stream in
                guard let value, let headers = FakeHost.headers(stream, map) else { return AGW_ERR_INVALID_ARGUMENT }
                let values = headers.filter { $0.name.lowercased() == name.string.lowercased() }
                guard index < values.count else { return AGW_ERR_NOT_FOUND }
                value.pointee = stream.view(values[index].value)
                return AGW_OK
            }
        }
        api.header_count = { stream, map, count in
            FakeHost.withStream(stream) { stream in
                guard let count, let headers = FakeHost.headers(stream, map) else { return AGW_ERR_INVALID_ARGUMENT }
                count.pointee = headers.count
                return AGW_OK
            }
        }
        api.header_at = { stream, map, index, name, value in
            FakeHost.withStream(stream) { stream in
                guard let name, let value, let headers = FakeHost.headers(stream, map) else { return AGW_ERR_INVALID_ARGUMENT }
                guard index < headers.count else { return AGW_ERR_NOT_FOUND }
                name.pointee = stream.view(headers[index].name)
                value.pointee = stream.view(headers[index].value)
                return AGW_OK
            }
        }
        api.header_set = { stream, map, name, value in
            FakeHost.withStream(stream) { stream in
                guard map == AGW_MAP_REQUEST else { return AGW_ERR_UNSUPPORTED }
                stream.requestHeaders.removeAll { $0.name.lowercased() == name.string.lowercased() }
                stream.requestHeaders.append((name.string, value.string))
                return AGW_OK
            }
        }
        api.header_add = { stream, map, name, value in
            FakeHost.withStream(stream) { stream in
                guard map == AGW_MAP_REQUEST else { return AGW_ERR_UNSUPPORTED }
                stream.requestHeaders.append((name.string, value.string))
                return AGW_OK
            }
        }
        api.header_remove = { stream, map, name in
            FakeHost.withStream(stream) { stream in
                guard map == AGW_MAP_REQUEST else { return AGW_ERR_UNSUPPORTED }
                stream.requestHeaders.removeAll { $0.name.lowercased() == name.string.lowercased() }
                return AGW_OK
            }
        }

        api.body_get = { stream, map, body in
            FakeHost.withStream(stream) { stream in
                guard let body, map == AGW_MAP_REQUEST else { return AGW_ERR_INVALID_ARGUMENT }
                guard stream.bodyIsReadable else { return AGW_ERR_WRONG_STATE }
                body.pointee = stream.view(stream.requestBody ?? [])
                return AGW_OK
            }
        }
        api.body_replace = { stream, map, data in
            FakeHost.withStream(stream) { stream in
                guard map == AGW_MAP_REQUEST, stream.bodyIsReadable else { return AGW_ERR_WRONG_STATE }
                stream.requestBody = data.bytes
                return AGW_OK
            }
        }
        api.body_append = { stream, map, data in
            FakeHost.withStream(stream) { stream in
                guard map == AGW_MAP_REQUEST, stream.bodyIsReadable else { return AGW_ERR_WRONG_STATE }
                stream.requestBody = (stream.requestBody ?? []) + data.bytes
                return AGW_OK
            }
        }

        api.send_local_reply = { stream, status, headers, count, body in
            FakeHost.withStream(stream) { $0.reply(status: Int(status), headers: FakeHost.pairs(headers, count), body: body.string) }
        }
        api.respond_headers = { stream, status, headers, count, endOfStream in
            FakeHost.withStream(stream) { $0.respond(status: Int(status), headers: FakeHost.pairs(headers, count), endOfStream: endOfStream != 0) }
        }
        api.respond_body = { stream, data, endOfStream in
            FakeHost.withStream(stream) { $0.respondBody(data.bytes, endOfStream: endOfStream != 0) }
        }

        api.resume = { stream in FakeHost.withStream(stream) { $0.resume() } }
        api.kv_set = { stream, key, value in
            FakeHost.withStream(stream) { stream in
                stream.values[key.string] = value.bytes
                return AGW_OK
            }
        }
        api.kv_get = { stream, key, value in
            FakeHost.withStream(stream) { stream in
                guard let value else { return AGW_ERR_INVALID_ARGUMENT }
                guard let stored = stream.values[key.string] else { return AGW_ERR_NOT_FOUND }
                value.pointee = stream.view(stored)
                return AGW_OK
            }
        }
        api.annotate = { stream, key, value in
            FakeHost.withStream(stream) { stream in
                guard key.len > 0 else { return AGW_ERR_INVALID_ARGUMENT }
                guard stream.recordsAnnotations else { return AGW_ERR_NOT_FOUND }
                stream.annotationCalls += 1
                stream.annotations[key.string] = value.string
                return AGW_OK
            }
        }
        api.annotate_pairs = { stream, pairs, count in
            FakeHost.withStream(stream) { stream in
                guard count == 0 || pairs != nil else { return AGW_ERR_INVALID_ARGUMENT }
                let pairs = UnsafeBufferPointer(start: pairs, count: count)
                guard !pairs.contains(where: { $0.name.len == 0 }) else { return AGW_ERR_INVALID_ARGUMENT }
                guard stream.recordsAnnotations, count > 0 else { return AGW_ERR_NOT_FOUND }
                stream.annotationCalls += 1
                for pair in pairs { stream.annotations[pair.name.string] = pair.value.string }
                return AGW_OK
            }
        }
        api.annotation_wanted = { stream, _ in
            guard let stream else { return 0 }
            return FakeStream.from(stream).recordsAnnotations ? 1 : 0
        }
        api.trace_context_get = { stream, traceparent, tracestate in
            FakeHost.withStream(stream) { stream in
                guard let traceparent, let tracestate, let context = stream.traceContext else { return AGW_ERR_NOT_FOUND }
                traceparent.pointee = stream.view(Array(context.traceparent.utf8))
                tracestate.pointee = stream.view(Array((context.tracestate ?? "").utf8))
                return AGW_OK
            }
        }
        api.trace_context_adopt = { stream, traceparent, tracestate in
            FakeHost.withStream(stream) { stream in
                guard stream.traceContext == nil else { return AGW_ERR_WRONG_STATE }
                stream.traceContext = (traceparent.string, tracestate.len > 0 ? tracestate.string : nil)
                return AGW_OK
            }
        }
        api.trace_span_start = { stream, name, spanID, traceparent in
            FakeHost.withStream(stream) { stream in
                guard let spanID, let traceparent, stream.traceContext != nil else { return AGW_ERR_NOT_FOUND }
                stream.spans.append((name.string, nil))
                spanID.pointee = UInt64(stream.spans.count)
                traceparent.pointee = stream.view("00-0af7651916cd43dd8448eb211c80319c-\(String(format: "%016x", stream.spans.count))-01")
                return AGW_OK
            }
        }
        api.trace_span_end = { stream, spanID, error, message in
            FakeHost.withStream(stream) { stream in
                let index = Int(spanID) - 1
                guard stream.spans.indices.contains(index), stream.spans[index].ended == nil else { return AGW_ERR_NOT_FOUND }
                stream.spans[index].ended = error == 0 ? "ok" : "error: \(message.string)"
                return AGW_OK
            }
        }
        api.trace_event_add = { stream, name, attributes, count in
            FakeHost.withStream(stream) { stream in
                let pairs = (0..<count).map { (attributes![$0].name.string, attributes![$0].value.string) }
                stream.traceEvents.append((name.string, pairs))
                return AGW_OK
            }
        }
        api.attribute_get = { stream, attribute, value in
            FakeHost.withStream(stream) { stream in
                guard let value else { return AGW_ERR_INVALID_ARGUMENT }
                guard let text = stream.attribute(attribute) else { return AGW_ERR_NOT_FOUND }
                value.pointee = stream.view(text)
                return AGW_OK
            }
        }

        api.metric_define = { config, _, name, _, id in
            guard let config, let id else { return AGW_ERR_INVALID_ARGUMENT }
            let host = FakeFilter.from(config).host
            if let index = host.metricNames.firstIndex(of: name.string) {
                id.pointee = UInt32(index)
            } else {
                host.metricNames.append(name.string)
                host.metricValues.append(0)
                id.pointee = UInt32(host.metricNames.count - 1)
            }
            return AGW_OK
        }
        api.metric_add = { id, delta in
            guard let host = FakeHost.now, Int(id) < host.metricValues.count else { return AGW_ERR_NOT_FOUND }
            host.metricValues[Int(id)] += Double(delta)
            return AGW_OK
        }
        api.metric_record = { id, value in
            guard let host = FakeHost.now, Int(id) < host.metricValues.count else { return AGW_ERR_NOT_FOUND }
            host.metricValues[Int(id)] = value
            host.metricObservations[Int(id), default: 0] += 1
            return AGW_OK
        }
        api.metric_define_labelled = { config, _, name, _, labelNames, labelCount, familyID in
            guard let config, let familyID, labelCount > 0, let labelNames else { return AGW_ERR_INVALID_ARGUMENT }
            let host = FakeFilter.from(config).host
            let labels = (0..<labelCount).map { labelNames[$0].string }
            if let index = host.metricFamilies.firstIndex(where: { $0.name == name.string }) {
                guard host.metricFamilies[index].labels == labels else { return AGW_ERR_INVALID_ARGUMENT }
                familyID.pointee = UInt32(index)
            } else {
                host.metricFamilies.append((name.string, labels))
                familyID.pointee = UInt32(host.metricFamilies.count - 1)
            }
            return AGW_OK
        }
        api.metric_series = { familyID, labelValues, labelCount, metricID in
            guard let host = FakeHost.now, let metricID, Int(familyID) < host.metricFamilies.count else { return AGW_ERR_NOT_FOUND }
            let family = host.metricFamilies[Int(familyID)]
            guard labelCount == family.labels.count, let labelValues else { return AGW_ERR_INVALID_ARGUMENT }
            let name = FakeHost.seriesName(family.name, zip(family.labels, (0..<labelCount).map { labelValues[$0].string }).map { ($0, $1) })
            if let index = host.metricNames.firstIndex(of: name) {
                metricID.pointee = UInt32(index)
            } else {
                host.metricNames.append(name)
                host.metricValues.append(0)
                metricID.pointee = UInt32(host.metricNames.count - 1)
            }
            return AGW_OK
        }

        api.http_call = { scope, request, callID in
            FakeHost.withScope(scope) { scope in
                guard let request, let callID, request.pointee.struct_size >= UInt32(MemoryLayout<agw_http_call_request>.size) else {
                    return AGW_ERR_INVALID_ARGUMENT
                }
                let call = FakeHTTPCall(id: scope.host.id(), scope: scope, request: request.pointee)
                scope.host.register(call)
                callID.pointee = call.id
                return AGW_OK
            }
        }
        api.http_call_cancel = { scope, callID in
            FakeHost.withScope(scope) { scope in
                guard let call = scope.host.calls.first(where: { $0.id == callID && $0.scope === scope }) else { return AGW_ERR_NOT_FOUND }
                call.cancel()
                return AGW_OK
            }
        }
        api.timer_start = { scope, delay, timerID in
            FakeHost.withScope(scope) { scope in
                guard let timerID else { return AGW_ERR_INVALID_ARGUMENT }
                let id = scope.host.id()
                scope.host.timers.append((scope.host.clock + UInt64(delay), id, scope))
                timerID.pointee = id
                return AGW_OK
            }
        }
        api.timer_cancel = { scope, timerID in
            FakeHost.withScope(scope) { scope in
                guard let index = scope.host.timers.firstIndex(where: { $0.id == timerID }) else { return AGW_ERR_NOT_FOUND }
                scope.host.timers.remove(at: index)
                return AGW_OK
            }
        }
        api.process_spawn = { scope, spec, processID in
            FakeHost.withScope(scope) { scope in
                guard let spec, let processID, spec.pointee.argv != nil, spec.pointee.argc > 0 else { return AGW_ERR_INVALID_ARGUMENT }
                let process = FakeProcess(id: scope.host.id(), scope: scope, spec: spec.pointee)
                scope.host.register(process)
                processID.pointee = process.id
                return AGW_OK
            }
        }
        api.process_write = { scope, processID, data in
            FakeHost.withScope(scope) { scope in
                guard let process = scope.host.processes.first(where: { $0.id == processID }) else { return AGW_ERR_NOT_FOUND }
                return process.write(data.bytes) ? AGW_OK : AGW_ERR_GONE
            }
        }
        api.process_terminate = { scope, processID, _ in
            FakeHost.withScope(scope) { scope in
                guard let process = scope.host.processes.first(where: { $0.id == processID }) else { return AGW_ERR_NOT_FOUND }
                process.terminate()
                return AGW_OK
            }
        }

        api.scheduler_new = { scope in
            guard let scope else { return nil }
            let fake = FakeScope.from(scope)
            guard !fake.isClosed else { return nil }
            return OpaquePointer(Unmanaged.passRetained(FakeScheduler(scope: fake)).toOpaque())
        }
        api.scheduler_post = { scheduler, eventID in
            guard let scheduler else { return }
            let fake = Unmanaged<FakeScheduler>.fromOpaque(UnsafeRawPointer(scheduler)).takeUnretainedValue()
            fake.scope.host.posts.withLock { $0.append((fake, eventID)) }
        }
        api.scheduler_free = { scheduler in
            guard let scheduler else { return }
            Unmanaged<FakeScheduler>.fromOpaque(UnsafeRawPointer(scheduler)).release()
        }

        api.rpc_publish = { stream, message, token, verdict in
            FakeHost.withStream(stream) { stream in
                guard let message, let verdict else { return AGW_ERR_INVALID_ARGUMENT }
                guard stream.callingStage == stream.handlerStage, stream.rpc.canPublish else { return AGW_ERR_WRONG_STATE }
                verdict.pointee = stream.publish(message.pointee, token: token)
                return AGW_OK
            }
        }
        api.rpc_last_verdict = { stream, verdict in
            FakeHost.withStream(stream) { stream in
                guard let verdict else { return AGW_ERR_INVALID_ARGUMENT }
                verdict.pointee = stream.rpc.verdict(stream)
                return AGW_OK
            }
        }
        api.rpc_reject = { stream, code, message in
            FakeHost.withStream(stream) { stream in
                guard stream.rpc.activeStage == stream.callingStage else { return AGW_ERR_WRONG_STATE }
                stream.rpc.rejection = (code, message.string)
                return AGW_OK
            }
        }
        api.rpc_set_params = { stream, params in
            FakeHost.withStream(stream) { stream in
                guard stream.rpc.activeStage == stream.callingStage else { return AGW_ERR_WRONG_STATE }
                stream.rpc.setParams(params.bytes)
                return AGW_OK
            }
        }
        api.rpc_resume = { stream, decision, code, message in
            FakeHost.withStream(stream) { $0.resumeRPC(allow: decision != AGW_RPC_REJECT, code: code, message: message.string) }
        }
        api.now_unix_ns = {
            let base = UInt64(Date(timeIntervalSince1970: 1_800_000_000).timeIntervalSince1970) * 1_000_000_000
            return base + (FakeHost.now?.clock ?? 0) * 1_000_000
        }
        api.rpc_subscriber_count = { stream, count in
            FakeHost.withStream(stream) { stream in
                guard let count else { return AGW_ERR_INVALID_ARGUMENT }
                count.pointee = stream.stages.filter { !$0.isHandler && $0.type.pointee.on_rpc_message != nil }.count
                return AGW_OK
            }
        }
        api.rpc_reject_with_response = { stream, code, message, status, headers, count in
            FakeHost.withStream(stream) { stream in
                guard stream.rpc.activeStage == stream.callingStage else { return AGW_ERR_WRONG_STATE }
                stream.rpc.rejection = (code, message.string)
                stream.rpc.rejectionResponse = (status, FakeHost.pairs(headers, count))
                return AGW_OK
            }
        }
        api.rpc_rejection_response = { stream, status, headers, count in
            FakeHost.withStream(stream) { stream in
                guard let status, let headers, let count else { return AGW_ERR_INVALID_ARGUMENT }
                guard stream.rpc.decision == AGW_RPC_REJECT, let response = stream.rpc.finalResponse else { return AGW_ERR_NOT_FOUND }
                let views = UnsafeMutablePointer<agw_header>.allocate(capacity: max(response.headers.count, 1))
                for (index, header) in response.headers.enumerated() {
                    views[index] = agw_header(name: stream.view(header.0), value: stream.view(header.1))
                }
                stream.keepAlive(views)
                status.pointee = response.status
                headers.pointee = UnsafePointer(views)
                count.pointee = response.headers.count
                return AGW_OK
            }
        }
        api.config_directory = { config, directory in
            guard let config, let directory else { return AGW_ERR_INVALID_ARGUMENT }
            directory.pointee = FakeFilter.from(config).directoryView
            return AGW_OK
        }
        return api
    }

    fileprivate static func withStream(_ stream: OpaquePointer?, _ body: (FakeStream) -> agw_result) -> agw_result {
        guard let stream else { return AGW_ERR_INVALID_ARGUMENT }
        let fake = FakeStream.from(stream)
        guard !fake.isComplete else { return AGW_ERR_GONE }
        return body(fake)
    }

    fileprivate static func withScope(_ scope: OpaquePointer?, _ body: (FakeScope) -> agw_result) -> agw_result {
        guard let scope else { return AGW_ERR_INVALID_ARGUMENT }
        let fake = FakeScope.from(scope)
        guard !fake.isClosed else { return AGW_ERR_GONE }
        return body(fake)
    }

    fileprivate static func headers(_ stream: FakeStream, _ map: agw_map) -> [(name: String, value: String)]? {
        switch map {
        case AGW_MAP_REQUEST: return stream.requestHeaders
        case AGW_MAP_RESPONSE: return stream.response?.headers ?? []
        default: return nil
        }
    }

    fileprivate static func pairs(_ headers: UnsafePointer<agw_header>?, _ count: Int) -> [(String, String)] {
        guard let headers, count > 0 else { return [] }
        return (0..<count).map { (headers[$0].name.string, headers[$0].value.string) }
    }
}
