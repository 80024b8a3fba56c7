import PluginABI
import Tracing

/// The host table's metric and annotation functions.
extension HostAPI {
    /// The buckets of histograms defined with `metric_define` (1.0's, kept for its users).
    static let unlabelledBuckets: [Double] = [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 50, 100, 500, 1000]

    static func installTelemetry(_ api: inout agw_host_api) {
        api.metric_define = { config, kind, name, help, id in
            guard config != nil, let id, let kind = MetricCatalog.Kind(kind) else { return AGW_ERR_INVALID_ARGUMENT }
            let catalog = ProcessWide.metricCatalog
            guard let family = try? catalog.define(kind, name: name.string, help: help.string, buckets: HostAPI.unlabelledBuckets),
                  let series = catalog.series(family, values: []) else { return AGW_ERR_INVALID_ARGUMENT }
            id.pointee = series.id
            return AGW_OK
        }
        api.metric_add = { id, delta in ProcessWide.metricCatalog.add(id: id, delta: delta) }
        api.metric_record = { id, value in ProcessWide.metricCatalog.record(id: id, value: value) }
        api.metric_define_labelled = { config, kind, name, help, labelNames, labelCount, familyID in
            guard config != nil, let familyID, let kind = MetricCatalog.Kind(kind), (1...16).contains(labelCount), let labelNames else {
                return AGW_ERR_INVALID_ARGUMENT
            }
            let labels = (0..<labelCount).map { labelNames[$0].string }
            do {
                let family = try ProcessWide.metricCatalog.define(kind, name: name.string, help: help.string, labels: labels)
                familyID.pointee = UInt32(family.index)
                return AGW_OK
            } catch {
                ProcessWide.pluginLogger.warning("metric_define_labelled refused", metadata: ["reason": "\(error)"])
                return AGW_ERR_INVALID_ARGUMENT
            }
        }
        api.metric_series = { familyID, labelValues, labelCount, metricID in
            guard let metricID, labelCount == 0 || labelValues != nil else { return AGW_ERR_INVALID_ARGUMENT }
            let catalog = ProcessWide.metricCatalog
            guard let family = catalog.family(at: Int(familyID)) else { return AGW_ERR_NOT_FOUND }
            let values = (0..<labelCount).map { labelValues![$0].string }
            guard let series = catalog.series(family, values: values) else { return AGW_ERR_INVALID_ARGUMENT }
            metricID.pointee = series.id
            return AGW_OK
        }
        api.annotate = { stream, key, value in
            HostAPI.withExchange(stream) { exchange in
                guard key.len > 0 else { return AGW_ERR_INVALID_ARGUMENT }
                return exchange.annotate(key: key.rawBuffer, value: value.rawBuffer) ? AGW_OK : AGW_ERR_NOT_FOUND
            }
        }
        api.annotate_pairs = { stream, pairs, count in
            HostAPI.withExchange(stream) { exchange in
                guard count == 0 || pairs != nil else { return AGW_ERR_INVALID_ARGUMENT }
                let pairs = UnsafeBufferPointer(start: pairs, count: count)
                guard !pairs.contains(where: { $0.name.len == 0 }) else { return AGW_ERR_INVALID_ARGUMENT }
                return exchange.annotate(pairs: pairs) ? AGW_OK : AGW_ERR_NOT_FOUND
            }
        }
        api.annotation_wanted = { stream, key in
            guard let stream else { return 0 }
            let exchange = Exchange.from(stream)
            guard exchange.eventLoop.inEventLoop else { return 0 }
            return exchange.wantsAnnotation(key.len == 0 ? nil : key.rawBuffer) ? 1 : 0
        }
        api.trace_context_get = { stream, traceparent, tracestate in
            HostAPI.withExchange(stream) { exchange in
                guard let traceparent, let tracestate else { return AGW_ERR_INVALID_ARGUMENT }
                guard let outgoing = exchange.trace?.outgoing else { return AGW_ERR_NOT_FOUND }
                traceparent.pointee = exchange.scratch.store(outgoing.traceparent)
                tracestate.pointee = exchange.scratch.store(outgoing.tracestate ?? "")
                return AGW_OK
            }
        }
        api.trace_context_adopt = { stream, traceparent, tracestate in
            HostAPI.withExchange(stream) { exchange in
                guard let tracer = exchange.services.tracer else { return AGW_ERR_NOT_FOUND }
                guard let parent = TraceParent(traceparent.string) else { return AGW_ERR_INVALID_ARGUMENT }
                let state = tracestate.len > 0 ? tracestate.string : nil
                guard let trace = exchange.trace else {
                    exchange.trace = tracer.start(parent: parent, tracestate: state, operation: exchange.spanOperation,
                                                  startedAt: exchange.startedAt)
                    return AGW_OK
                }
                return trace.adopt(parent: parent, tracestate: state) ? AGW_OK : AGW_ERR_WRONG_STATE
            }
        }
        api.trace_span_start = { stream, name, spanID, traceparent in
            HostAPI.withExchange(stream) { exchange in
                guard name.len > 0, let spanID, let traceparent else { return AGW_ERR_INVALID_ARGUMENT }
                guard let trace = exchange.trace, let child = exchange.services.tracer?.child(of: trace, name.string) else { return AGW_ERR_NOT_FOUND }
                if exchange.callingStage >= 0 { child.span.attributes["agw.caller"] = exchange.stage(exchange.callingStage).instanceName }
                spanID.pointee = exchange.addChildSpan(child.span)
                traceparent.pointee = exchange.scratch.store(child.traceparent)
                return AGW_OK
            }
        }
        api.trace_span_end = { stream, spanID, error, message in
            HostAPI.withExchange(stream) { exchange in
                guard let span = exchange.removeChildSpan(spanID) else { return AGW_ERR_NOT_FOUND }
                if error != 0 { span.setStatus(SpanStatus(code: .error, message: message.len > 0 ? message.string : nil)) }
                span.end()
                return AGW_OK
            }
        }
        api.trace_event_add = { stream, name, attributes, count in
            HostAPI.withExchange(stream) { exchange in
                guard name.len > 0 else { return AGW_ERR_INVALID_ARGUMENT }
                // Most requests are not sampled: that is checked before the attributes are.
                guard exchange.trace?.sampled == true, let span = exchange.trace?.span else { return AGW_ERR_NOT_FOUND }
                guard HeaderValidation.areValid(attributes, count) || count == 0 else { return AGW_ERR_INVALID_ARGUMENT }
                var event = SpanEvent(name: name.string)
                for (key, value) in HostAPI.pairs(attributes, count) { event.attributes[key] = value }
                span.addEvent(event)
                return AGW_OK
            }
        }
    }
}
