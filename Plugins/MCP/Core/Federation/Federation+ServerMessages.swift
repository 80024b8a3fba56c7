import Foundation
import JSON
import JSONRPC

/// What targets send on their own, and clients' answers to it: server→client requests relayed
/// (or bridged across eras) only to the client that owns them (``ServerRequestOwnership``), under
/// ids only that client can answer (``OwnedTokens``); notifications; retries after an
/// `InputRequiredResult`.
extension Federation {
    // MARK: - clients' answers

    /// Whether `owner` was sent a server→client request with this id (raw JSON) that waits for
    /// its answer (so a forged or stale answer is refused at once).
    public func isAwaitingAnswer(_ id: JSONValue, from owner: Owner) -> Bool {
        guard let token = id.string else { return false }
        return relayed.entry(token, for: owner) != nil || bridged.entry(token, for: owner) != nil
    }

    /// A client answered a relayed request: it goes to the target under the target's id. Only
    /// the owner's answer counts; anyone else's is dropped and leaves the request waiting.
    public mutating func clientAnswer(_ message: JSONValue, _ envelope: JSONRPCEnvelope, from owner: Owner, now: Double) -> [FederationAction] {
        self.now = now
        guard let idRange = envelope.id, let id = JSONValue(message.bytes, range: idRange).string else { return [] }
        if let (bridgeID, key) = bridged.redeem(id, by: owner), var bridge = bridges[bridgeID] {
            bridge.waiting.remove(id)
            if let result = envelope.result {
                bridge.responses.append((key, Array(message.bytes[result])))
                bridges[bridgeID] = bridge
                if bridge.waiting.isEmpty { retry(bridgeID) }
            } else {
                for other in bridge.waiting { bridged.remove(other) }
                bridges[bridgeID] = nil
                finish(bridge.call, with: .error(envelope.error.map { Array(message.bytes[$0]) } ?? Self.error(-32603, "no answer")))
            }
            return take()
        }
        guard let relay = relayed.redeem(id, by: owner) else {
            log(.debug, "\(owner) answered \(id), which the gateway did not ask it; ignored")
            return take()
        }
        let answer: [UInt8]
        if let result = envelope.result {
            answer = JSONText.response(id: relay.upstreamID, result: message.bytes[result])
        } else if let error = envelope.error {
            answer = JSONText.errorResponse(id: relay.upstreamID, error: message.bytes[error])
        } else {
            return take()
        }
        if let connection = connections[relay.connection] { transmit(answer, requestID: nil, on: connection) }
        return take()
    }

    /// A 2026-07-28 client retries after an `InputRequiredResult`: the answers go upstream, and
    /// the call's result (or the next input request) goes to the retry's exchange. A state
    /// another client was given is unknown here, and leaves that client's call alone.
    public mutating func resume(requestState state: String, responses: JSONValue?, exchange: ExchangeID, owner: Owner,
                                clientID: String, now: Double) -> [FederationAction] {
        self.now = now
        guard let (connectionID, upstreamID) = parked.redeem(state, by: owner), let connection = connections[connectionID],
              let call = connection.call(at: upstreamID), !call.isFinished else {
            emit(.deliver(exchange, .error(Self.error(-32602, "Unknown or expired requestState '\(state)'; send the request again without it"))))
            return take()
        }
        untrack(call)
        call.exchange = exchange
        call.clientID = clientID
        call.awaitingRetry = false
        track(call)
        connection.pending[upstreamID]?.deadline = now + connection.timeout
        for (key, response) in responses?.members ?? [] {
            guard let relay = relayed.redeem(key, by: owner) else { continue }
            transmit(JSONText.response(id: relay.upstreamID, result: response.raw), requestID: nil, on: connection)
        }
        askForInput(call, on: connection, upstreamID: upstreamID)
        return take()
    }

    // MARK: - server → client requests

