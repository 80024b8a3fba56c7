import CEL

/// The variables policy expressions (RBAC rules, rate-limit keys) can read, and their types.
///
/// | variable | type | from |
/// |---|---|---|
/// | `jwt.*` | any claim, nested | the verified token (``IdentityKeys/jwtClaims``); `{}` without one |
/// | `apiKey.*` | `name`, `groups`, metadata | the matched API key (``IdentityKeys/apiKey``); `{}` without one |
/// | `source.address`, `source.port` | string, int | the client's socket address |
/// | `request.method/path/host/scheme/route`, `request.headers["name"]` | strings | the HTTP request (header names lower case); `route` is the route's name |
/// | `mcp.method`, `mcp.tool.name/target/arguments`, `mcp.prompt.name/target`, `mcp.resource.uri/target` | | protocol rules only |
/// | `a2a.method`, `a2a.agent`, `a2a.skill`, `a2a.task.id`, `a2a.context.id` | strings | protocol rules only (``A2AMessageObject``) |
public enum PolicyVariables {
    private static let shared: [String: CELType] = [
        "jwt": .map(.dyn),
        "apiKey": .map(.dyn),
        "source": .object(name: "source", fields: ["address": .string, "port": .int]),
        "request": .object(name: "request", fields: [
            "method": .string, "path": .string, "host": .string, "scheme": .string, "route": .string, "headers": .map(.string),
        ]),
    ]

    /// For rules decided on an HTTP request.
    public static let request = Declarations(shared)

    /// For rules decided on a JSON-RPC message (MCP, A2A): the request's variables and the message's.
    public static let message = Declarations(shared.merging([
        "mcp": .object(name: "mcp", fields: [
            "method": .string,
            "tool": .object(name: "mcp.tool", fields: ["name": .string, "target": .string, "arguments": .map(.dyn)]),
            "prompt": .object(name: "mcp.prompt", fields: ["name": .string, "target": .string, "arguments": .map(.dyn)]),
            "resource": .object(name: "mcp.resource", fields: ["uri": .string, "target": .string]),
        ]),
        "a2a": .object(name: "a2a", fields: [
            "method": .string, "agent": .string, "skill": .string,
            "task": .object(name: "a2a.task", fields: ["id": .string]),
            "context": .object(name: "a2a.context", fields: ["id": .string]),
        ]),
    ]) { $1 })

    /// Whether an expression needs a JSON-RPC message (it reads `mcp` or `a2a`).
    public static func needsMessage(_ program: Program) -> Bool {
        !program.variables.isDisjoint(with: ["mcp", "a2a"])
    }
}
