import JSON

/// What the gateway reads in an agent's answers: the tasks and contexts they name (to bind
/// them to the caller), and, for `ListTasks`, the page filtered to the caller's tasks.
public enum AgentAnswer {
    /// A task or context an answer names.
    public struct Named: Sendable, Equatable {
        public var task: String?
        public var context: String?
        public init(task: String?, context: String?) {
            self.task = task
            self.context = context
        }
    }

    /// The tasks and contexts named by one answer: a JSON-RPC response (its `result`), an SSE
    /// event's data, or a REST body. Both versions: 1.0's `{task|message|statusUpdate|artifactUpdate}`
    /// wrappers and 0.3's objects with `kind`.
    public static func named(in answer: JSONValue) -> [Named] {
        let payload = answer["result"] ?? answer
        var named: [Named] = []
        func add(_ object: JSONValue?, taskKey: String) {
            guard let object, object.members != nil else { return }
            let task = object[taskKey]?.string, context = object["contextId"]?.string
            if task != nil || context != nil { named.append(Named(task: task, context: context)) }
        }
        add(payload["task"], taskKey: "id")
        add(payload["message"], taskKey: "taskId")
        add(payload["statusUpdate"], taskKey: "taskId")
        add(payload["artifactUpdate"], taskKey: "taskId")
        switch payload["kind"]?.string {
        case "task": add(payload, taskKey: "id")
        case "message", "status-update", "artifact-update": add(payload, taskKey: "taskId")
        default: break
        }
        // A bare Task (GetTask, CancelTask answers in 1.0): an object with id and status.
        if named.isEmpty, payload["status"] != nil, payload["id"] != nil { add(payload, taskKey: "id") }
        return named
    }

    /// A `ListTasks` answer (JSON-RPC response or REST body) with the tasks `keeps` refuses left
    /// out, and `totalSize` then counting only the ones left; nil when nothing was left out or
    /// the answer has no task list.
    public static func filteringTasks(_ answer: JSONValue, keeps: (String) -> Bool) -> [UInt8]? {
        func filtered(_ list: JSONValue) -> [UInt8]? {
            guard let members = list.members, let tasks = list["tasks"]?.elements else { return nil }
            let kept = tasks.filter { $0["id"]?.string.map(keeps) ?? false }
            guard kept.count < tasks.count else { return nil }
            return JSONText.object(members.map { member in
                switch member.name {
                case "tasks": return (member.name, JSONText.array(kept.map { Array($0.raw) }))
                case "totalSize": return (member.name, Array(String(kept.count).utf8))
                default: return (member.name, Array(member.value.raw))
                }
            })
        }
        if let result = answer["result"], let members = answer.members {
            guard let rewritten = filtered(result) else { return nil }
            return JSONText.object(members.map { ($0.name, $0.name == "result" ? rewritten : Array($0.value.raw)) })
        }
        return filtered(answer)
    }
}
