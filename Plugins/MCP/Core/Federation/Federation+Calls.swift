import JSON

/// Clients' calls routed to one target (`tools/call`, `prompts/get`, `resources/read`, …):
/// dispatch, answers and failures, cancellation by the client, abandoned exchanges, deadlines.
extension Federation {
    /// A client's request routed to a target.
    public mutating func call(_ routed: RoutedCall, now: Double) -> [FederationAction] {
        self.now = now
        guard let targetIndex = config.targets.firstIndex(where: { $0.name == routed.target }) else {
            emit(.deliver(routed.exchange, .error(Self.error(-32602, "Unknown target '\(routed.target)'"))))
            return take()
        }
        let id = CallID(value: nextCall)
        nextCall += 1
        calls[id] = ClientCall(exchange: routed.exchange, owner: routed.owner, style: routed.style, clientID: routed.clientID,
                               method: routed.method, targetIndex: targetIndex, params: routed.params, rewrite: routed.rewrite,
                               cancelsWhenAbandoned: routed.cancelsWhenAbandoned, forwardedHeaders: routed.forwardedHeaders)
        dispatch(id)
        return take()
    }

    /// `notifications/cancelled` from a client: only its own request, named as it named it.
    /// Anonymous stateless clients cannot be told apart, so they cancel by closing the stream.
    public mutating func cancel(_ owner: Owner, requestID: String, now: Double) -> [FederationAction] {
        self.now = now
        let key = ClientRequestKey(owner: owner, requestID: requestID)
        guard owner.isIdentifiable, let id = inFlight.removeValue(forKey: key), let call = calls.removeValue(forKey: id) else { return [] }
        if let connection = call.connection, let upstreamID = call.upstreamID {
            guard connections[connection]?.pending.removeValue(forKey: upstreamID) != nil else { return take() }
            sendCancelled(upstreamID, on: connection, reason: "cancelled by the client")
        }
        // A call still waiting for its connection is gone: when its turn comes, nothing is sent.
        emit(.deliver(call.exchange, .error(Self.error(-32800, "Request cancelled"))))
        return take()
    }

    /// A client left before its exchange was answered. A call sent from its stream dies with it,
    /// as does one that cancels when abandoned; other handshake-era calls run on.
    public mutating func exchangeAbandoned(_ exchange: ExchangeID, now: Double) -> [FederationAction] {
        self.now = now
        describeWaiters.removeAll { $0 == exchange }
        for (id, call) in calls where call.exchange == exchange && (call.cancelsWhenAbandoned || call.viaStream) {
            if let connection = call.connection, let upstreamID = call.upstreamID,
               connections[connection]?.pending.removeValue(forKey: upstreamID) != nil {
                sendCancelled(upstreamID, on: connection, reason: "the client closed the stream")
            }
            untrack(id)
            calls[id] = nil
        }
        return take()
    }

    /// `logging/setLevel`: to every ready handshake-era target that logs.
    public mutating func setLogLevel(_ params: JSONValue) -> [FederationAction] {
        for id in shared {
            guard let connection = connections[id], connection.isReady, !connection.modern, connection.capabilities?["logging"] != nil else { continue }
            send(request: "logging/setLevel", params: Array(params.raw), on: id, purpose: .ignore)
        }
        return take()
    }

    // MARK: - dispatch

    /// Sends a call to its connection, or parks it until the connection is ready.
    mutating func dispatch(_ id: CallID) {
        guard var call = calls[id] else { return } // cancelled or abandoned while it waited
        let (connectionID, refusal) = connection(for: call.targetIndex, owner: call.owner)
        guard let connectionID, let connection = connections[connectionID] else {
            finish(id, with: .error(Self.error(-32603, "MCP server '\(config.targets[call.targetIndex].name)' is unavailable: \(refusal ?? "no connection")")))
            return
        }
        switch connection.state {
        case .starting:
            track(id) // cancellable while it waits
            connections[connectionID]?.waiting.append(.call(id))
        case .down(let reason):
            finish(id, with: .error(Self.error(-32603, "MCP server '\(config.targets[call.targetIndex].name)' is unavailable: \(reason)")))
        case .ready:
            let upstreamID = connection.nextID
            if call.clientProgressToken != nil { call.rewrite.progressToken = String(upstreamID) }
            call.upstreamID = upstreamID
            call.connection = connectionID
            calls[id] = call
            track(id)
            // A 2026-07-28 client answered with an InputRequiredResult ends its stream while a
            // handshake-era target still works on the call: that call must not die with it.
            let fromStream = connection.sendsFromAnyLoop && (call.style == .relay || connection.modern)
            send(request: call.method, params: call.params.map { call.rewrite.apply(to: $0) }, on: connectionID, purpose: .call(id),
                 call: id, extraHeaders: call.forwardedHeaders, via: fromStream ? call.exchange : nil)
        }
    }

