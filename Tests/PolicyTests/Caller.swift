import CEL

/// Variables as plain values, shaped like the gateway's.
struct Caller: Activation {
    var sub: String?
    var groups: [String] = []
    var tool: String?
    var address = "10.0.0.1"

    func value(of variable: String) -> Value? {
        switch variable {
        case "jwt":
            var claims: [String: Value] = ["groups": .list(groups.map(Value.string))]
            if let sub { claims["sub"] = .string(sub) }
            return .map(claims)
        case "mcp":
            guard let tool else { return nil }
            return .map(["method": .string("tools/call"), "tool": .map(["name": .string(tool), "target": .string("math")])])
        case "source": return .map(["address": .string(address), "port": .int(1234)])
        default: return nil
        }
    }
}
