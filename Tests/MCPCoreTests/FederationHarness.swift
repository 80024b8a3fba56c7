import JSON
import JSONRPC
@testable import MCPCore
import XCTest

/// Drives a ``Federation`` the way the plugin glue does, and plays its targets: stdio processes
/// (the harness answers their writes) and Streamable HTTP servers (it answers their calls). Every
/// action the federation returns is kept, so a test can look at what went to whom.
struct FederationHarness {
    var federation: Federation
    var now: Double = 1000
    /// Everything the federation asked for, in order.
    private(set) var log: [FederationAction] = []
    /// Actions since the last `drain()`.
    private(set) var fresh: [FederationAction] = []
    private var nextProcess: UInt64 = 100
    private var nextHostCall: UInt64 = 1
    /// Process ids by connection, and the reverse.
    private(set) var processOf: [ConnectionID: UInt64] = [:]
    /// HTTP calls the federation made that wait for an answer.
    private(set) var openCalls: [HTTPCallID: (request: HTTPCallRequest, key: HostCallKey, connection: Int)] = [:]

    init(_ configJSON: String) throws {
        federation = Federation(config: try MCPRouteConfig(json: configJSON), random: Self.counter())
    }

    /// Deterministic "random" words, so tokens are stable within a test (their shape is tested elsewhere).
    static func counter() -> @Sendable () -> UInt64 {
        let box = Box()
        return { box.next() }
    }

    private final class Box: @unchecked Sendable {
        private var value: UInt64 = 0x1000
        func next() -> UInt64 {
            value &+= 0x9E37_79B9_7F4A_7C15
            return value
        }
    }

    // MARK: - feeding the federation

    /// Records what an event returned and acts as the host would for spawns and calls.
    mutating func take(_ actions: [FederationAction]) {
        for action in actions {
            log.append(action)
            fresh.append(action)
            switch action {
            case .spawn(let connection, _, _, _, _):
                let pid = nextProcess
                nextProcess += 1
                processOf[connection] = pid
                take(federation.processStarted(connection, processID: pid))
            case .httpCall(let id, let request, _):
                let key = HostCallKey(scope: 7, id: nextHostCall)
                nextHostCall += 1
                openCalls[id] = (request, key, 0)
                take(federation.httpCallStarted(id, key: key, onStream: false))
            default:
                break
            }
        }
    }

    mutating func start() { take(federation.start(now: now)) }

    mutating func drain() -> [FederationAction] {
        defer { fresh.removeAll() }
        return fresh
    }

    mutating func advance(seconds: Double) {
        now += seconds
        take(federation.tick(now: now))
    }

    // MARK: - stdio targets

    /// Messages written to a connection's process since `drain()`, parsed.
    func written(to connection: ConnectionID) -> [JSONValue] {
        fresh.compactMap { action in
            guard case .write(let target, _, let bytes, _) = action, target == connection else { return nil }
            return JSONValue(Array(bytes.dropLast()))
        }
    }

    /// The last request (with an id) written to the connection, with that method.
    func lastRequest(_ method: String, to connection: ConnectionID) -> JSONValue? {
        log.reversed().lazy.compactMap { action -> JSONValue? in
            guard case .write(let target, _, let bytes, _) = action, target == connection else { return nil }
            let message = JSONValue(Array(bytes.dropLast()))
            return message["method"]?.string == method && message["id"] != nil ? message : nil
        }.first
    }

    /// A line from the connection's process.
    mutating func stdout(_ connection: ConnectionID, _ json: String) {
        guard let pid = processOf[connection] else { return XCTFail("no process for \(connection)") }
        take(federation.processOutput(pid, .stdout(Array(json.utf8))))
    }

