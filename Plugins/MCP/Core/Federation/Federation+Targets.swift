import Foundation
import JSON
import JSONRPC

/// Connections to targets: making and starting them, the era probe and the handshake, failure
/// and restart with backoff, clients' own connections, and sending requests in each era.
extension Federation {
    mutating func makeConnection(targetIndex: Int, owner: Owner?) -> ConnectionID {
        let target = config.targets[targetIndex]
        let timeout = target.timeoutMilliseconds ?? config.requestTimeoutMilliseconds
        let transport: TargetConnection.Transport = switch target.transport {
        case .stdio: .stdio
        case .sse(let url): .sse(LegacySSETransport(url: url, headers: target.headers))
        case .http(let url): .http(StreamableHTTPTransport(url: url, headers: target.headers, timeoutMilliseconds: timeout))
        case .a2a(let url, let cardURL): .a2a(A2AAgentTransport(url: url, cardURL: cardURL, headers: target.headers, timeoutMilliseconds: timeout))
        case .openapi(let api): .openapi(OpenAPITransport(target: api, headers: target.headers, timeoutMilliseconds: timeout))
        }
        let id = ConnectionID(nextConnection)
        nextConnection += 1
        connections[id] = TargetConnection(id: id, targetIndex: targetIndex, name: target.name, owner: owner, transport: transport,
                                           timeout: Double(timeout) / 1000, lastUsed: now)
        return id
    }

