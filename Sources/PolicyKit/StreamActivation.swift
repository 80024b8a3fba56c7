import CEL
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
        case "jwt": value = Self.json(stream.value(forKey: IdentityKeys.jwtClaims))
        case "apiKey": value = Self.json(stream.value(forKey: IdentityKeys.apiKey))
        case "source": value = source()
        case "request": value = request()
        case "mcp": value = message.flatMap { $0.protocolName == .mcp ? mcp($0) : nil }
        case "a2a": value = message.flatMap { $0.protocolName == .a2a ? .map(["method": .string($0.method)]) : nil }
        default: value = nil
        }
        cache[variable] = value
        return value
    }

    /// A JSON object from the key–value store; `{}` when absent or not JSON.
    private static func json(_ text: String?) -> Value {
        guard let text, let value = Value(json: Array(text.utf8)), case .map = value else { return .map([:]) }
        return value
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
        var fields: [String: Value] = ["method": .string(message.method)]
        let arguments = LazyArguments(params: message.params)
        switch message.targetKind {
        case "tool":
            fields["tool"] = .object(LazyObject(field: { name in
                switch name {
                case "name": return .string(message.target)
                case "target": return .string(message.upstream)
                case "arguments": return message.kind == .listItem ? nil : arguments.value
                default: return nil
                }
            }, names: ["name", "target", "arguments"]))
        case "prompt":
            fields["prompt"] = .object(LazyObject(field: { name in
                switch name {
                case "name": return .string(message.target)
                case "target": return .string(message.upstream)
                case "arguments": return message.kind == .listItem ? nil : arguments.value
                default: return nil
                }
            }, names: ["name", "target", "arguments"]))
        case "resource":
            fields["resource"] = .map(["uri": .string(message.target), "target": .string(message.upstream)])
        default:
            break
        }
        return .map(fields)
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