    /// A request from a target (elicitation, sampling, roots, ping). It goes to the client that
    /// owns it, under an id only that client can answer; when the owner is not known it is
    /// refused upstream, logged and counted.
    mutating func serverRequest(_ method: String, id: String, params: JSONValue?, from connection: TargetConnection, relatedTo requestID: Int?) {
        if method == "ping" {
            transmit(JSONText.response(id: id, result: Array("{}".utf8)), requestID: nil, on: connection)
            return
        }
        let decision = ServerRequestOwnership.decide(method: method, carriedBy: requestID, connectionOwner: connection.owner,
                                                     callsInFlight: connection.callsInFlight)
        let params = params.map { Array($0.raw) }
        switch decision {
        case .call(let upstreamID):
            guard let call = connection.call(at: upstreamID) else { return }
            relay(method, id: id, params: params, from: connection, to: call, upstreamID: upstreamID)
        case .ownerStream(let owner):
            guard let sessionID = owner.sessionID, let listener = sessions.listener(of: sessionID) else {
                return refuse(method, id: id, from: connection, reason: "its client has no call in flight and no GET stream open")
            }
            let token = relayed.issue(Relay(connection: connection.id, upstreamID: id, exchange: listener), to: owner, using: &random)
            emit(.deliver(listener, .message(JSONText.request(id: JSONText.quoted(token), method: method, params: params))))
        case .refuse(let refusal):
            refuse(method, id: id, from: connection, reason: refusal.description)
        }
    }

    /// Passes a server→client request to the call that caused it: on its response stream
    /// (handshake era), or as its `InputRequiredResult` (2026-07-28 clients, SEP-2322: the retry
    /// carries the answer, which goes upstream under the server's id, and the call continues).
    mutating func relay(_ method: String, id: String, params: [UInt8]?, from connection: TargetConnection, to call: ClientCall, upstreamID: Int) {
        guard !call.isFinished else { return }
        let token = relayed.issue(Relay(connection: connection.id, upstreamID: id, exchange: call.exchange), to: call.owner, using: &random)
        switch call.style {
        case .relay:
            emit(.deliver(call.exchange, .message(JSONText.request(id: JSONText.quoted(token), method: method, params: params))))
        case .inputRequired:
            let request = JSONText.object([("method", Array(JSONText.quoted(method).utf8))] + (params.map { [("params", $0)] } ?? []))
            call.queuedInputRequests.append((token, request))
            if !call.awaitingRetry { askForInput(call, on: connection, upstreamID: upstreamID) }
        }
    }

    /// Answers a server→client request with an error, because no client provably owns it.
    mutating func refuse(_ method: String, id: String, from connection: TargetConnection, reason: String) {
        log(.warning, "target '\(connection.name)' sent \(method); refused: \(reason)")
        emit(.countRefusedServerRequest)
        transmit(JSONText.errorResponse(id: id, code: -32603, message: "The gateway refused \(method): \(reason)"), requestID: nil, on: connection)
    }

    /// Finishes the client's current exchange with an `InputRequiredResult` for the queued
    /// requests, and a `requestState` only this client can retry with.
    mutating func askForInput(_ call: ClientCall, on connection: TargetConnection, upstreamID: Int) {
        guard !call.isFinished, !call.queuedInputRequests.isEmpty else { return }
        let requests = call.queuedInputRequests
        call.queuedInputRequests.removeAll()
        call.awaitingRetry = true
        let state = parked.issue((connection.id, upstreamID), to: call.owner, using: &random)
        let result = JSONText.object([
            ("resultType", Array("\"input_required\"".utf8)),
            ("inputRequests", JSONText.object(requests.map { ($0.key, $0.request) })),
            ("requestState", Array(JSONText.quoted(state).utf8)),
        ])
        emit(.deliver(call.exchange, .result(result[...])))
    }

    /// A 2026-07-28 target needs input for a handshake-era client's call: each input request is
    /// relayed to the client on the call's stream; its answers go into the retry.
    mutating func bridgeInput(_ call: ClientCall, result: JSONValue) {
        let bridgeID = nextBridge
        nextBridge += 1
        var bridge = InputBridge(call: call, requestState: result["requestState"].map { Array($0.raw) })
        for (key, request) in result["inputRequests"]?.members ?? [] {
            let token = bridged.issue((bridgeID, key), to: call.owner, using: &random)
            bridge.waiting.insert(token)
            let method = request["method"]?.string ?? ""
            emit(.deliver(call.exchange, .message(JSONText.request(id: JSONText.quoted(token), method: method,
                                                                   params: request["params"].map { Array($0.raw) }))))
        }
        bridges[bridgeID] = bridge
        if bridge.waiting.isEmpty { retry(bridgeID) }
    }

