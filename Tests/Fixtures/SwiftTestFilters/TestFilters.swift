// Filters used by the integration tests (Tests/integration). Each exercises one host service.
import Foundation
import PluginKit
import Synchronization

/// Pauses the request, GETs `url`, puts the answer in request header `x-lookup`, resumes.
struct AsyncLookup: Filter {
    static let name = "async-lookup"
    struct Config: Decodable { var url: String }
    let url: String
    init(configuration: FilterConfiguration) throws { url = try configuration.decode(Config.self).url }

    func requestHeaders(_ stream: FilterStream, endOfStream: Bool) -> FilterStatus {
        guard stream.scope.httpCall(url: url, timeoutMilliseconds: 2000) != nil else {
            stream.sendLocalReply(status: 500, body: "http_call refused\n")
            return .replied
        }
        return .stop
    }

    func event(_ event: PluginEvent, stream: FilterStream) {
        switch event.kind {
        case .httpResponse:
            stream.setHeader("x-lookup", "\(event.code):\(event.text.prefix(64))".replacingOccurrences(of: "\n", with: " "))
            stream.resume()
        case .httpFailed:
            stream.sendLocalReply(status: 503, body: "lookup failed: \(event.text)\n")
        default:
            break
        }
    }
}

/// Pauses; a background thread posts to a scheduler after `delay_ms`; the event resumes.
struct ThreadResume: Filter {
    static let name = "thread-resume"
    struct Config: Decodable { var delay_ms: Int?; var probe_off_loop: Bool? }
    let delay: Int
    /// Also try a host call from the background thread (only where the client stays: a stream
    /// must never be touched after it may have ended).
    let probeOffLoop: Bool
    init(configuration: FilterConfiguration) throws {
        let config = try configuration.decode(Config.self)
        delay = config.delay_ms ?? 10
        probeOffLoop = config.probe_off_loop ?? false
    }

    func requestHeaders(_ stream: FilterStream, endOfStream: Bool) -> FilterStatus {
        guard let scheduler = stream.makeScheduler() else { return .continue }
        let delay = self.delay
        let probe = OffLoopProbe()
        stream.state = probe
        let unsafeStream = UnsafeTransfer(stream)
        let probeOffLoop = self.probeOffLoop
        Thread.detachNewThread {
            // Touching the stream off its event loop must be refused, not race the loop.
            if probeOffLoop { probe.setHeaderAccepted = unsafeStream.value.setHeader("x-from-thread", "1") }
            usleep(UInt32(delay) * 1000)
            scheduler.post(42)
        }
        return .stop
    }

    func event(_ event: PluginEvent, stream: FilterStream) {
        guard event.kind == .scheduled else { return }
        stream.setHeader("x-resumed-by", "thread-\(event.id)")
        let probe = stream.state as? OffLoopProbe
        stream.setHeader("x-off-loop-call", probe?.setHeaderAccepted == false ? "refused" : "accepted")
        stream.resume()
    }

    final class OffLoopProbe: @unchecked Sendable { var setHeaderAccepted: Bool? }
    struct UnsafeTransfer<T>: @unchecked Sendable {
        let value: T
        init(_ value: T) { self.value = value }
    }
}

/// Answers every request itself with the configured status and body.
struct LocalReply: Filter {
    static let name = "local-reply"
    struct Config: Decodable { var status: Int; var body: String }
    let config: Config
    init(configuration: FilterConfiguration) throws { config = try configuration.decode(Config.self) }

    func requestHeaders(_ stream: FilterStream, endOfStream: Bool) -> FilterStatus {
        stream.sendLocalReply(status: config.status, headers: [("x-local", "1")], body: config.body)
        return .replied
    }
}

/// Uppercases the request body; appends `suffix` to the response body.
struct BodyRewrite: RequestBodyFilter, ResponseBodyFilter {
    static let name = "body-rewrite"
    struct Config: Decodable { var suffix: String }
    let suffix: String
    init(configuration: FilterConfiguration) throws { suffix = try configuration.decode(Config.self).suffix }

    func requestBody(_ stream: FilterStream) -> FilterStatus {
        let body = stream.body(of: .request) ?? []
        stream.replaceBody(of: .request, with: Array(String(decoding: body, as: UTF8.self).uppercased().utf8))
        stream.setHeader("content-length", String(body.count))
        return .continue
    }

    func responseBody(_ stream: FilterStream) -> FilterStatus {
        stream.replaceBody(of: .response, with: (stream.body(of: .response) ?? []) + Array(suffix.utf8))
        return .continue
    }
}

