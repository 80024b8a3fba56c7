import JSON

/// The eleven A2A operations (spec §5.3), by their 1.0 names, with their 0.3 JSON-RPC names.
public enum A2AMethod: String, Sendable, CaseIterable {
    case sendMessage = "SendMessage"
    case sendStreamingMessage = "SendStreamingMessage"
    case getTask = "GetTask"
    case listTasks = "ListTasks"
    case cancelTask = "CancelTask"
    case subscribeToTask = "SubscribeToTask"
    case createPushConfig = "CreateTaskPushNotificationConfig"
    case getPushConfig = "GetTaskPushNotificationConfig"
    case listPushConfigs = "ListTaskPushNotificationConfigs"
    case deletePushConfig = "DeleteTaskPushNotificationConfig"
    case getExtendedCard = "GetExtendedAgentCard"

    /// The 0.3 JSON-RPC name (`message/send`, …). `tasks/list` was gRPC/REST only in 0.3; it is
    /// accepted anyway.
    public var legacyName: String {
        switch self {
        case .sendMessage: return "message/send"
        case .sendStreamingMessage: return "message/stream"
        case .getTask: return "tasks/get"
        case .listTasks: return "tasks/list"
        case .cancelTask: return "tasks/cancel"
        case .subscribeToTask: return "tasks/resubscribe"
        case .createPushConfig: return "tasks/pushNotificationConfig/set"
        case .getPushConfig: return "tasks/pushNotificationConfig/get"
        case .listPushConfigs: return "tasks/pushNotificationConfig/list"
        case .deletePushConfig: return "tasks/pushNotificationConfig/delete"
        case .getExtendedCard: return "agent/getAuthenticatedExtendedCard"
        }
    }

    /// The method a JSON-RPC name means, in either version; nil for anything else.
    public init?(jsonRPCName name: String) {
        if let method = A2AMethod(rawValue: name) {
            self = method
        } else if let method = A2AMethod.allCases.first(where: { $0.legacyName == name }) {
            self = method
        } else {
            return nil
        }
    }

    /// Whether the answer is an event stream.
    public var streams: Bool { self == .sendStreamingMessage || self == .subscribeToTask }

    /// Whether the request names an existing task (its id must be the caller's).
    public var namesTask: Bool {
        switch self {
        case .getTask, .cancelTask, .subscribeToTask, .createPushConfig, .getPushConfig, .listPushConfigs, .deletePushConfig: return true
        case .sendMessage, .sendStreamingMessage, .listTasks, .getExtendedCard: return false
        }
    }

    /// The pseudo-method under which the gateway publishes its card decisions (a card's skills,
    /// the catalog's agents) for policies: not an A2A operation.
    public static let getAgentCard = "GetAgentCard"
}

/// The protocol version of a request: `A2A-Version` (header, else query parameter), where an
/// empty or missing value means 0.3 (spec §3.6).
public enum A2AVersion: Sendable, Equatable {
    case v1_0
    case v0_3
    /// A version the gateway does not know (passed on: the agent answers VersionNotSupported).
    case other(String)

    public init(header: String?) {
        let value = header?.trimmingWhitespace ?? ""
        if value.isEmpty {
            self = .v0_3
            return
        }
        let majorMinor = value.split(separator: ".").prefix(2).joined(separator: ".")
        switch majorMinor {
        case "1.0", "1": self = .v1_0
        case "0.3": self = .v0_3
        default: self = .other(value)
        }
    }

    /// As an interface's `protocolVersion` says it ("1.0", "0.3").
    public init(interface value: String?) {
        guard let value, !value.isEmpty else {
            self = .v1_0
            return
        }
        self.init(header: value)
    }

    public var text: String {
        switch self {
        case .v1_0: return "1.0"
        case .v0_3: return "0.3"
        case .other(let value): return value
        }
    }
}
