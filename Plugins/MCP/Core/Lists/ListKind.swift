/// The four lists a federated server merges.
public enum ListKind: Sendable, CaseIterable {
    case tools, prompts, resources, resourceTemplates

    public init?(method: String) {
        switch method {
        case "tools/list": self = .tools
        case "prompts/list": self = .prompts
        case "resources/list": self = .resources
        case "resources/templates/list": self = .resourceTemplates
        default: return nil
        }
    }

    public var method: String {
        switch self {
        case .tools: return "tools/list"
        case .prompts: return "prompts/list"
        case .resources: return "resources/list"
        case .resourceTemplates: return "resources/templates/list"
        }
    }

    /// The result member that holds the items.
    public var arrayKey: String {
        switch self {
        case .tools: return "tools"
        case .prompts: return "prompts"
        case .resources: return "resources"
        case .resourceTemplates: return "resourceTemplates"
        }
    }

    /// The item member that names it.
    public var keyField: String {
        switch self {
        case .tools, .prompts: return "name"
        case .resources: return "uri"
        case .resourceTemplates: return "uriTemplate"
        }
    }

    /// The capability a server must declare to be asked.
    public var capability: String {
        switch self {
        case .tools: return "tools"
        case .prompts: return "prompts"
        case .resources, .resourceTemplates: return "resources"
        }
    }

    /// What a filter sees as the target kind of one item.
    public var targetKind: String {
        switch self {
        case .tools: return "tool"
        case .prompts: return "prompt"
        case .resources: return "resource"
        case .resourceTemplates: return "resource_template"
        }
    }

    public var namesAreURIs: Bool { self == .resources || self == .resourceTemplates }
}
