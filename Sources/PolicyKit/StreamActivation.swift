import CEL
import JSONRPC
import PluginKit

/// The policy variables of one stream (and, for protocol rules, one JSON-RPC message), read
/// from the host only when an expression asks, and each read at most once per activation.
public final class StreamActivation: Activation {
    private let stream: FilterStream
    private let message: RPCMessage?
    private var cache: [String: Value] = [:]

    public init(stream: FilterStream, message: RPCMessage? = nil) {
        self.stream = stream
        self.message = message
    }

    public func value(of variable: String) -> Value? {
        if let cached = cache[variable] { return cached }
        let value: Value?
        switch variable {
        case "jwt": value = Self.json(stream.bytes(forKey: IdentityKeys.jwtClaims))
        case "apiKey": value = Self.json(stream.bytes(forKey: IdentityKeys.apiKey))
        case "source": value = source()
        case "request": value = request()
        case "mcp": value = message.flatMap { $0.protocolName == .mcp ? mcp($0) : nil }
        case "a2a": value = message.flatMap { $0.protocolName == .a2a ? .map(["method": .string($0.method)]) : nil }
        default: value = nil
        }
        cache[variable] = value
        return value
    }

    /// A JSON object from the key–value store, read member by member; `{}` when absent.
    private static func json(_ bytes: [UInt8]?) -> Value {
        guard let bytes, !bytes.isEmpty else { return .map([:]) }
        return .object(JSONObject(JSONValue(bytes)))
    }

    private func source() -> Value {
        let peer = stream.attribute(.peerAddress) ?? ""
        var address = peer, port: Int64 = 0
        if let colon = peer.lastIndex(of: ":"), let number = Int64(peer[peer.index(after: colon)...]) {
            address = String(peer[..<colon])
            port = number
        }
        if address.hasPrefix("["), address.hasSuffix("]") { address = String(address.dropFirst().dropLast()) }
        return .map(["address": .string(address), "port": .int(port)])
    }

    private func request() -> Value {
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

    private func mcp(_ message: RPCMessage) -> Value {
        let arguments = LazyArguments(params: message.params)
        let target: Value = .object(LazyObject(field: { name in
            switch name {
            case "name": return message.targetKind == "resource" ? nil : .string(message.target)
            case "uri": return message.targetKind == "resource" ? .string(message.target) : nil
            case "target": return .string(message.upstream)
            case "arguments": return message.kind == .listItem || message.targetKind == "resource" ? nil : arguments.value
            default: return nil
            }
        }, names: message.targetKind == "resource" ? ["uri", "target"] : ["name", "target", "arguments"]))
        return .object(LazyObject(field: { name in
            switch name {
            case "method": return .string(message.method)
            case "tool", "prompt", "resource": return name == message.targetKind ? target : nil
            default: return nil
            }
        }, names: ["method", message.targetKind].filter { !$0.isEmpty }))
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

/// The `arguments` member of a message's params, parsed on first use.
final class LazyArguments {
    private let params: String
    private var parsed: Value??
    init(params: String) { self.params = params }
    var value: Value? {
        if let parsed { return parsed }
        let arguments = Value(json: Array(params.utf8))?.fields?["arguments"] ?? .map([:])
        parsed = .some(arguments)
        return arguments
    }
}

/// A JSON object whose members become values only when an expression reads them (`jwt.sub`
/// converts `sub`, not the whole token).
final class JSONObject: ObjectValue {
    private let json: JSONValue
    private var converted: [String: Value?] = [:]

    init(_ json: JSONValue) { self.json = json }

    func field(_ name: String) -> Value? {
        if let done = converted[name] { return done }
        let value = json[name].flatMap(Self.value)
        converted[name] = .some(value)
        return value
    }

    func allFields() -> [String: Value] { Value(json: json.raw)?.fields ?? [:] }

    /// Strings (the common case: `sub`, `iss`) straight from the view; the rest through the parser.
    private static func value(_ member: JSONValue) -> Value? {
        if let string = member.string { return .string(string) }
        return Value(json: member.raw)
    }
}