    /// Starts (or restarts) a connection's transport; the handshake follows once it is connected.
    mutating func startConnection(_ connection: TargetConnection) {
        connection.state = .starting
        switch connection.transport {
        case .stdio:
            guard case .stdio(let command, let arguments, let environment, let directory) = config.targets[connection.targetIndex].transport else { return }
            emit(.spawn(connection.id, command: command, arguments: arguments,
                        environment: environment.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }, workingDirectory: directory))
        case .http(let transport):
            transport.reset()
            transportConnected(connection)
        case .sse(let transport):
            let call = newHTTPCall(on: connection, kind: .sseStream)
            emit(.httpCall(call.id, transport.open(call.id), via: nil))
        case .a2a(let transport):
            transport.reset()
            transportConnected(connection)
        case .openapi(let transport):
            if connection.owner == nil, let skipped = transport.target.catalog?.skipped {
                for reason in skipped { log(.warning, "target '\(connection.name)': operation left out: \(reason)") }
            }
            perform(transport.start(), on: connection, call: nil, via: nil)
        }
    }

    mutating func newHTTPCall(on connection: TargetConnection, kind: HTTPCallUse.Kind, call: ClientCall? = nil) -> HTTPCallUse {
        let use = HTTPCallUse(id: HTTPCallID(nextHTTPCall), connection: connection, kind: kind, call: call)
        nextHTTPCall += 1
        httpCalls[use.id] = use
        return use
    }

    /// The transport can carry messages: probe the era (HTTP) or start the handshake.
    mutating func transportConnected(_ connection: TargetConnection) {
        connection.modern = false
        let target = config.targets[connection.targetIndex]
        if case .http = target.transport, target.protocolChoice != .handshake {
            setProtocolVersion(connection, Self.modernVersion)
            send(request: "server/discover", params: nil, on: connection, purpose: .probe, modern: true)
            return
        }
        initialize(connection)
    }

    mutating func initialize(_ connection: TargetConnection) {
        setProtocolVersion(connection, nil)
        let params = """
            {"protocolVersion":"\(Self.handshakeVersion)","capabilities":{"elicitation":{},"sampling":{},"roots":{"listChanged":true}},\
            "clientInfo":{"name":"agentgateway","version":"0.1.0"}}
            """
        send(request: "initialize", params: Array(params.utf8), on: connection, purpose: .handshake)
    }

    func setProtocolVersion(_ connection: TargetConnection, _ version: String?) {
        connection.protocolVersion = version
        if case .http(let transport) = connection.transport { transport.protocolVersion = version }
    }

    /// The answer to `server/discover`: a 2026-07-28 server, or else the handshake.
    mutating func probed(_ connection: TargetConnection, result: JSONValue?, failure: String?) {
        let versions = result?["supportedVersions"]?.elements?.compactMap(\.string) ?? []
        if let result, versions.contains(Self.modernVersion) {
            connection.modern = true
            handshakeCompleted(connection, result: result)
            return
        }
        if config.targets[connection.targetIndex].protocolChoice == .modern {
            connectionFailed(connection, reason: "it does not speak \(Self.modernVersion): \(failure ?? "server/discover offered \(versions)")")
        } else if let failure, !failure.hasPrefix("HTTP 4") {
            // Not even an HTTP answer (refused, reset, timed out): the target is down.
            connectionFailed(connection, reason: "server/discover failed: \(failure)")
        } else {
            initialize(connection) // any other answer means a handshake-era server (the spec's era detection)
        }
    }

    mutating func handshakeCompleted(_ connection: TargetConnection, result: JSONValue) {
        connection.capabilities = result["capabilities"]
        connection.instructions = result["instructions"]?.string
        if connection.modern {
            setProtocolVersion(connection, Self.modernVersion)
        } else {
            setProtocolVersion(connection, result["protocolVersion"]?.string ?? Self.handshakeVersion)
            sendNotification("notifications/initialized", params: nil, on: connection)
            listen(connection)
        }
        connection.state = .ready
        connection.settled = true
        connection.restartAttempts = 0
        if connection.owner == nil { emit(.targetStatus(targetIndex: connection.targetIndex, .up)) }
        let server = (result["serverInfo"] ?? result["_meta"]?["io.modelcontextprotocol/serverInfo"])?["name"]?.string ?? "?"
        let whose = connection.owner.map { " for \($0)" } ?? ""
        log(.info, "target '\(connection.name)' is ready\(whose) (server '\(server)', protocol \(connection.protocolVersion ?? "?"))")
        runWaiting(connection)
        answerDescribeWaiters()
        if connection.owner == nil, !names.prefixes, config.targets.count > 1 {
            // Route by lookup: learn who owns which name now.
            for kind in ListKind.allCases { startList(kind, exchange: nil, owner: Owner(sessionID: nil, caller: nil)) }
        }
    }

    /// The handshake era's GET stream for what a Streamable HTTP server sends on its own.
    mutating func listen(_ connection: TargetConnection) {
        guard case .http(let transport) = connection.transport else { return }
        let call = newHTTPCall(on: connection, kind: .listen)
        emit(.httpCall(call.id, transport.listen(call.id), via: nil))
    }

    /// The connection is gone: its requests fail; a shared one restarts with backoff, a client's
    /// own is dropped (its next request opens a new one).
    mutating func connectionFailed(_ connection: TargetConnection, reason: String) {
        guard connection.downReason == nil, connections[connection.id] === connection else { return }
        connection.state = .down(reason)
        connection.settled = true
        stopTransport(connection)
        let pending = connection.pending
        connection.pending.removeAll()
        for (upstreamID, entry) in pending.sorted(by: { $0.key < $1.key }) { fail(entry, on: connection, upstreamID: upstreamID, reason: reason) }
        runWaiting(connection)
        if let owner = connection.owner {
            if own[owner]?[connection.targetIndex] == connection.id { own[owner]?[connection.targetIndex] = nil }
            if own[owner]?.isEmpty == true { own[owner] = nil }
            connections[connection.id] = nil
            log(.info, "target '\(connection.name)': the connection of \(owner) ended: \(reason)")
            return
        }
        let delay = min(30_000, 500 << min(connection.restartAttempts, 6))
        connection.restartAttempts += 1
        emit(.targetStatus(targetIndex: connection.targetIndex, .down))
        log(.warning, "target '\(connection.name)' is down: \(reason); restarting in \(delay) ms")
        emit(.armRestart(targetIndex: connection.targetIndex, afterMilliseconds: delay))
        answerDescribeWaiters()
    }

    /// Ends what the transport holds: the process, the GET stream, the upstream session.
    mutating func stopTransport(_ connection: TargetConnection) {
        switch connection.transport {
        case .stdio:
            if let processID = connection.processID { emit(.terminate(processID: processID, graceMilliseconds: 1000)) }
        case .http(let transport):
            let (cancel, delete) = transport.stop()
            if let cancel { cancelHTTPCall(cancel) }
            if let delete { emit(.httpCall(newHTTPCall(on: connection, kind: .delete).id, delete, via: nil)) }
        case .sse(let transport):
            if let cancel = transport.stop() { cancelHTTPCall(cancel) }
        case .a2a:
            cancelAgentCalls(on: connection) { _ in true }
        case .openapi:
            cancelAPICalls(on: connection) { _ in true }
        }
    }

    /// Cancels an OpenAPI target's calls that `matches` picks.
    mutating func cancelAPICalls(on connection: TargetConnection, _ matches: (OpenAPITransport.Purpose) -> Bool) {
        let uses = Array(httpCalls.values) + Array(hostCalls.values)
        for use in uses where use.connection === connection {
            if case .openapi(let purpose) = use.kind, matches(purpose) { cancelHTTPCall(use.id) }
        }
    }

    /// Cancels an A2A target's calls to its agent that `matches` picks.
    mutating func cancelAgentCalls(on connection: TargetConnection, _ matches: (A2AAgentTransport.Purpose) -> Bool) {
        let uses = Array(httpCalls.values) + Array(hostCalls.values)
        for use in uses where use.connection === connection {
            if case .agent(let purpose) = use.kind, matches(purpose) { cancelHTTPCall(use.id) }
        }
    }

    /// Cancels a call: started ones at the host; one not started yet is ignored when it starts.
    mutating func cancelHTTPCall(_ id: HTTPCallID) {
        if httpCalls.removeValue(forKey: id) != nil { return }
        guard let (key, _) = hostCalls.first(where: { $0.value.id == id }) else { return }
        hostCalls[key] = nil
        emit(.cancelHTTPCall(key))
    }

    mutating func requestFailed(_ requestID: Int, on connection: TargetConnection, reason: String) {
        guard let entry = connection.pending.removeValue(forKey: requestID) else { return }
        switch entry.purpose {
        case .probe: probed(connection, result: nil, failure: reason)
        case .handshake: connectionFailed(connection, reason: "initialize failed: \(reason)")
        default: fail(entry, on: connection, upstreamID: requestID, reason: reason)
        }
    }

    mutating func rejected(_ requestID: Int, on connection: TargetConnection, error: JSONValue) {
        guard let entry = connection.pending.removeValue(forKey: requestID) else { return }
        complete(entry, on: connection, upstreamID: requestID, result: nil, error: error)
    }

    /// One JSON-RPC message from a target.
    mutating func received(_ bytes: [UInt8], on connection: TargetConnection, relatedTo: Int?) {
        let envelope: JSONRPCEnvelope
        do {
            envelope = try JSONRPCEnvelope.scan(bytes)
        } catch {
            log(.warning, "target '\(connection.name)' sent a message that is not JSON-RPC (\(error)); ignored")
            return
        }
        let params = envelope.params.map { JSONValue(bytes, range: $0) }
        switch envelope.kind {
        case .result, .error:
            guard let idRange = envelope.id, let upstreamID = JSONValue(bytes, range: idRange).int,
                  let entry = connection.pending.removeValue(forKey: upstreamID) else { return }
            complete(entry, on: connection, upstreamID: upstreamID, result: envelope.result.map { JSONValue(bytes, range: $0) },
                     error: envelope.error.map { JSONValue(bytes, range: $0) })
        case .request:
            let requestID = envelope.id.map { JSONValue(bytes, range: $0).text } ?? "null"
            serverRequest(envelope.method ?? "", id: requestID, params: params, from: connection, relatedTo: relatedTo)
        case .notification:
            serverNotification(envelope.method ?? "", params: params, message: JSONValue(bytes), from: connection, relatedTo: relatedTo)
        }
    }

    mutating func runWaiting(_ connection: TargetConnection) {
        guard !connection.waiting.isEmpty else { return }
        let waiting = connection.waiting
        connection.waiting.removeAll()
        for waiter in waiting {
            switch waiter {
            case .call(let call): dispatch(call)
            case .listPage(let job, let targetIndex, let cursor): requestPage(job, targetIndex: targetIndex, cursor: cursor)
            }
        }
    }

    // MARK: - clients' own connections

    /// Whether a client's requests to this target go through a connection of its own: a process
    /// for stdio targets, an upstream session for handshake-era HTTP and SSE targets (2026-07-28
    /// targets have no sessions: the shared connection serves everyone). A client is a session,
    /// or a stateless client with an authenticated caller; anonymous stateless clients share.
    func usesOwnConnection(_ targetIndex: Int, owner: Owner) -> Bool {
        guard config.upstreamSessions == .perClient, owner.isIdentifiable else { return false }
        if let sessionID = owner.sessionID, own[owner] == nil, !sessions.exists(sessionID) { return false }
        guard let shared = connections[shared[targetIndex]] else { return false }
        switch shared.transport {
        case .stdio: return true
        case .a2a: return false // the agent binds its tasks; the gateway has no upstream session to give each client
        case .openapi: return false // each call is one stateless HTTP request
        case .http, .sse: return shared.isReady && !shared.modern
        }
    }

    /// The connection a request of `owner` goes through: its own (made on first use), else the
    /// shared one. Nil and a reason when a new per-client process would exceed `max_processes`.
    mutating func connection(for targetIndex: Int, owner: Owner) -> (TargetConnection?, refusal: String?) {
        guard usesOwnConnection(targetIndex, owner: owner) else { return (connections[shared[targetIndex]], nil) }
        if let existing = own[owner]?[targetIndex].flatMap({ connections[$0] }) {
            existing.lastUsed = now
            return (existing, nil)
        }
        let target = config.targets[targetIndex]
        if case .stdio = target.transport {
            let running = own.values.reduce(0) { $0 + ($1[targetIndex] == nil ? 0 : 1) }
            guard running < target.maxProcesses else {
                log(.warning, "target '\(target.name)': max_processes = \(target.maxProcesses) per-client processes are running; "
                    + "a request of \(owner) is refused")
                return (nil, "it has reached max_processes = \(target.maxProcesses) (one process per client); "
                    + "try again when a client's session ends, or raise max_processes")
            }
        }
        let id = makeConnection(targetIndex: targetIndex, owner: owner)
        own[owner, default: [:]][targetIndex] = id
        guard let connection = connections[id] else { return (nil, "no connection") }
        startConnection(connection)
        return (connection, nil)
    }

    /// Stops a client's own connections: their calls fail, processes and upstream sessions end.
    mutating func stopOwnConnections(of owner: Owner, reason: String) {
        guard let mine = own.removeValue(forKey: owner) else { return }
        log(.debug, "\(owner): \(reason); stopping its \(mine.count) upstream connection(s)")
        for id in mine.values {
            guard let connection = connections.removeValue(forKey: id) else { continue }
            connection.state = .down(reason)
            stopTransport(connection)
            let pending = connection.pending
            connection.pending.removeAll()
            for (upstreamID, entry) in pending { fail(entry, on: connection, upstreamID: upstreamID, reason: reason) }
            runWaiting(connection) // they find the connection down and fail
        }
    }

    /// A stateless client's own connections end after `session_ttl_seconds` without a request.
    mutating func stopIdleOwnConnections() {
        for (owner, mine) in own where owner.sessionID == nil {
            let idle = mine.values.allSatisfy { id in
                connections[id].map { $0.pending.isEmpty && now - $0.lastUsed >= sessions.ttl } ?? true
            }
            if idle { stopOwnConnections(of: owner, reason: "it made no request for \(Int(sessions.ttl)) s") }
        }
    }

    // MARK: - sending

    /// Sends a request to a connection, to be answered with `purpose`.
    mutating func send(request method: String, params: [UInt8]?, on connection: TargetConnection, purpose: TargetConnection.Purpose,
                       modern: Bool? = nil, call: ClientCall? = nil, extraHeaders: [(String, String)] = [], via: ExchangeID? = nil) {
        let upstreamID = connection.nextID
        connection.nextID += 1
        connection.pending[upstreamID] = TargetConnection.Pending(purpose: purpose, deadline: now + connection.timeout)
        let (params, headers) = envelope(method, params, modern: modern ?? connection.modern)
        transmit(JSONText.request(id: String(upstreamID), method: method, params: params), requestID: upstreamID, on: connection,
                 headers: extraHeaders.isEmpty ? headers : headers + extraHeaders, call: call, via: via)
    }

    mutating func sendNotification(_ method: String, params: [UInt8]?, on connection: TargetConnection) {
        let (params, headers) = envelope(method, params, modern: connection.modern)
        transmit(JSONText.request(id: nil, method: method, params: params), requestID: nil, on: connection, headers: headers)
    }

    /// Hands one message to the connection's transport.
    mutating func transmit(_ message: [UInt8], requestID: Int?, on connection: TargetConnection, headers: [(String, String)] = [],
                           call: ClientCall? = nil, via: ExchangeID? = nil) {
        switch connection.transport {
        case .stdio:
            guard let processID = connection.processID else {
                if let requestID { requestFailed(requestID, on: connection, reason: "the process is not running") }
                return
            }
            emit(.write(connection.id, processID: processID, message + [0x0A], requestID: requestID))
        case .http(let transport):
            let use = newHTTPCall(on: connection, kind: .message(requestID: requestID), call: call)
            emit(.httpCall(use.id, transport.post(message, headers: headers), via: via))
        case .sse(let transport):
            guard let request = transport.post(message) else {
                if let requestID { requestFailed(requestID, on: connection, reason: "the SSE session is not open") }
                return
            }
            emit(.httpCall(newHTTPCall(on: connection, kind: .message(requestID: requestID), call: call).id, request, via: nil))
        case .a2a(let transport):
            if requestID == nil, let cancelled = JSONValue(message)["params"]?["requestId"]?.int {
                // The call's own requests to the agent stop with it.
                cancelAgentCalls(on: connection) { $0 == .send(requestID: cancelled) || $0 == .poll(requestID: cancelled) }
            }
            perform(transport.send(message, requestID: requestID, now: now), on: connection)
        case .openapi(let transport):
            if requestID == nil, let cancelled = JSONValue(message)["params"]?["requestId"]?.int {
                cancelAPICalls(on: connection) { $0 == .call(requestID: cancelled) }
            }
            perform(transport.send(message, requestID: requestID, forwarded: headers), on: connection, call: call, via: via)
        }
    }

    /// What an OpenAPI target asked for: calls to its API (from the client's stream when `via`
    /// names it), or answers of its own.
    mutating func perform(_ steps: [OpenAPITransport.Step], on connection: TargetConnection, call: ClientCall?, via: ExchangeID?) {
        for step in steps {
            switch step {
            case .http(let request, let purpose):
                emit(.httpCall(newHTTPCall(on: connection, kind: .openapi(purpose), call: call).id, request, via: via))
            case .output(let output):
                apply([output], from: connection)
            }
        }
    }

    /// What an A2A target asked for: calls to its agent, or answers of its own.
    mutating func perform(_ steps: [A2AAgentTransport.Step], on connection: TargetConnection) {
        for step in steps {
            switch step {
            case .http(let request, let purpose):
                emit(.httpCall(newHTTPCall(on: connection, kind: .agent(purpose)).id, request, via: nil))
            case .output(let output):
                apply([output], from: connection)
            }
        }
    }

    static let modernMeta: [(String, [UInt8])] = [
        ("io.modelcontextprotocol/protocolVersion", Array(JSONText.quoted(modernVersion).utf8)),
        ("io.modelcontextprotocol/clientCapabilities", Array(#"{"elicitation":{},"sampling":{},"roots":{}}"#.utf8)),
        ("io.modelcontextprotocol/clientInfo", Array(#"{"name":"agentgateway","version":"0.1.0"}"#.utf8)),
    ]

    /// A 2026-07-28 request carries its envelope in `_meta` and repeats the method and the name in
    /// headers (`Mcp-Method`, `Mcp-Name`; non-ASCII as `=?base64?…?=`).
    func envelope(_ method: String, _ params: [UInt8]?, modern: Bool) -> ([UInt8]?, [(String, String)]) {
        guard modern else { return (params, []) }
        var rewrite = ParamsRewrite()
        rewrite.metaMembers = Self.modernMeta
        let withMeta = rewrite.apply(to: JSONValue(params ?? Array("{}".utf8)))
        var headers = [("mcp-method", method)]
        let nameKey: String? = switch method {
        case "tools/call", "prompts/get": "name"
        case "resources/read": "uri"
        default: nil
        }
        if let nameKey, let name = JSONValue(withMeta)[nameKey]?.string {
            let plain = name.unicodeScalars.allSatisfy { $0.isASCII && $0.value >= 0x20 && $0.value != 0x7F }
            headers.append(("mcp-name", plain ? name : "=?base64?" + Data(name.utf8).base64EncodedString() + "?="))
        }
        return (withMeta, headers)
    }
}
