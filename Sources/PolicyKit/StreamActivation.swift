import CEL
import JSON
import PluginKit

/// The policy variables of one stream (and, for protocol rules, one JSON-RPC message), read
/// from the host only when an expression asks, and each read at most once per activation.
public final class StreamActivation: Activation {
    private let stream: FilterStream
    private let message: RPCMessage?
    /// The variables read so far, each read once (nil value: read, has none). An expression reads
    /// one or two: a short list costs less to tear down than a slot per variable (each optional
    /// `Value` is destroyed through its enum's witnesses, ~250 instructions apiece, read or not).
    private var read: [(variable: Variable, value: Value?)] = []

    private enum Variable { case jwt, apiKey, source, request, mcp, a2a }

    public init(stream: FilterStream, message: RPCMessage? = nil) {
        self.stream = stream
        self.message = message
    }

    public func value(of name: String) -> Value? {
        let variable: Variable
        switch name {
        case "jwt": variable = .jwt
        case "apiKey": variable = .apiKey
        case "source": variable = .source
        case "request": variable = .request
        case "mcp": variable = .mcp
        case "a2a": variable = .a2a
        default: return nil
        }
        if let known = read.first(where: { $0.variable == variable }) { return known.value }
        let value = make(variable)
        read.append((variable, value))
        return value
    }

    private func make(_ variable: Variable) -> Value? {
        switch variable {
        case .jwt: return .object(JWTClaimsObject(stream: stream))
        case .apiKey: return Self.json(stream.bytes(forKey: IdentityKeys.apiKey))
        case .source: return sourceValue()
        case .request: return requestValue()
        case .mcp: return message.flatMap { $0.protocolName == .mcp ? mcpValue($0) : nil }
        case .a2a: return message.flatMap { $0.protocolName == .a2a ? .object(A2AMessageObject(A2AMessageObject.Message($0), part: .root)) : nil }
        }
    }

    /// A JSON object from the key–value store, read member by member; `{}` when absent.
    private static func json(_ bytes: [UInt8]?) -> Value {
        guard let bytes, !bytes.isEmpty else { return .map([:]) }
        return .object(JSONObject(JSONValue(bytes)))
    }

    private func sourceValue() -> Value {
        let peer = stream.attribute(.peerAddress) ?? ""
        var address = peer, port: Int64 = 0
        if let colon = peer.lastIndex(of: ":"), let number = Int64(peer[peer.index(after: colon)...]) {
            address = String(peer[..<colon])
            port = number
        }
        if address.hasPrefix("["), address.hasSuffix("]") { address = String(address.dropFirst().dropLast()) }
        return .map(["address": .string(address), "port": .int(port)])
    }

    private func requestValue() -> Value {
        let stream = self.stream
        return .object(LazyObject(
            field: { name in
                switch name {
                case "method": return stream.attribute(.method).map(Value.string)
                case "path": return stream.attribute(.path).map(Value.string)
                case "host": return stream.attribute(.host).map(Value.string)
                case "scheme": return stream.attribute(.scheme).map(Value.string)
                case "route": return stream.attribute(.routeName).map(Value.string)
                case "headers": return .object(HeaderMap(stream: stream))
                default: return nil
                }
            },
            names: ["method", "path", "host", "scheme", "route", "headers"]))
    }

    private func mcpValue(_ message: RPCMessage) -> Value {
        .object(MCPMessageObject(MCPMessageObject.Message(message), part: .root))
    }
}

/// `mcp` and its `tool` / `prompt` / `resource`, read from the published message on demand.
struct MCPMessageObject: ObjectValue {
    /// The message, shared by the parts (one allocation per activation).
    final class Message {
        let message: RPCMessage
        lazy var arguments: Value = Value(json: message.paramsBytes)?.fields?["arguments"] ?? .map([:])
        init(_ message: RPCMessage) { self.message = message }
    }

    enum Part { case root, target }
    let shared: Message
    let part: Part

    init(_ shared: Message, part: Part) {
        self.shared = shared
        self.part = part
    }

    func field(_ name: String) -> Value? {
        let message = shared.message
        switch part {
        case .root:
            if name == "method" { return .string(message.method) }
            switch name {
            case "tool", "prompt", "resource": return name == message.targetKind ? .object(MCPMessageObject(shared, part: .target)) : nil
            default: return nil
            }
        case .target:
            let isResource = message.targetKind == "resource"
            switch name {
            case "name": return isResource ? nil : .string(message.target)
            case "uri": return isResource ? .string(message.target) : nil
            case "target": return .string(message.upstream)
            case "arguments": return message.kind == .listItem || isResource ? nil : shared.arguments
            default: return nil
            }
        }
    }

    func allFields() -> [String: Value] {
        let names = part == .root ? ["method", shared.message.targetKind] : ["name", "uri", "target", "arguments"]
        var all: [String: Value] = [:]
        for name in names { all[name] = field(name) }
        return all
    }
}

