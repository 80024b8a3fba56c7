import JSON

/// Merged lists (`tools/list`, `prompts/list`, `resources/list`, `resources/templates/list`) and
/// what the federation says of itself (`initialize`, `server/discover`).
extension Federation {
    /// A client asks for the federation's description; it waits until every target settled.
    public mutating func describe(_ exchange: ExchangeID) -> [FederationAction] {
        describe(to: exchange)
        return take()
    }

    /// A client asks for a merged list: every target's, in target order.
    public mutating func list(_ kind: ListKind, exchange: ExchangeID, owner: Owner, now: Double) -> [FederationAction] {
        self.now = now
        startList(kind, exchange: exchange, owner: owner)
        return take()
    }

    mutating func describe(to exchange: ExchangeID) {
        let targets = shared.compactMap { connections[$0] }
        if targets.contains(where: { !$0.settled }) {
            describeWaiters.append(exchange)
            return
        }
        if config.failureMode == .closed, let down = targets.first(where: { $0.downReason != nil }) {
            emit(.deliver(exchange, .error(Self.error(-32603, "MCP server '\(down.name)' is unavailable: \(down.downReason ?? "")"))))
            return
        }
        emit(.deliver(exchange, .description(ServerDescription(capabilities: mergedCapabilities(), instructions: mergedInstructions()))))
    }

    mutating func answerDescribeWaiters() {
        guard !shared.contains(where: { connections[$0]?.settled == false }) else { return }
        let waiters = describeWaiters
        describeWaiters.removeAll()
        for waiter in waiters { describe(to: waiter) }
    }

    /// The union of the ready targets' capabilities: each capability a target declares, with the
    /// sub-flags any target declares. `experimental` and `tasks` are not federated.
    func mergedCapabilities() -> [UInt8] {
        var order: [String] = []
        var merged: [String: [(String, [UInt8])]] = [:]
        for connection in shared.compactMap({ connections[$0] }) where connection.isReady {
            for (name, value) in connection.capabilities?.members ?? [] where name != "experimental" && name != "tasks" {
                if merged[name] == nil {
                    order.append(name)
                    merged[name] = []
                }
                for (flag, flagValue) in value.members ?? [] where !(merged[name]?.contains { $0.0 == flag } ?? false) {
                    merged[name]?.append((flag, Array(flagValue.raw)))
                }
            }
        }
        return JSONText.object(order.map { ($0, JSONText.object(merged[$0] ?? [])) })
    }

    func mergedInstructions() -> String? {
        let parts = shared.compactMap { connections[$0] }.filter(\.isReady).compactMap { connection in
            connection.instructions.map { "[\(connection.name)] \($0)" }
        }
        return parts.isEmpty ? nil : parts.joined(separator: "\n\n")
    }

    // MARK: - merging

    mutating func startList(_ kind: ListKind, exchange: ExchangeID?, owner: Owner) {
        let job = nextList
        nextList += 1
        lists[job] = ListJob(kind: kind, exchange: exchange, owner: owner, items: Array(repeating: nil, count: config.targets.count))
        for index in config.targets.indices { requestPage(job, targetIndex: index, cursor: nil) }
    }

    mutating func requestPage(_ job: Int, targetIndex: Int, cursor: String?) {
        guard let list = lists[job] else { return }
        let (found, refusal) = connection(for: targetIndex, owner: list.owner)
        guard let connection = found else {
            listFailed(job, targetIndex: targetIndex, reason: refusal ?? "no connection")
            return
        }
        switch connection.state {
        case .starting where !connection.settled || cursor != nil || connection.owner != nil:
            connection.waiting.append(.listPage(job: job, targetIndex: targetIndex, cursor: cursor))
        case .starting:
            listFailed(job, targetIndex: targetIndex, reason: "it is restarting")
        case .down(let reason):
            listFailed(job, targetIndex: targetIndex, reason: reason)
        case .ready:
            guard connection.capabilities?[list.kind.capability] != nil else {
                lists[job]?.items[targetIndex] = []
                finishIfComplete(job)
                return
            }
            if cursor == nil { lists[job]?.items[targetIndex] = nil }
            let params = cursor.map { Array("{\"cursor\":\(JSONText.quoted($0))}".utf8) }
            send(request: list.kind.method, params: params, on: connection, purpose: .listPage(job: job, targetIndex: targetIndex))
        }
    }

    mutating func collectPage(_ job: Int, targetIndex: Int, result: JSONValue) {
        guard var list = lists[job] else { return }
        let target = config.targets[targetIndex].name
        var collected = list.partial[targetIndex] ?? []
        for item in result[list.kind.arrayKey]?.elements ?? [] {
            guard let key = item[list.kind.keyField], let name = key.string else { continue }
            let clientName = names.clientName(target: target, name: name, uri: list.kind.namesAreURIs)
            collected.append(MergedList.Item(target: target, name: name, json: clientName == name ? Array(item.raw)
                : JSONText.replacing(key.range, in: item, with: JSONText.quoted(clientName))))
        }
        list.pages += 1
        if let next = result["nextCursor"]?.string, !next.isEmpty, list.pages < 1000 {
            list.partial[targetIndex] = collected
            lists[job] = list
            requestPage(job, targetIndex: targetIndex, cursor: next)
            return
        }
        list.partial[targetIndex] = nil
        list.items[targetIndex] = collected
        lists[job] = list
        finishIfComplete(job)
    }

    mutating func listFailed(_ job: Int, targetIndex: Int, reason: String) {
        guard var list = lists[job], list.items[targetIndex] == nil else { return }
        list.partial[targetIndex] = nil
        list.failures.append((config.targets[targetIndex].name, reason))
        list.items[targetIndex] = []
        lists[job] = list
        finishIfComplete(job)
    }

    mutating func finishIfComplete(_ job: Int) {
        guard let list = lists[job], list.isComplete else { return }
        lists[job] = nil
        if let failure = list.failures.first {
            if config.failureMode == .closed {
                if let exchange = list.exchange {
                    emit(.deliver(exchange, .error(Self.error(-32603, "MCP server '\(failure.target)' is unavailable: \(failure.reason)"))))
                }
                return
            }
            for failure in list.failures {
                log(.warning, "\(list.kind.method): leaving out MCP server '\(failure.target)': \(failure.reason)")
            }
        }
        var items = list.items.flatMap { $0 ?? [] }
        if !names.prefixes { items = deduplicated(items, kind: list.kind) }
        if let exchange = list.exchange { emit(.deliver(exchange, .list(MergedList(items: items)))) }
    }

    /// Without prefixes, a name offered by two targets goes to the first; the collision is logged.
    mutating func deduplicated(_ items: [MergedList.Item], kind: ListKind) -> [MergedList.Item] {
        var owners: [String: String] = [:]
        var kept: [MergedList.Item] = []
        for item in items {
            if let owner = owners[item.name] {
                if owner != item.target {
                    log(.warning, "\(kind.targetKind) '\(item.name)' is offered by '\(owner)' and '\(item.target)'; "
                        + "'\(item.target)''s is hidden (set prefix = \"always\" to keep both)")
                }
                continue
            }
            owners[item.name] = item.target
            kept.append(item)
        }
        let prefix = kind.namesAreURIs ? "uri:" : "name:"
        if kind != .resourceTemplates {
            for (name, target) in owners { index[prefix + name] = target }
        }
        return kept
    }
}