/// Rejects its config when it has `reject = true`.
struct PickyConfig: Filter {
    static let name = "picky"
    struct Config: Decodable { var reject: Bool? }
    init(configuration: FilterConfiguration) throws {
        if try configuration.decode(Config.self).reject == true {
            throw FilterConfiguration.Invalid("this instance was configured with reject = true")
        }
    }
}

/// Handler: streams `count` SSE events, one every `interval_ms`, then ends the response.
final class SSECounter: Filter, @unchecked Sendable {
    static let name = "sse-counter"
    static let kind = FilterKind.handler
    struct Config: Decodable { var count: Int; var interval_ms: UInt32 }
    let config: Config
    init(configuration: FilterConfiguration) throws { config = try configuration.decode(Config.self) }

    final class Progress { var sent = 0 }

    func requestHeaders(_ stream: FilterStream, endOfStream: Bool) -> FilterStatus {
        stream.state = Progress()
        stream.respond(status: 200, headers: [("content-type", "text/event-stream"), ("cache-control", "no-cache")])
        _ = stream.scope.startTimer(milliseconds: config.interval_ms)
        return .continue
    }

    func event(_ event: PluginEvent, stream: FilterStream) {
        guard event.kind == .timer, let progress = stream.state as? Progress else { return }
        progress.sent += 1
        let last = progress.sent >= config.count
        stream.respondBody("id: \(progress.sent)\ndata: {\"n\":\(progress.sent)}\n\n", endOfStream: last)
        if !last { _ = stream.scope.startTimer(milliseconds: config.interval_ms) }
    }
}

/// Handler: starts `command` as a child process, writes the request body as one line to its
/// stdin and answers with the first stdout line; reports the exit code in a trailer-like header.
struct ProcessLine: Filter {
    static let name = "process-line"
    static let kind = FilterKind.handler
    struct Config: Decodable { var command: [String] }
    let command: [String]
    init(configuration: FilterConfiguration) throws { command = try configuration.decode(Config.self).command }

    final class Child { var id: UInt64 = 0; var answered = false }

    func requestHeaders(_ stream: FilterStream, endOfStream: Bool) -> FilterStatus {
        if endOfStream { return start(stream, input: []) }
        return .continue
    }

    func event(_ event: PluginEvent, stream: FilterStream) {
        guard let child = stream.state as? Child else { return }
        switch event.kind {
        case .processStdout where !child.answered:
            child.answered = true
            stream.respond(status: 200, headers: [("content-type", "text/plain")])
            stream.respondBody(event.data + Array("\n".utf8), endOfStream: true)
            stream.scope.terminateProcess(child.id, graceMilliseconds: 200)
        case .processExit where !child.answered:
            child.answered = true
            stream.sendLocalReply(status: 502, body: "child exited with \(event.code) before answering\n")
        default:
            break
        }
    }

    fileprivate func start(_ stream: FilterStream, input: [UInt8]) -> FilterStatus {
        guard let id = stream.scope.spawnProcess(command) else {
            stream.sendLocalReply(status: 500, body: "cannot start \(command.first ?? "?")\n")
            return .replied
        }
        let child = Child()
        child.id = id
        stream.state = child
        stream.scope.writeToProcess(id, input + Array("\n".utf8))
        return .continue
    }
}

extension ProcessLine: RequestBodyFilter {
    func requestBody(_ stream: FilterStream) -> FilterStatus { start(stream, input: stream.body(of: .request) ?? []) }
}

/// Handler: reads a JSON-RPC request from the body, publishes it to the route's filters and
/// answers with the verdict: a result echoing the (possibly rewritten) params, or the error.
struct RPCEcho: Filter, RequestBodyFilter {
    static let name = "rpc-echo"
    static let kind = FilterKind.handler
    init(configuration: FilterConfiguration) throws {}