/// `a2a` and its `task` / `context`, from a message the A2A handler published: `method` (the
/// 1.0 name), `upstream` (the agent), `target` with `targetKind` `skill`, `task` or `agent`, and
/// the request's params (for the task and context a message names).
struct A2AMessageObject: ObjectValue {
    final class Message {
        let message: RPCMessage
        lazy var params = JSONValue(message.paramsBytes)
        init(_ message: RPCMessage) { self.message = message }

        var taskID: String? {
            if message.targetKind == "task" { return message.target }
            return params["message"]?["taskId"]?.string ?? params["taskId"]?.string
        }

        var contextID: String? { params["message"]?["contextId"]?.string ?? params["contextId"]?.string }
    }

    enum Part { case root, task, context }
    let shared: Message
    let part: Part

    init(_ shared: Message, part: Part) {
        self.shared = shared
        self.part = part
    }

    func field(_ name: String) -> Value? {
        let message = shared.message
        switch part {
        case .root:
            switch name {
            case "method": return .string(message.method)
            case "agent": return message.upstream.isEmpty ? nil : .string(message.upstream)
            case "skill": return message.targetKind == "skill" ? .string(message.target) : nil
            case "task": return shared.taskID == nil ? nil : .object(A2AMessageObject(shared, part: .task))
            case "context": return shared.contextID == nil ? nil : .object(A2AMessageObject(shared, part: .context))
            default: return nil
            }
        case .task: return name == "id" ? shared.taskID.map(Value.string) : nil
        case .context: return name == "id" ? shared.contextID.map(Value.string) : nil
        }
    }

    func allFields() -> [String: Value] {
        let names = part == .root ? ["method", "agent", "skill", "task", "context"] : ["id"]
        var all: [String: Value] = [:]
        for name in names { all[name] = field(name) }
        return all
    }
}

/// An object whose fields come from a closure.
struct LazyObject: ObjectValue {
    let field: (String) -> Value?
    let names: [String]
    func field(_ name: String) -> Value? { field(name) }
    func allFields() -> [String: Value] {
        var all: [String: Value] = [:]
        for name in names { all[name] = field(name) }
        return all
    }
}

/// `request.headers`: one header read per lookup (names case-insensitive; repeated values joined with ",").
struct HeaderMap: ObjectValue {
    let stream: FilterStream
    func field(_ name: String) -> Value? {
        let values = stream.headerValues(name)
        return values.isEmpty ? nil : .string(values.joined(separator: ","))
    }
    func allFields() -> [String: Value] {
        var all: [String: String] = [:]
        for (name, value) in stream.headers() {
            let key = name.lowercased()
            all[key] = all[key].map { $0 + "," + value } ?? value
        }
        return all.mapValues(Value.string)
    }
}

/// `jwt`: the verified token's claims (``IdentityKeys/jwtClaims``), `{}` without a token.
///
/// `jwt.sub`, what rules and rate-limit keys read most, is the subject the auth filter recorded
/// (``IdentityKeys/subject``, set from the token's `sub` when the method is `jwt`): two small
/// reads instead of copying and scanning the claims. Any other claim, or a token whose `sub` is
/// not a string, reads the claims once.
final class JWTClaimsObject: ObjectValue {
    private let stream: FilterStream
    private var claims: Value?

    init(stream: FilterStream) { self.stream = stream }

    func field(_ name: String) -> Value? {
        if name == "sub", stream.hasValue("jwt", forKey: IdentityKeys.method), let subject = stream.value(forKey: IdentityKeys.subject) {
            return .string(subject)
        }
        return all().member(name)
    }

    func allFields() -> [String: Value] { all().fields ?? [:] }

    private func all() -> Value {
        if let claims { return claims }
        let bytes = stream.bytes(forKey: IdentityKeys.jwtClaims)
        let value: Value = if let bytes, !bytes.isEmpty { .object(JSONObject(JSONValue(bytes))) } else { .map([:]) }
        claims = value
        return value
    }
}

/// A JSON object whose members become values only when an expression reads them (`jwt.sub`
/// converts `sub`, not the whole token).
final class JSONObject: ObjectValue {
    private let json: JSONValue
    /// Members read so far (rules read a few claims, so a list beats a dictionary).
    private var converted: [(name: String, value: Value?)] = []

    init(_ json: JSONValue) { self.json = json }

    func field(_ name: String) -> Value? {
        if let done = converted.first(where: { $0.name == name }) { return done.value }
        let value = json[name].flatMap(Self.value)
        converted.append((name, value))
        return value
    }

    func allFields() -> [String: Value] { Value(json: json.raw)?.fields ?? [:] }

    /// Strings (the common case: `sub`, `iss`) straight from the view; the rest through the parser.
    private static func value(_ member: JSONValue) -> Value? {
        if let string = member.string { return .string(string) }
        return Value(json: member)
    }
}