    /// Registers a call for `notifications/cancelled` (clients that can be told apart only).
    mutating func track(_ id: CallID) {
        guard let call = calls[id], call.owner.isIdentifiable else { return }
        inFlight[ClientRequestKey(owner: call.owner, requestID: call.clientID)] = id
    }

    mutating func untrack(_ id: CallID) {
        guard let call = calls[id], call.owner.isIdentifiable else { return }
        let key = ClientRequestKey(owner: call.owner, requestID: call.clientID)
        if inFlight[key] == id { inFlight[key] = nil }
    }

    /// Answers the client and forgets the call.
    mutating func finish(_ id: CallID, with delivery: Delivery) {
        guard let call = calls[id] else { return }
        untrack(id)
        calls[id] = nil
        emit(.deliver(call.exchange, delivery))
    }

    // MARK: - answers

    /// A target answered one of the federation's requests.
    mutating func complete(_ entry: TargetConnection.Pending, on id: ConnectionID, upstreamID: Int, result: JSONValue?, error: JSONValue?) {
        switch entry.purpose {
        case .probe:
            // A JSON-RPC error (method not found, unsupported version, missing session, ...) is
            // not 2026-07-28 evidence: the handshake follows.
            probed(id, result: result, failure: error.map { "HTTP 4xx-equivalent JSON-RPC error \($0["code"]?.text ?? "?")" })
        case .handshake:
            if let result {
                handshakeCompleted(id, result: result)
            } else {
                connectionFailed(id, reason: "initialize was refused: \(error?.text ?? "?")")
            }
        case .call(let call):
            guard let modern = connections[id]?.modern, let style = calls[call]?.style else { return }
            if let result, modern, style == .relay, result["resultType"]?.string == "input_required" {
                untrack(call)
                bridgeInput(call, result: result)
            } else if let result {
                let answer = calls[call]?.method == "resources/read" ? clientURIs(in: result, of: id)[...] : result.raw
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
    mutating func fail(_ entry: TargetConnection.Pending, on id: ConnectionID, upstreamID: Int, reason: String) {
        switch entry.purpose {
        case .handshake, .ignore, .probe:
            break
        case .call(let call):
            finish(call, with: .error(Self.error(-32603, "MCP server '\(name(of: id))' failed: \(reason)")))
        case .listPage(let job, let targetIndex):
            listFailed(job, targetIndex: targetIndex, reason: reason)
        }
    }

    /// Requests past their deadline: the client gets -32001 and the target `notifications/cancelled`;
    /// an unanswered handshake or probe brings the connection down.
    mutating func expireDeadlines() {
        for id in Array(connections.keys) {
            guard let connection = connections[id] else { continue }
            let expired = connection.pending.filter { $0.value.deadline < now }.sorted { $0.key < $1.key }
            for (upstreamID, entry) in expired {
                connections[id]?.pending[upstreamID] = nil
                let within = "within \(Int(connection.timeout * 1000)) ms"
                if case .handshake = entry.purpose {
                    connectionFailed(id, reason: "no answer to initialize \(within)")
                    break
                }
                if case .probe = entry.purpose {
                    connectionFailed(id, reason: "no answer to server/discover \(within)")
                    break
                }
                sendCancelled(upstreamID, on: id, reason: "timed out")
                if case .call(let call) = entry.purpose {
                    finish(call, with: .error(Self.error(-32001, "MCP server '\(name(of: id))' did not answer \(within)")))
                } else {
                    fail(entry, on: id, upstreamID: upstreamID, reason: "no answer \(within)")
                }
            }
        }
    }

    mutating func sendCancelled(_ upstreamID: Int, on id: ConnectionID, reason: String) {
        let params = "{\"requestId\":\(upstreamID),\"reason\":\(JSONText.quoted(reason))}"
        sendNotification("notifications/cancelled", params: Array(params.utf8), on: id)
    }

    /// A `resources/read` result with each `contents[].uri` mapped to the name clients see.
    func clientURIs(in result: JSONValue, of id: ConnectionID) -> [UInt8] {
        guard names.prefixes, let members = result.members else { return Array(result.raw) }
        let target = name(of: id)
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
