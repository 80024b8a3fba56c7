import JSON
import OpenAPITools

/// Clients' calls routed to one target (`tools/call`, `prompts/get`, `resources/read`, …):
/// dispatch, answers and failures, cancellation by the client, abandoned exchanges, deadlines.
extension Federation {
    /// A client's request routed to a target.
    public mutating func call(_ routed: consuming RoutedCall, now: Double) -> [FederationAction] {
        self.now = now
        guard let targetIndex = config.targets.firstIndex(where: { $0.name == routed.target }) else {
            emit(.deliver(routed.exchange, .error(Self.error(-32602, "Unknown target '\(routed.target)'"))))
            return take()
        }
        dispatch(ClientCall(routed, targetIndex: targetIndex))
        return take()
    }

    /// `notifications/cancelled` from a client: only its own request, named as it named it.
    /// Anonymous stateless clients cannot be told apart, so they cancel by closing the stream.
    public mutating func cancel(_ owner: Owner, requestID: String, now: Double) -> [FederationAction] {
        self.now = now
        guard owner.isIdentifiable, let call = inFlight.removeValue(forKey: ClientRequestKey(owner: owner, requestID: requestID)),
              !call.isFinished else { return [] }
        call.isFinished = true
        if let connection = call.connection, let upstreamID = call.upstreamID {
            guard connection.pending.removeValue(forKey: upstreamID) != nil else { return take() }
            sendCancelled(upstreamID, on: connection, reason: "cancelled by the client")
        }
        // A call still waiting for its connection is finished: when its turn comes, nothing is sent.
        emit(.deliver(call.exchange, .error(Self.error(-32800, "Request cancelled"))))
        return take()
    }

    /// A client left before its exchange was answered. A call sent from its stream dies with it,
    /// as does one that cancels when abandoned; other handshake-era calls run on.
    public mutating func exchangeAbandoned(_ exchange: ExchangeID, now: Double) -> [FederationAction] {
        self.now = now
        describeWaiters.removeAll { $0 == exchange }
        for call in calls(of: exchange) where call.cancelsWhenAbandoned || call.viaStream {
            if let connection = call.connection, let upstreamID = call.upstreamID, connection.pending.removeValue(forKey: upstreamID) != nil {
                sendCancelled(upstreamID, on: connection, reason: "the client closed the stream")
            }
            untrack(call)
            call.isFinished = true
        }
        return take()
    }

    /// The unfinished calls answering `exchange`: sent, waiting for a connection, or waiting
    /// for a handshake-era client's input. (A scan: a client leaving early is rare.)
    func calls(of exchange: ExchangeID) -> [ClientCall] {
        var found: [ClientCall] = []
        for connection in connections.values {
            for entry in connection.pending.values {
                if case .call(let call) = entry.purpose, call.exchange == exchange, !call.isFinished { found.append(call) }
            }
            for waiter in connection.waiting {
                if case .call(let call) = waiter, call.exchange == exchange, !call.isFinished { found.append(call) }
            }
        }
        for bridge in bridges.values where bridge.call.exchange == exchange && !bridge.call.isFinished { found.append(bridge.call) }
        return found
    }

    /// `logging/setLevel`: to every ready handshake-era target that logs.
    public mutating func setLogLevel(_ params: JSONValue) -> [FederationAction] {
        for id in shared {
            guard let connection = connections[id], connection.isReady, !connection.modern, connection.capabilities?["logging"] != nil else { continue }
            send(request: "logging/setLevel", params: Array(params.raw), on: connection, purpose: .ignore)
        }
        return take()
    }

    // MARK: - dispatch

    /// Sends a call to its connection, or parks it until the connection is ready.
    mutating func dispatch(_ call: ClientCall) {
        guard !call.isFinished else { return } // cancelled or abandoned while it waited
        let (found, refusal) = connection(for: call.targetIndex, owner: call.owner)
        guard let connection = found else {
            finish(call, with: .error(Self.error(-32603, "MCP server '\(config.targets[call.targetIndex].name)' is unavailable: \(refusal ?? "no connection")")))
            return
        }
        switch connection.state {
        case .starting:
            track(call) // cancellable while it waits
            connection.waiting.append(.call(call))
        case .down(let reason):
            finish(call, with: .error(Self.error(-32603, "MCP server '\(connection.name)' is unavailable: \(reason)")))
        case .ready:
            let upstreamID = connection.nextID
            if call.clientProgressToken != nil { call.rewrite.progressToken = String(upstreamID) }
            call.upstreamID = upstreamID
            call.connection = connection
            track(call)
            // A 2026-07-28 client answered with an InputRequiredResult ends its stream while a
            // handshake-era target still works on the call: that call must not die with it.
            let fromStream = connection.sendsFromAnyLoop && (call.style == .relay || connection.modern || connection.answersOnly)
            send(request: call.method, params: call.params.map { call.rewrite.apply(to: $0) }, on: connection, purpose: .call(call),
                 call: call, extraHeaders: call.forwardedHeaders, via: fromStream ? call.exchange : nil)
        }
    }

    /// Registers a call for `notifications/cancelled` (clients that can be told apart only).
    mutating func track(_ call: ClientCall) {
        guard let key = call.key else { return }
        inFlight[key] = call
    }

