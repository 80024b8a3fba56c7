import JSON
import JSONRPC

/// One A2A request from a client, read once in either binding and version, as far as the gateway
/// needs: which operation, which task and context it names, what webhook it would register, which
/// skill it asks for. The body goes to the agent unchanged.
public struct A2ARequest: Sendable {
    public enum Binding: Sendable, Equatable {
        case jsonRPC
        /// HTTP+JSON; `path` is what follows the interface's base (`/tasks/t-1:cancel`, with
        /// the query and any `/{tenant}` or `/v1` prefix).
        case rest(httpMethod: String, path: String)
    }

    public var binding: Binding
    public var method: A2AMethod
    public var version: A2AVersion
    /// The JSON-RPC id, as raw JSON; nil for REST.
    public var id: String?
    /// The existing task the request names (its id must be the caller's).
    public var taskID: String?
    /// The context a message names.
    public var contextID: String?
    /// Other tasks a message refers to (their ids must be the caller's too).
    public var referenceTaskIDs: [String] = []
    /// The webhook URL a push notification config would register.
    public var pushURL: String?
    /// The skill the message names in its metadata (`skill` or `skillId`), for policies.
    public var skill: String?
    /// The JSON-RPC params, or the REST body; nil for a REST request without one.
    public var params: JSONValue?

    /// The params as JSON text for the protocol hook (`{}` when there are none).
    public var paramsText: String { params.map(\.text) ?? "{}" }

    // MARK: - JSON-RPC

    /// Reads a JSON-RPC request. Malformed JSON is -32700, a batch or a non-request -32600, a
    /// method A2A does not have -32601.
    public static func jsonRPC(_ body: [UInt8], version: A2AVersion) throws(A2AError) -> A2ARequest {
        let envelope: JSONRPCEnvelope
        do {
            envelope = try JSONRPCEnvelope.scan(body)
        } catch {
            switch error {
            case .invalidJSON(let detail): throw .parseError(detail)
            case .batch: throw .invalidRequest("a JSON-RPC request object is expected (batches are not part of A2A)")
            case .notAMessage(let detail): throw .invalidRequest(detail)
            }
        }
        guard envelope.kind == .request, let name = envelope.method else {
            throw .invalidRequest(envelope.kind == .notification ? "A2A has no notifications; send a request with an id" : "not a request")
        }
        guard let method = A2AMethod(jsonRPCName: name) else { throw .methodNotFound(name) }
        var request = A2ARequest(binding: .jsonRPC, method: method, version: version)
        request.id = envelope.id.map { JSONValue(body, range: $0).text }
        request.params = envelope.params.map { JSONValue(body, range: $0) }
        if let params = request.params, params.members == nil {
            throw .invalidParams("params must be an object")
        }
        try request.readParams()
        return request
    }

    // MARK: - REST

    /// Reads an HTTP+JSON request: `httpMethod` and `path` (after the interface's base, query
    /// included), with its body (empty for GET and DELETE).
    public static func rest(httpMethod: String, path: String, body: [UInt8], version: A2AVersion) throws(A2AError) -> A2ARequest {
        guard let route = RESTRoute(httpMethod: httpMethod, path: path) else {
            throw .methodNotFound("\(httpMethod) \(path.split(separator: "?", maxSplits: 1).first ?? "")")
        }
        var request = A2ARequest(binding: .rest(httpMethod: httpMethod, path: path), method: route.method, version: version)
        if !body.isEmpty {
            let value: JSONValue
            do {
                value = try JSONValue.validated(body)
            } catch {
                throw .parseError(error.reason)
            }
            guard value.members != nil else { throw .invalidRequest("the body must be a JSON object") }
            request.params = value
        }
        try request.readParams()
        if let task = route.taskID { request.taskID = task }
        if route.method == .listTasks { request.contextID = route.query("contextId") ?? route.query("context_id") }
        return request
    }

    init(binding: Binding, method: A2AMethod, version: A2AVersion) {
        self.binding = binding
        self.method = method
        self.version = version
    }

    /// Finds the task, context, references, webhook and skill in the params, for 1.0 and 0.3:
    /// 1.0 and 0.3 JSON-RPC write JSON names (`taskId`); 0.3's HTTP+JSON clients send proto
    /// field names (`task_id`, the message as `request`). Push notification configs differ most.
    private mutating func readParams() throws(A2AError) {
        guard let params else {
            if method.namesTask, binding == .jsonRPC { throw .invalidParams("\(method.rawValue) needs params naming the task") }
            return
        }
        switch method {
        case .sendMessage, .sendStreamingMessage:
            guard let message = Self.member(params, "message", "request"), message.members != nil else { throw .invalidParams("'message' is required") }
            taskID = Self.member(message, "taskId", "task_id")?.string
            contextID = Self.member(message, "contextId", "context_id")?.string
            referenceTaskIDs = Self.member(message, "referenceTaskIds", "reference_task_ids")?.elements?.compactMap(\.string) ?? []
            skill = Self.skill(in: message["metadata"]) ?? Self.skill(in: params["metadata"])
            let configuration = params["configuration"]
            pushURL = Self.member(configuration, "taskPushNotificationConfig", "pushNotificationConfig", "pushNotification",
                                  "task_push_notification_config", "push_notification")?["url"]?.string
        case .getTask, .cancelTask, .subscribeToTask:
            taskID = params["id"]?.string
        case .createPushConfig:
            taskID = Self.member(params, "taskId", "task_id", "id")?.string
            pushURL = params["url"]?.string ?? Self.member(params, "pushNotificationConfig", "push_notification_config")?["url"]?.string
            if pushURL == nil, binding == .jsonRPC { throw .invalidParams("a push notification config needs 'url'") }
        case .getPushConfig, .listPushConfigs, .deletePushConfig:
            // 1.0: taskId (+ id of the config); 0.3: id is the task's.
            taskID = Self.member(params, "taskId", "task_id", "id")?.string
        case .listTasks:
            contextID = Self.member(params, "contextId", "context_id")?.string
        case .getExtendedCard:
            break
        }
        if method.namesTask, binding == .jsonRPC, taskID == nil {
            throw .invalidParams("\(method.rawValue) needs the task's id")
        }
    }

