import JSON

/// A value while an expression runs.
///
/// JSON maps onto it directly (objects are `map`, numbers are `int` when integral, else `double`).
/// Values the host supplies field by field (request headers, say) are `object`s, read only as far
/// as an expression asks.
public enum Value {
    case null
    case bool(Bool)
    case int(Int64)
    case double(Double)
    case string(String)
    case list([Value])
    case map([String: Value])
    case object(any ObjectValue)

    /// The CEL type name, for error messages.
    public var typeName: String {
        switch self {
        case .null: return "null"
        case .bool: return "bool"
        case .int: return "int"
        case .double: return "double"
        case .string: return "string"
        case .list: return "list"
        case .map, .object: return "map"
        }
    }
}

/// A map-like value whose fields are produced on demand (e.g. `request.headers` reads one header).
public protocol ObjectValue {
    /// The field or key `name`, or nil when it is absent.
    func field(_ name: String) -> Value?
    /// Every field, for `size()`, equality and comprehensions.
    func allFields() -> [String: Value]
}

extension Value {
    /// The value of JSON text, or nil when it is not valid JSON. Integral numbers without a
    /// fraction or exponent become `int`, other numbers `double`; nesting is limited to 64 levels.
    public init?(json: some Collection<UInt8>) {
        let bytes = Array(json)
        guard bytes.withUnsafeBytes(JSONObjectFields.isValidDocument) else { return nil }
        guard let value = Value(json: JSONValue(bytes), depth: 0) else { return nil }
        self = value
    }

    /// The value of an already validated JSON view (a member of a larger document, say).
    public init?(json: JSONValue) {
        self.init(json: json, depth: 0)
    }

    private init?(json: JSONValue, depth: Int) {
        guard depth < 64, let first = json.raw.first(where: { ![0x20, 0x09, 0x0A, 0x0D].contains($0) }) else { return nil }
        switch first {
        case UInt8(ascii: "{"):
            var map: [String: Value] = [:]
            for member in json.members ?? [] {
                guard let value = Value(json: member.value, depth: depth + 1) else { return nil }
                if map[member.name] == nil { map[member.name] = value } // the first of repeated names, as lookups do
            }
            self = .map(map)
        case UInt8(ascii: "["):
            var list: [Value] = []
            for element in json.elements ?? [] {
                guard let value = Value(json: element, depth: depth + 1) else { return nil }
                list.append(value)
            }
            self = .list(list)
        case UInt8(ascii: "\""):
            guard let string = json.string else { return nil }
            self = .string(string)
        case UInt8(ascii: "t"): self = .bool(true)
        case UInt8(ascii: "f"): self = .bool(false)
        case UInt8(ascii: "n"): self = .null
        default:
            let text = json.text.trimmingWhitespace
            if !text.contains(where: { $0 == "." || $0 == "e" || $0 == "E" }), let int = Int64(text) {
                self = .int(int)
            } else if let double = Double(text) {
                self = .double(double)
            } else {
                return nil
            }
        }
    }

    /// A map value's entry (maps and objects); nil when absent or not a map.
    public func member(_ name: String) -> Value? {
        switch self {
        case .map(let map): return map[name]
        case .object(let object): return object.field(name)
        default: return nil
        }
    }

    /// Maps and objects as a dictionary.
    public var fields: [String: Value]? {
        switch self {
        case .map(let map): return map
        case .object(let object): return object.allFields()
        default: return nil
        }
    }

    /// CEL equality: numbers compare across int and double; other kinds must match.
    public static func equal(_ lhs: Value, _ rhs: Value) -> Bool {
        switch (lhs, rhs) {
        case (.null, .null): return true
        case (.bool(let a), .bool(let b)): return a == b
        case (.int(let a), .int(let b)): return a == b
        case (.double(let a), .double(let b)): return a == b
        case (.int(let a), .double(let b)), (.double(let b), .int(let a)): return Double(a) == b
        case (.string(let a), .string(let b)): return a == b
        case (.list(let a), .list(let b)): return a.count == b.count && zip(a, b).allSatisfy { equal($0, $1) }
        default:
            guard let a = lhs.fields, let b = rhs.fields, a.count == b.count else { return false }
            return a.allSatisfy { key, value in b[key].map { equal(value, $0) } ?? false }
        }
    }

    /// The text of a scalar (`string(x)`; rate-limit keys).
    public var text: String? {
        switch self {
        case .null: return "null"
        case .bool(let b): return b ? "true" : "false"
        case .int(let i): return String(i)
        case .double(let d): return String(d)
        case .string(let s): return s
        default: return nil
        }
    }
}