    /// Answers the last request of `method` written to the connection with `result` (raw JSON).
    mutating func answer(_ method: String, on connection: ConnectionID, result: String) {
        guard let request = lastRequest(method, to: connection), let id = request["id"]?.text else {
            return XCTFail("no \(method) was written to \(connection)")
        }
        stdout(connection, #"{"jsonrpc":"2.0","id":\#(id),"result":\#(result)}"#)
    }

    /// Completes the handshake of a stdio connection (tools, prompts and resources capabilities).
    mutating func handshake(_ connection: ConnectionID, name: String = "t", capabilities: String = #"{"tools":{},"prompts":{},"resources":{}}"#) {
        answer("initialize", on: connection, result: #"{"protocolVersion":"2025-11-25","capabilities":\#(capabilities),"serverInfo":{"name":"\#(name)"}}"#)
    }

    mutating func exit(_ connection: ConnectionID, code: Int32) {
        guard let pid = processOf.removeValue(forKey: connection) else { return XCTFail("no process for \(connection)") }
        take(federation.processOutput(pid, .exit(code)))
    }

    // MARK: - HTTP targets

    /// The open call whose request has this JSON-RPC method (or HTTP method, for GET/DELETE).
    func openCall(_ method: String) -> (id: HTTPCallID, request: HTTPCallRequest, key: HostCallKey)? {
        openCalls.sorted { $0.key.value < $1.key.value }.lazy.compactMap { id, call -> (HTTPCallID, HTTPCallRequest, HostCallKey)? in
            if call.request.method == method { return (id, call.request, call.key) }
            guard !call.request.body.isEmpty, JSONValue(call.request.body)["method"]?.string == method else { return nil }
            return (id, call.request, call.key)
        }.first
    }

    /// Answers an open HTTP call with a JSON body.
    mutating func respond(_ method: String, status: Int = 200, json: String, sessionID: String? = nil) {
        guard let call = openCall(method) else { return XCTFail("no open call for \(method)") }
        openCalls[call.id] = nil
        take(federation.httpEvent(call.key, .response(status: status, contentType: "application/json", sessionID: sessionID, end: false), now: now))
        take(federation.httpEvent(call.key, body: Array(json.utf8), end: true, now: now))
    }

    /// Answers an open HTTP call's JSON-RPC request with a result.
    mutating func respondResult(_ method: String, result: String, sessionID: String? = nil) {
        guard let call = openCall(method) else { return XCTFail("no open call for \(method)") }
        let id = JSONValue(call.request.body)["id"]?.text ?? "null"
        respond(method, json: #"{"jsonrpc":"2.0","id":\#(id),"result":\#(result)}"#, sessionID: sessionID)
    }

    /// Answers an open call with a bodiless status (202 for notifications).
    mutating func accept(_ method: String, status: Int = 202) {
        guard let call = openCall(method) else { return XCTFail("no open call for \(method)") }
        openCalls[call.id] = nil
        take(federation.httpEvent(call.key, .response(status: status, contentType: nil, sessionID: nil, end: true), now: now))
    }

    // MARK: - what clients got

    func deliveries(to exchange: ExchangeID) -> [Delivery] {
        log.compactMap { action in
            guard case .deliver(let target, let delivery) = action, target == exchange else { return nil }
            return delivery
        }
    }

    /// The last delivery to the exchange as text (message, result or error JSON).
    func lastText(to exchange: ExchangeID) -> String? {
        deliveries(to: exchange).last.map(Self.text)
    }

    static func text(_ delivery: Delivery) -> String {
        switch delivery {
        case .message(let bytes), .error(let bytes): return String(decoding: bytes, as: UTF8.self)
        case .result(let slice): return String(decoding: slice, as: UTF8.self)
        case .list(let list): return list.items.map(\.name).joined(separator: ",")
        case .description(let description): return String(decoding: description.capabilities, as: UTF8.self)
        case .heartbeat: return "heartbeat"
        case .endStream: return "endStream"
        }
    }

    var logLines: [String] {
        log.compactMap { action in
            if case .log(_, let line) = action { return line }
            return nil
        }
    }

    var refusals: Int { log.filter { if case .countRefusedServerRequest = $0 { return true } else { return false } }.count }

    // MARK: - clients

    mutating func call(_ tool: String, on target: String, exchange: UInt64, owner: Owner = Owner(sessionID: nil, caller: nil),
                       style: ServerRequestStyle = .relay, arguments: String = "{}", id: String = "1", progressToken: String? = nil) {
        let meta = progressToken.map { #","_meta":{"progressToken":\#($0)}"# } ?? ""
        let params = JSONValue(Array(#"{"name":"\#(target)_\#(tool)","arguments":\#(arguments)\#(meta)}"#.utf8))
        var rewrite = ParamsRewrite()
        rewrite.member = ("name", tool)
        take(federation.call(RoutedCall(exchange: ExchangeID(exchange), owner: owner, style: style, clientID: id, method: "tools/call",
                                        target: target, params: params, rewrite: rewrite,
                                        cancelsWhenAbandoned: style == .inputRequired || owner.sessionID == nil), now: now))
    }

    mutating func session(caller: String? = nil) -> String {
        let (id, actions) = federation.createSession(protocolVersion: "2025-11-25", caller: caller, now: now)
        take(actions)
        return id
    }
}

/// Route configs for the tests.
enum Configs {
    static func stdio(_ names: [String], options: String = "") -> String {
        let targets = names.map { #"{"name":"\#($0)","type":"stdio","command":"server-\#($0)"}"# }.joined(separator: ",")
        return #"{\#(options)"targets":[\#(targets)]}"#
    }

    static func http(_ name: String, protocolChoice: String = "auto", options: String = "") -> String {
        #"{\#(options)"targets":[{"name":"\#(name)","type":"http","url":"http://127.0.0.1:9/mcp","protocol":"\#(protocolChoice)"}]}"#
    }
}

extension Federation {
    /// A body chunk from an array (the host lends its bytes in place).
    mutating func httpEvent(_ key: HostCallKey, body: [UInt8], end: Bool, now: Double) -> [FederationAction] {
        body.withUnsafeBytes { httpEvent(key, .body($0, end: end), now: now) }
    }
}

extension StreamableHTTPTransport {
    func body(_ call: HTTPCallUse, _ bytes: [UInt8], end: Bool) -> [TransportOutput] {
        bytes.withUnsafeBytes { body(call, $0, end: end) }
    }
}

extension LegacySSETransport {
    func body(_ call: HTTPCallUse, _ bytes: [UInt8], end: Bool) -> [TransportOutput] {
        bytes.withUnsafeBytes { body(call, $0, end: end) }
    }
}