    mutating func retry(_ bridgeID: Int) {
        guard let bridge = bridges.removeValue(forKey: bridgeID), !bridge.call.isFinished else { return }
        bridge.call.rewrite.extraMembers = [("inputResponses", JSONText.object(bridge.responses))]
            + (bridge.requestState.map { [("requestState", $0)] } ?? [])
        dispatch(bridge.call)
    }

    // MARK: - notifications

    mutating func serverNotification(_ method: String, params: JSONValue?, message: JSONValue, from connection: TargetConnection, relatedTo requestID: Int?) {
        switch method {
        case "notifications/progress":
            guard let params, let token = params["progressToken"]?.int, let call = connection.call(at: token),
                  let clientToken = call.clientProgressToken, let members = params.members else { return }
            let rewritten = JSONText.object(members.map { ($0.name, $0.name == "progressToken" ? Array(clientToken.utf8) : Array($0.value.raw)) })
            emit(.deliver(call.exchange, .message(JSONText.request(id: nil, method: method, params: rewritten))))
        case "notifications/message":
            // A log line can name a client's data: only its client sees it (the ownership rule).
            switch ServerRequestOwnership.owner(carriedBy: requestID, connectionOwner: connection.owner, callsInFlight: connection.callsInFlight) {
            case .call(let upstreamID):
                if let call = connection.call(at: upstreamID) { emit(.deliver(call.exchange, .message(Array(message.raw)))) }
            case .ownerStream(let owner):
                if let listener = owner.sessionID.flatMap(sessions.listener(of:)) { emit(.deliver(listener, .message(Array(message.raw)))) }
            case .refuse(let refusal):
                log(.debug, "target '\(connection.name)': a log message is not passed on: \(refusal)")
            }
        case "notifications/tools/list_changed", "notifications/prompts/list_changed", "notifications/resources/list_changed":
            for listener in listeners(of: connection) { emit(.deliver(listener, .message(Array(message.raw)))) }
            if connection.owner == nil, !names.prefixes, config.targets.count > 1,
               let kind = ListKind(method: method.replacingOccurrences(of: "notifications/", with: "").replacingOccurrences(of: "list_changed", with: "list")) {
                startList(kind, exchange: nil, owner: Owner(sessionID: nil, caller: nil))
            }
        case "notifications/cancelled":
            // The server gave up a request it relayed to a client: tell that client, in its ids.
            guard let requestID = params?["requestId"]?.text.trimmingCharacters(in: .whitespaces),
                  let (token, relay) = relayed.first(where: { $0.connection == connection.id && $0.upstreamID == requestID }) else { return }
            relayed.remove(token)
            var members: [(String, [UInt8])] = [("requestId", Array(JSONText.quoted(token).utf8))]
            if let reason = params?["reason"] { members.append(("reason", Array(reason.raw))) }
            emit(.deliver(relay.exchange, .message(JSONText.request(id: nil, method: method, params: JSONText.object(members)))))
        case "notifications/resources/updated":
            guard let uri = params?["uri"]?.string else { return }
            let mapped = "{\"uri\":\(JSONText.quoted(names.clientName(target: connection.name, name: uri, uri: true)))}"
            let notification = JSONText.request(id: nil, method: method, params: Array(mapped.utf8))
            for listener in listeners(of: connection) { emit(.deliver(listener, .message(notification))) }
        default:
            break
        }
    }

    /// Where a connection's notifications for no request go: a client's own connection to that
    /// client's GET stream only; a shared one to every session's.
    func listeners(of connection: TargetConnection) -> [ExchangeID] {
        guard let owner = connection.owner else { return sessions.listeners() }
        return owner.sessionID.flatMap(sessions.listener(of:)).map { [$0] } ?? []
    }
}