    func requestBody(_ stream: FilterStream) -> FilterStatus {
        let body = stream.body(of: .request) ?? []
        guard let json = try? JSONSerialization.jsonObject(with: Data(body)) as? [String: Any],
              let method = json["method"] as? String else {
            stream.respond(status: 200, headers: [("content-type", "application/json")])
            stream.respondBody(#"{"jsonrpc":"2.0","id":null,"error":{"code":-32700,"message":"Parse error"}}"#, endOfStream: true)
            return .continue
        }
        let id = (json["id"] as? Int).map(String.init) ?? "null"
        let params = json["params"].flatMap { try? JSONSerialization.data(withJSONObject: $0) }.map { String(decoding: $0, as: UTF8.self) } ?? "{}"
        let target = (json["params"] as? [String: Any])?["name"] as? String ?? ""
        let verdict = stream.publishRPC(method: method, id: id, target: target, targetKind: target.isEmpty ? "" : "tool", params: params, token: 7)
        answer(stream, id: id, verdict: verdict, params: params)
        return .continue
    }

    func event(_ event: PluginEvent, stream: FilterStream) {
        guard event.kind == .rpcVerdict, let verdict = stream.lastRPCVerdict() else { return }
        answer(stream, id: stream.value(forKey: "rpc-id") ?? "null", verdict: verdict, params: stream.value(forKey: "rpc-params") ?? "{}")
    }

    private func answer(_ stream: FilterStream, id: String, verdict: RPCVerdict, params: String) {
        let text: String
        switch verdict.decision {
        case .pending:
            stream.setValue(id, forKey: "rpc-id")
            stream.setValue(params, forKey: "rpc-params")
            return
        case .allow:
            text = #"{"jsonrpc":"2.0","id":\#(id),"result":{"params":\#(verdict.rewrittenParams ?? params)}}"#
        case .reject:
            text = #"{"jsonrpc":"2.0","id":\#(id),"error":{"code":\#(verdict.errorCode),"message":"\#(verdict.errorMessage)"}}"#
        }
        stream.respond(status: 200, headers: [("content-type", "application/json")])
        stream.respondBody(text, endOfStream: true)
    }
}

/// RPC filter: rejects tools named in `deny`, rewrites params of `rewrite_tool`, and decides
/// asynchronously (after a timer) for tools named in `slow`.
struct RPCGate: RPCFilter {
    static let name = "rpc-gate"
    struct Config: Decodable { var deny: [String]; var slow: [String]?; var rewrite_tool: String? }
    let config: Config
    init(configuration: FilterConfiguration) throws { config = try configuration.decode(Config.self) }

    func rpcMessage(_ message: RPCMessage, stream: FilterStream) -> FilterStatus {
        if config.deny.contains(message.target) {
            stream.rejectRPC(code: -32602, message: "Unknown tool: \(message.target)")
            return .replied
        }
        if message.target == config.rewrite_tool {
            stream.setRPCParams(#"{"name":"\#(message.target)","arguments":{"rewritten":true}}"#)
        }
        // List items are decided on the spot (a STOP there hides the item).
        if message.kind == .request, config.slow?.contains(message.target) == true {
            _ = stream.scope.startTimer(milliseconds: 20)
            return .stop
        }
        return .continue
    }

    func event(_ event: PluginEvent, stream: FilterStream) {
        if event.kind == .timer { stream.resumeRPC(allow: true) }
    }
}

/// Copies request attributes and a per-stream value into request headers (`x-attr-*`), sets a
/// per-stream value for later filters, and counts requests in a plugin-defined metric.
struct Inspect: Filter {
    static let name = "inspect"
    struct Config: Decodable { var set_value: String?; var metric: String? }
    let setValue: String?
    let counter: Counter?

    init(configuration: FilterConfiguration) throws {
        let config = try configuration.decode(Config.self)
        setValue = config.set_value
        counter = config.metric.flatMap { configuration.counter(name: $0, help: "requests seen by the inspect test filter") }
    }

    func requestHeaders(_ stream: FilterStream, endOfStream: Bool) -> FilterStatus {
        counter?.increment()
        if let setValue {
            stream.setValue(setValue, forKey: "identity")
            return .continue
        }
        let attributes: [(String, FilterStream.Attribute)] = [
            ("method", .method), ("path", .path), ("host", .host), ("scheme", .scheme), ("peer", .peerAddress),
            ("sni", .tlsServerName), ("subject", .tlsPeerSubject), ("route", .routeName), ("listener", .listenerName),
            ("version", .httpVersion), ("request-id", .requestID), ("filter", .filterName),
        ]
        for (name, attribute) in attributes {
            stream.setHeader("x-attr-\(name)", stream.attribute(attribute) ?? "-")
        }
        stream.setHeader("x-attr-identity", stream.value(forKey: "identity") ?? "-")
        return .continue
    }
}

/// Handler: relays an upstream response to the client chunk by chunk as it arrives, through a
/// streamed `http_call` (what a gateway does with an upstream SSE stream).
struct StreamRelay: Filter {
    static let name = "stream-relay"
    static let kind = FilterKind.handler
    struct Config: Decodable { var url: String }
    let url: String
    init(configuration: FilterConfiguration) throws { url = try configuration.decode(Config.self).url }

    func requestHeaders(_ stream: FilterStream, endOfStream: Bool) -> FilterStatus {
        guard stream.scope.httpCall(url: url, timeoutMilliseconds: 2000, streamBody: true) != nil else {
            stream.sendLocalReply(status: 500, body: "http_call refused\n")
            return .replied
        }
        return .continue
    }