    mutating func untrack(_ call: ClientCall) {
        guard let key = call.key, inFlight[key] === call else { return }
        inFlight[key] = nil
    }

    /// Answers the client and forgets the call.
    mutating func finish(_ call: ClientCall, with delivery: Delivery) {
        guard !call.isFinished else { return }
        call.isFinished = true
        untrack(call)
        emit(.deliver(call.exchange, delivery))
    }

    // MARK: - answers

    /// A target answered one of the federation's requests.
    mutating func complete(_ entry: TargetConnection.Pending, on connection: TargetConnection, upstreamID: Int, result: JSONValue?, error: JSONValue?) {
        switch entry.purpose {
        case .probe:
            // A JSON-RPC error (method not found, unsupported version, missing session, ...) is
            // not 2026-07-28 evidence: the handshake follows.
            probed(connection, result: result, failure: error.map { "HTTP 4xx-equivalent JSON-RPC error \($0["code"]?.text ?? "?")" })
        case .handshake:
            if let result {
                handshakeCompleted(connection, result: result)
            } else {
                connectionFailed(connection, reason: "initialize was refused: \(error?.text ?? "?")")
            }
        case .call(let call):
            guard !call.isFinished else { return }
            if let result, connection.modern, call.style == .relay, result["resultType"]?.string == "input_required" {
                untrack(call)
                bridgeInput(call, result: result)
            } else if let result {
                let answer = call.method == "resources/read" ? clientURIs(in: result, of: connection)[...] : result.raw
                finish(call, with: .result(answer))
            } else {
                finish(call, with: .error(error.map { Array($0.raw) } ?? Self.error(-32603, "empty answer")))
            }
        case .listPage(let job, let targetIndex):
            if let result {
                collectPage(job, targetIndex: targetIndex, result: result)
            } else {
                listFailed(job, targetIndex: targetIndex, reason: error?["message"]?.string ?? "the list request failed")
            }
        case .ignore:
            break
        }
    }

    /// One of the federation's requests will not be answered.
    mutating func fail(_ entry: TargetConnection.Pending, on connection: TargetConnection, upstreamID: Int, reason: String) {
        switch entry.purpose {
        case .handshake, .ignore, .probe:
            break
        case .call(let call):
            finish(call, with: .error(Self.error(-32603, "MCP server '\(connection.name)' failed: \(reason)")))
        case .listPage(let job, let targetIndex):
            listFailed(job, targetIndex: targetIndex, reason: reason)
        }
    }

    /// Requests past their deadline: the client gets -32001 and the target `notifications/cancelled`;
    /// an unanswered handshake or probe brings the connection down.
    mutating func expireDeadlines() {
        for connection in Array(connections.values) where !connection.pending.isEmpty {
            let expired = connection.pending.filter { $0.value.deadline < now }.sorted { $0.key < $1.key }
            for (upstreamID, entry) in expired {
                connection.pending[upstreamID] = nil
                let within = "within \(Int(connection.timeout * 1000)) ms"
                if case .handshake = entry.purpose {
                    connectionFailed(connection, reason: "no answer to initialize \(within)")
                    break
                }
                if case .probe = entry.purpose {
                    connectionFailed(connection, reason: "no answer to server/discover \(within)")
                    break
                }
                sendCancelled(upstreamID, on: connection, reason: "timed out")
                if case .call(let call) = entry.purpose, connection.answersOnly {
                    // A REST API that does not answer is a tool error the model can act on.
                    let label = call.params?["name"]?.string.map { "the tool '\($0)'" } ?? "the call"
                    finish(call, with: .result(ToolResult.error("\(label) got no answer from the API '\(connection.name)' \(within)")[...]))
                } else if case .call(let call) = entry.purpose {
                    finish(call, with: .error(Self.error(-32001, "MCP server '\(connection.name)' did not answer \(within)")))
                } else {
                    fail(entry, on: connection, upstreamID: upstreamID, reason: "no answer \(within)")
                }
            }
        }
    }

    mutating func sendCancelled(_ upstreamID: Int, on connection: TargetConnection, reason: String) {
        let params = "{\"requestId\":\(upstreamID),\"reason\":\(JSONText.quoted(reason))}"
        sendNotification("notifications/cancelled", params: Array(params.utf8), on: connection)
    }

    /// A `resources/read` result with each `contents[].uri` mapped to the name clients see.
    func clientURIs(in result: JSONValue, of connection: TargetConnection) -> [UInt8] {
        guard names.prefixes, let members = result.members else { return Array(result.raw) }
        let target = connection.name
        return JSONText.object(members.map { member in
            guard member.name == "contents", let contents = member.value.elements else { return (member.name, Array(member.value.raw)) }
            return (member.name, JSONText.array(contents.map { content in
                guard let fields = content.members, let uri = content["uri"]?.string else { return Array(content.raw) }
                let mapped = names.clientName(target: target, name: uri, uri: true)
                return JSONText.object(fields.map { ($0.name, $0.name == "uri" ? Array(JSONText.quoted(mapped).utf8) : Array($0.value.raw)) })
            }))
        })
    }

    static func error(_ code: Int, _ message: String) -> [UInt8] {
        Array("{\"code\":\(code),\"message\":\(JSONText.quoted(message))}".utf8)
    }
}
