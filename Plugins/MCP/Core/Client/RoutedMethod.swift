import JSON

/// How a routed method names its target: `tools/call` and `prompts/get` by `name`, resources by
/// `uri`, `completion/complete` by its `ref`.
public struct RoutedMethod: Sendable, Equatable {
    /// The params member that names the target's item.
    public var key: String
    public var isURI: Bool
    /// The name sits in `params.ref` (`completion/complete`).
    public var inRef = false
    /// `tool`, `prompt` or `resource` (for filters and errors).
    public var targetKind: String
    /// The name the client used, nil when missing.
    public var clientName: String?

    public init?(method: String, params: JSONValue?) {
        switch method {
        case "tools/call": (key, isURI, targetKind) = ("name", false, "tool")
        case "prompts/get": (key, isURI, targetKind) = ("name", false, "prompt")
        case "resources/read", "resources/subscribe", "resources/unsubscribe": (key, isURI, targetKind) = ("uri", true, "resource")
        case "completion/complete":
            inRef = true
            let isPrompt = params?["ref"]?["type"]?.string == "ref/prompt"
            (key, isURI, targetKind) = isPrompt ? ("name", false, "prompt") : ("uri", true, "resource")
            clientName = params?["ref"]?[key]?.string
            return
        default: return nil
        }
        clientName = params?[key]?.string
    }

    /// The error for a name no target offers (the same one a filter uses to hide an item).
    public var unknownMessage: String {
        let name = clientName ?? ""
        switch targetKind {
        case "tool": return "Unknown tool: \(name)"
        case "prompt": return "Unknown prompt: \(name)"
        default: return "Resource not found: \(name)"
        }
    }

    /// The rewrite that puts the target's own name in the params.
    public func rewrite(to name: String) -> ParamsRewrite {
        var rewrite = ParamsRewrite()
        if inRef { rewrite.refMember = (key, name) } else { rewrite.member = (key, name) }
        return rewrite
    }
}
