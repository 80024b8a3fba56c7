import CEL
import PluginKit
import PolicyKit

/// The `rbac` filter's configuration: a policy decided on the HTTP request (`http_rules`) and one
/// decided per JSON-RPC message (`rules`: MCP tools, prompts and resources, A2A methods).
public struct RBACConfig: Sendable {
    /// Decided on each HTTP request, from the request and the caller's identity.
    public var http: Policy
    /// Decided on each MCP call (`tools/call`, `prompts/get`, `resources/read`, ...) and on each
    /// item of a merged list, which is hidden when denied.
    public var messages: Policy

    public init(json: String) throws(ConfigTableError) {
        var reader = try ConfigTableReader(json: json)
        http = try Policy(tables: try reader.tables("http_rules") ?? [], path: "http_rules", declarations: PolicyVariables.request)
        messages = try Policy(tables: try reader.tables("rules") ?? [], path: "rules", declarations: PolicyVariables.message)
        try reader.finish()
        guard !http.isEmpty || !messages.isEmpty else {
            throw ConfigTableError("no rules: add [[...config.rules]] (per MCP/A2A message) or [[...config.http_rules]] (per HTTP request), each with allow = \"<expression>\" or deny = \"<expression>\"")
        }
    }
}
