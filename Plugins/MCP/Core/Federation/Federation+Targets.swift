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
        case .stdio: .stdio(processID: nil)
        case .sse(let url): .sse(LegacySSETransport(url: url, headers: target.headers))
        case .http(let url): .http(StreamableHTTPTransport(url: url, headers: target.headers, timeoutMilliseconds: timeout))
        }
        let id = ConnectionID(nextConnection)
        nextConnection += 1
        connections[id] = TargetConnection(id: id, targetIndex: targetIndex, owner: owner, timeout: Double(timeout) / 1000,
                                           lastUsed: now, transport: transport)
        return id
    }

    /// Starts (or restarts) a connection's transport; the handshake follows once it is connected.
    mutating func startConnection(_ id: ConnectionID) {
        guard var connection = connections[id] else { return }
        connection.state = .starting
        switch connection.transport {
        case .stdio:
            connections[id] = connection
            guard case .stdio(let command, let arguments, let environment, let directory) = config.targets[connection.targetIndex].transport else { return }
            emit(.spawn(id, command: command, arguments: arguments, environment: environment.sorted { $0.key < $1.key }.map { ($0.key, $0.value) },
                        workingDirectory: directory))
        case .http(var transport):
            transport.reset()
            connection.transport = .http(transport)
            connections[id] = connection
            transportConnected(id)
        case .sse(var transport):
            let call = newHTTPCall(on: id, kind: .sseStream)
            let request = transport.open(call)
            connection.transport = .sse(transport)
            connections[id] = connection
            emit(.httpCall(call, request, via: nil))
        }
    }

    mutating func newHTTPCall(on connection: ConnectionID, kind: HTTPCallUse.Kind, call: CallID? = nil) -> HTTPCallID {
        let id = HTTPCallID(nextHTTPCall)
        nextHTTPCall += 1
        httpCalls[id] = HTTPCallUse(connection: connection, kind: kind, call: call)
        return id
    }

    /// The transport can carry messages: probe the era (HTTP) or start the handshake.
    mutating func transportConnected(_ id: ConnectionID) {
        guard let connection = connections[id] else { return }
        connections[id]?.modern = false
        let target = config.targets[connection.targetIndex]
        if case .http = target.transport, target.protocolChoice != .handshake {
            setProtocolVersion(id, Self.modernVersion)
            send(request: "server/discover", params: nil, on: id, purpose: .probe, modern: true)
            return
        }
        initialize(id)
    }

    mutating func initialize(_ id: ConnectionID) {
        setProtocolVersion(id, nil)
        let params = """
            {"protocolVersion":"\(Self.handshakeVersion)","capabilities":{"elicitation":{},"sampling":{},"roots":{"listChanged":true}},\
            "clientInfo":{"name":"agentgateway","version":"0.1.0"}}
            """
        send(request: "initialize", params: Array(params.utf8), on: id, purpose: .handshake)
    }

    mutating func setProtocolVersion(_ id: ConnectionID, _ version: String?) {
        connections[id]?.protocolVersion = version
        if case .http(var transport)? = connections[id]?.transport {
            transport.protocolVersion = version
            connections[id]?.transport = .http(transport)
        }
    }

    /// The answer to `server/discover`: a 2026-07-28 server, or else the handshake.
    mutating func probed(_ id: ConnectionID, result: JSONValue?, failure: String?) {
        guard let connection = connections[id] else { return }
        let versions = result?["supportedVersions"]?.elements?.compactMap(\.string) ?? []
        if let result, versions.contains(Self.modernVersion) {
            connections[id]?.modern = true
            handshakeCompleted(id, result: result)
            return
        }
        if config.targets[connection.targetIndex].protocolChoice == .modern {
            connectionFailed(id, reason: "it does not speak \(Self.modernVersion): \(failure ?? "server/discover offered \(versions)")")
        } else if let failure, !failure.hasPrefix("HTTP 4") {
            // Not even an HTTP answer (refused, reset, timed out): the target is down.
            connectionFailed(id, reason: "server/discover failed: \(failure)")
        } else {
            initialize(id) // any other answer means a handshake-era server (the spec's era detection)
        }
    }

    mutating func handshakeCompleted(_ id: ConnectionID, result: JSONValue) {
        guard var connection = connections[id] else { return }
        connection.capabilities = result["capabilities"]
        connection.instructions = result["instructions"]?.string
        connections[id] = connection
        if connection.modern {
            setProtocolVersion(id, Self.modernVersion)
        } else {
            setProtocolVersion(id, result["protocolVersion"]?.string ?? Self.handshakeVersion)
            sendNotification("notifications/initialized", params: nil, on: id)
            listen(id)
        }
        connections[id]?.state = .ready
        connections[id]?.settled = true
        connections[id]?.restartAttempts = 0
        let server = (result["serverInfo"] ?? result["_meta"]?["io.modelcontextprotocol/serverInfo"])?["name"]?.string ?? "?"
        let whose = connection.owner.map { " for \($0)" } ?? ""
        log(.info, "target '\(name(of: id))' is ready\(whose) (server '\(server)', protocol \(connections[id]?.protocolVersion ?? "?"))")
        runWaiting(id)
        answerDescribeWaiters()
        if connection.owner == nil, !names.prefixes, config.targets.count > 1 {
            // Route by lookup: learn who owns which name now.
            for kind in ListKind.allCases { startList(kind, exchange: nil, owner: Owner(sessionID: nil, caller: nil)) }
        }
    }

    /// The handshake era's GET stream for what a Streamable HTTP server sends on its own.
    mutating func listen(_ id: ConnectionID) {
        guard case .http(var transport)? = connections[id]?.transport else { return }
        let call = newHTTPCall(on: id, kind: .listen)
        let request = transport.listen(call)
        connections[id]?.transport = .http(transport)
        emit(.httpCall(call, request, via: nil))
    }

    /// The connection is gone: its requests fail; a shared one restarts with backoff, a client's
    /// own is dropped (its next request opens a new one).
    mutating func connectionFailed(_ id: ConnectionID, reason: String) {
        guard var connection = connections[id], connection.downReason == nil else { return }
        connection.state = .down(reason)
        connection.settled = true
        connections[id] = connection
        stopTransport(id)
        let pending = connection.pending
        connections[id]?.pending.removeAll()
        for (upstreamID, entry) in pending.sorted(by: { $0.key < $1.key }) { fail(entry, on: id, upstreamID: upstreamID, reason: reason) }
        runWaiting(id)
        if let owner = connection.owner {
            if own[owner]?[connection.targetIndex] == id { own[owner]?[connection.targetIndex] = nil }
            if own[owner]?.isEmpty == true { own[owner] = nil }
            connections[id] = nil
            log(.info, "target '\(config.targets[connection.targetIndex].name)': the connection of \(owner) ended: \(reason)")
            return
        }
        let delay = min(30_000, 500 << min(connection.restartAttempts, 6))
        connections[id]?.restartAttempts += 1
        log(.warning, "target '\(name(of: id))' is down: \(reason); restarting in \(delay) ms")
        emit(.armRestart(targetIndex: connection.targetIndex, afterMilliseconds: delay))
        answerDescribeWaiters()
    }

    /// Ends what the transport holds: the process, the GET stream, the upstream session.
    mutating func stopTransport(_ id: ConnectionID) {
        guard var connection = connections[id] else { return }
        switch connection.transport {
        case .stdio(let processID):
            if let processID { emit(.terminate(processID: processID, graceMilliseconds: 1000)) }
        case .http(var transport):
            let (cancel, delete) = transport.stop()
            connection.transport = .http(transport)
            connections[id] = connection
            if let cancel { cancelHTTPCall(cancel) }
            if let delete { emit(.httpCall(newHTTPCall(on: id, kind: .delete), delete, via: nil)) }
        case .sse(var transport):
            let cancel = transport.stop()
            connection.transport = .sse(transport)
            connections[id] = connection
            if let cancel { cancelHTTPCall(cancel) }
        }
    }

    mutating func cancelHTTPCall(_ call: HTTPCallID) {
        guard let key = httpCalls.removeValue(forKey: call)?.key else { return } // not started: its events are ignored
        hostCalls[key] = nil
        emit(.cancelHTTPCall(key))
    }

    mutating func requestFailed(_ requestID: Int, on id: ConnectionID, reason: String) {
        guard let entry = connections[id]?.pending.removeValue(forKey: requestID) else { return }
        switch entry.purpose {
        case .probe: probed(id, result: nil, failure: reason)
        case .handshake: connectionFailed(id, reason: "initialize failed: \(reason)")
        default: fail(entry, on: id, upstreamID: requestID, reason: reason)
        }
    }

    mutating func rejected(_ requestID: Int, on id: ConnectionID, error: JSONValue) {
        guard let entry = connections[id]?.pending.removeValue(forKey: requestID) else { return }
        complete(entry, on: id, upstreamID: requestID, result: nil, error: error)
    }

    /// One JSON-RPC message from a target.
    mutating func received(_ bytes: [UInt8], on id: ConnectionID, relatedTo: Int?) {
        let envelope: JSONRPCEnvelope
        do {
            envelope = try JSONRPCEnvelope.scan(bytes)
        } catch {
            log(.warning, "target '\(name(of: id))' sent a message that is not JSON-RPC (\(error)); ignored")
            return
        }
        let params = envelope.params.map { JSONValue(bytes, range: $0) }
        switch envelope.kind {
        case .result, .error:
            guard let idRange = envelope.id, let upstreamID = JSONValue(bytes, range: idRange).int,
                  let entry = connections[id]?.pending.removeValue(forKey: upstreamID) else { return }
            complete(entry, on: id, upstreamID: upstreamID, result: envelope.result.map { JSONValue(bytes, range: $0) },
                     error: envelope.error.map { JSONValue(bytes, range: $0) })
        case .request:
            let requestID = envelope.id.map { JSONValue(bytes, range: $0).text } ?? "null"
            serverRequest(envelope.method ?? "", id: requestID, params: params, from: id, relatedTo: relatedTo)
        case .notification:
            serverNotification(envelope.method ?? "", params: params, message: JSONValue(bytes), from: id, relatedTo: relatedTo)
        }
    }

    mutating func runWaiting(_ id: ConnectionID) {
        guard let waiting = connections[id]?.waiting, !waiting.isEmpty else { return }
        connections[id]?.waiting.removeAll()
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
        if case .stdio = shared.transport { return true }
        return shared.isReady && !shared.modern
    }

    /// The connection a request of `owner` goes through: its own (created on first use), else the
    /// shared one. Nil and a reason when a new per-client process would exceed `max_processes`.
    mutating func connection(for targetIndex: Int, owner: Owner) -> (ConnectionID?, refusal: String?) {
        guard usesOwnConnection(targetIndex, owner: owner) else { return (shared[targetIndex], nil) }
        if let existing = own[owner]?[targetIndex] {
            connections[existing]?.lastUsed = now
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
        startConnection(id)
        return (id, nil)
    }

    /// The connection ``connection(for:owner:)`` would pick, without making one.
    func existingConnection(for targetIndex: Int, owner: Owner) -> ConnectionID? {
        guard usesOwnConnection(targetIndex, owner: owner) else { return shared[targetIndex] }
        return own[owner]?[targetIndex]
    }

    /// Stops a client's own connections: their calls fail, processes and upstream sessions end.
    mutating func stopOwnConnections(of owner: Owner, reason: String) {
        guard let mine = own.removeValue(forKey: owner) else { return }
        log(.debug, "\(owner): \(reason); stopping its \(mine.count) upstream connection(s)")
        for id in mine.values {
            guard let connection = connections[id] else { continue }
            connections[id]?.state = .down(reason)
            stopTransport(id)
            connections[id]?.pending.removeAll()
            for (upstreamID, entry) in connection.pending { fail(entry, on: id, upstreamID: upstreamID, reason: reason) }
            runWaiting(id) // they find the connection down and fail
            connections[id] = nil
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
    mutating func send(request method: String, params: [UInt8]?, on id: ConnectionID, purpose: TargetConnection.Purpose,
                       modern: Bool? = nil, call: CallID? = nil, extraHeaders: [(String, String)] = [], via: ExchangeID? = nil) {
        guard var connection = connections[id] else { return }
        let upstreamID = connection.nextID
        connection.nextID += 1
        connection.pending[upstreamID] = TargetConnection.Pending(purpose: purpose, deadline: now + connection.timeout)
        connections[id] = connection
        let (params, headers) = envelope(method, params, modern: modern ?? connection.modern)
        transmit(JSONText.request(id: String(upstreamID), method: method, params: params), requestID: upstreamID, on: id,
                 headers: headers + extraHeaders, call: call, via: via)
    }

    mutating func sendNotification(_ method: String, params: [UInt8]?, on id: ConnectionID) {
        guard let connection = connections[id] else { return }
        let (params, headers) = envelope(method, params, modern: connection.modern)
        transmit(JSONText.request(id: nil, method: method, params: params), requestID: nil, on: id, headers: headers)
    }

    /// Hands one message to the connection's transport.
    mutating func transmit(_ message: [UInt8], requestID: Int?, on id: ConnectionID, headers: [(String, String)] = [],
                           call: CallID? = nil, via: ExchangeID? = nil) {
        guard var connection = connections[id] else { return }
        switch connection.transport {
        case .stdio(let processID):
            guard let processID else {
                if let requestID { requestFailed(requestID, on: id, reason: "the process is not running") }
                return
            }
            emit(.write(id, processID: processID, message + [0x0A], requestID: requestID))
        case .http(var transport):
            let httpCall = newHTTPCall(on: id, kind: .message(requestID: requestID), call: call)
            transport.opened(httpCall, requestID: requestID)
            connection.transport = .http(transport)
            connections[id] = connection
            emit(.httpCall(httpCall, transport.post(message, headers: headers), via: via))
        case .sse(var transport):
            guard let request = transport.post(message) else {
                if let requestID { requestFailed(requestID, on: id, reason: "the SSE session is not open") }
                return
            }
            let httpCall = newHTTPCall(on: id, kind: .message(requestID: requestID), call: call)
            transport.opened(httpCall, requestID: requestID)
            connection.transport = .sse(transport)
            connections[id] = connection
            emit(.httpCall(httpCall, request, via: nil))
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