    func event(_ event: PluginEvent, stream: FilterStream) {
        switch event.kind {
        case .httpResponse:
            let type = event.headers.first { $0.name.lowercased() == "content-type" }?.value ?? "application/octet-stream"
            stream.respond(status: Int(event.code), headers: [("content-type", type), ("x-relayed", "1")])
        case .httpBody:
            stream.respondBody(event.data, endOfStream: event.endOfStream)
        case .httpFailed:
            stream.sendLocalReply(status: 502, body: "relay failed: \(event.text)\n")
        default:
            break
        }
    }
}

/// Handler: makes a streamed `http_call` (with `whole_when_ready`, ABI 1.7) and answers with the
/// events it got, one line each (`response 200 eos=1 bytes=42`, `body eos=0 bytes=7`).
struct CallEvents: Filter {
    static let name = "call-events"
    static let kind = FilterKind.handler
    struct Config: Decodable {
        var url: String
        var whole_when_ready: Bool
    }
    final class Log: @unchecked Sendable { var lines: [String] = [] }
    let config: Config
    init(configuration: FilterConfiguration) throws { config = try configuration.decode(Config.self) }

    func requestHeaders(_ stream: FilterStream, endOfStream: Bool) -> FilterStatus {
        stream.state = Log()
        guard stream.scope.httpCall(url: config.url, timeoutMilliseconds: 2000, streamBody: true, wholeWhenReady: config.whole_when_ready) != nil else {
            stream.sendLocalReply(status: 500, body: "http_call refused\n")
            return .replied
        }
        return .continue
    }

    func event(_ event: PluginEvent, stream: FilterStream) {
        guard let log = stream.state as? Log else { return }
        switch event.kind {
        case .httpResponse: log.lines.append("response \(event.code) eos=\(event.endOfStream ? 1 : 0) bytes=\(event.dataCount)")
        case .httpBody: log.lines.append("body eos=\(event.endOfStream ? 1 : 0) bytes=\(event.dataCount)")
        case .httpFailed: log.lines.append("failed \(event.text)")
        default: return
        }
        if event.endOfStream || event.kind == .httpFailed {
            stream.sendLocalReply(status: 200, body: log.lines.joined(separator: "\n") + "\n")
        }
    }
}

/// Holds every response head for `delay_ms` (a timer), then lets it go with `x-delayed: 1`.
struct ResponseDelay: Filter {
    static let name = "response-delay"
    struct Config: Decodable { var delay_ms: UInt32 }
    let delay: UInt32
    init(configuration: FilterConfiguration) throws { delay = try configuration.decode(Config.self).delay_ms }

    func responseHeaders(_ stream: FilterStream, endOfStream: Bool) -> FilterStatus {
        _ = stream.scope.startTimer(milliseconds: delay)
        return .stop
    }

    func event(_ event: PluginEvent, stream: FilterStream) {
        guard event.kind == .timer else { return }
        stream.setHeader("x-delayed", "1", in: .response)
        stream.resume()
    }
}

/// Starts work at configuration time, the way the MCP plugin starts stdio upstreams: `init` (on the
/// control thread) posts to a config-scope scheduler; on the instance's home loop that event spawns
/// `command` as a config-scope process; its first stdout line is then stamped on every request.
final class ConfigScopeProcess: Filter, @unchecked Sendable {
    static let name = "config-process"
    struct Config: Decodable { var command: [String] }
    let command: [String]
    private let firstLine = Mutex("-")
    private var scheduler: Scheduler?

    init(configuration: FilterConfiguration) throws {
        command = try configuration.decode(Config.self).command
        scheduler = configuration.scope.makeScheduler()
        scheduler?.post(1)
    }

    func configurationEvent(_ event: PluginEvent, scope: Scope) {
        switch event.kind {
        case .scheduled:
            if scope.spawnProcess(command) == nil { setLine("spawn failed") }
        case .processStdout:
            firstLine.withLock { if $0 == "-" { $0 = event.text } }
        default:
            break
        }
    }

    private func setLine(_ line: String) { firstLine.withLock { $0 = line } }

    func requestHeaders(_ stream: FilterStream, endOfStream: Bool) -> FilterStatus {
        stream.setHeader("x-config-process", firstLine.withLock { $0 })
        return .continue
    }
}

@c(agw_plugin_entry_v1)
public func entry(_ host: UnsafeRawPointer?) -> UnsafeRawPointer? {
    PluginExport.plugin(name: "test-filters", version: "0.0.1",
                        filters: [AsyncLookup.self, ThreadResume.self, LocalReply.self, BodyRewrite.self, PickyConfig.self,
                                  SSECounter.self, ProcessLine.self, RPCEcho.self, RPCGate.self, Inspect.self, StreamRelay.self, ResponseDelay.self, ConfigScopeProcess.self,
                                  CallEvents.self],
                        host: host)
}