    /// The first of `names` that `object` has.
    private static func member(_ object: JSONValue?, _ names: String...) -> JSONValue? {
        guard let object else { return nil }
        for name in names { if let value = object[name] { return value } }
        return nil
    }

    private static func skill(in metadata: JSONValue?) -> String? {
        member(metadata, "skill", "skillId", "skill_id")?.string
    }
}

/// What an HTTP+JSON path (after the interface's base) asks for: the operation and the task it
/// names, in 1.0 form, 0.3's `/v1` form, and with a `/{tenant}` first segment.
public struct RESTRoute: Sendable, Equatable {
    public var method: A2AMethod
    public var taskID: String?
    public var tenant: String?
    public var legacy = false
    private var queryText: Substring = ""

    public init?(httpMethod: String, path: String) {
        let parts = path.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false)
        queryText = parts.count > 1 ? parts[1] : ""
        var segments = parts[0].split(separator: "/").map { Self.percentDecoded($0) }
        if segments.first == "v1" {
            legacy = true
            segments.removeFirst()
        }
        let known: Set<String> = ["message:send", "message:stream", "tasks", "extendedAgentCard", "card"]
        if let first = segments.first, !known.contains(first), !first.hasPrefix("tasks"), segments.count > 1 {
            tenant = first
            segments.removeFirst()
        }
        func task(_ segment: String, suffix: String) -> String? {
            guard segment.hasSuffix(suffix) else { return nil }
            let id = String(segment.dropLast(suffix.count))
            return id.isEmpty ? nil : id
        }
        switch (httpMethod, segments.count) {
        case ("POST", 1) where segments[0] == "message:send": method = .sendMessage
        case ("POST", 1) where segments[0] == "message:stream": method = .sendStreamingMessage
        case ("GET", 1) where segments[0] == "tasks": method = .listTasks
        case ("GET", 1) where segments[0] == "extendedAgentCard" || (legacy && segments[0] == "card"): method = .getExtendedCard
        case ("POST", 2) where segments[0] == "tasks" && task(segments[1], suffix: ":cancel") != nil:
            method = .cancelTask
            taskID = task(segments[1], suffix: ":cancel")
        case ("GET", 2) where segments[0] == "tasks" && task(segments[1], suffix: ":subscribe") != nil,
             ("POST", 2) where segments[0] == "tasks" && task(segments[1], suffix: ":subscribe") != nil:
            method = .subscribeToTask
            taskID = task(segments[1], suffix: ":subscribe")
        case ("GET", 2) where segments[0] == "tasks" && !segments[1].contains(":"):
            method = .getTask
            taskID = segments[1]
        case ("POST", 3) where segments[0] == "tasks" && segments[2] == "pushNotificationConfigs":
            method = .createPushConfig
            taskID = segments[1]
        case ("GET", 3) where segments[0] == "tasks" && segments[2] == "pushNotificationConfigs":
            method = .listPushConfigs
            taskID = segments[1]
        case ("GET", 4) where segments[0] == "tasks" && segments[2] == "pushNotificationConfigs":
            method = .getPushConfig
            taskID = segments[1]
        case ("DELETE", 4) where segments[0] == "tasks" && segments[2] == "pushNotificationConfigs":
            method = .deletePushConfig
            taskID = segments[1]
        default:
            return nil
        }
    }

    /// A query parameter's value (percent-decoded); nil when absent.
    public func query(_ name: String) -> String? { Self.queryValue(name, inQuery: queryText) }

    /// A query parameter of a path (`/x?A2A-Version=1.0`), percent-decoded; nil when absent.
    public static func queryValue(_ name: String, in path: String) -> String? {
        guard let mark = path.firstIndex(of: "?") else { return nil }
        return queryValue(name, inQuery: path[path.index(after: mark)...])
    }

    static func queryValue(_ name: String, inQuery query: Substring) -> String? {
        for pair in query.split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            if percentDecoded(parts[0]) == name { return parts.count > 1 ? percentDecoded(parts[1]) : "" }
        }
        return nil
    }

    static func percentDecoded(_ text: Substring) -> String {
        guard text.contains("%") || text.contains("+") else { return String(text) }
        var bytes: [UInt8] = []
        var index = text.utf8.startIndex
        let utf8 = text.utf8
        while index < utf8.endIndex {
            let byte = utf8[index]
            if byte == UInt8(ascii: "%"), let high = utf8.index(index, offsetBy: 1, limitedBy: utf8.endIndex), high < utf8.endIndex,
               let low = utf8.index(index, offsetBy: 2, limitedBy: utf8.endIndex), low < utf8.endIndex,
               let value = UInt8(String(decoding: [utf8[high], utf8[low]], as: UTF8.self), radix: 16) {
                bytes.append(value)
                index = utf8.index(index, offsetBy: 3)
                continue
            }
            bytes.append(byte == UInt8(ascii: "+") ? UInt8(ascii: " ") : byte)
            index = utf8.index(after: index)
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
