/// The static type of an expression or variable, as the checker sees it.
///
/// `dyn` is "known only at run time" (any JWT claim, say); checks involving it are left to
/// evaluation. `object` types have a fixed set of fields (e.g. `mcp.tool`), so a misspelt field is
/// a compile error.
public indirect enum CELType: Equatable, Sendable, CustomStringConvertible {
    case dyn, null, bool, int, double, string
    case list(CELType)
    /// A map with string keys.
    case map(CELType)
    /// A named record with known fields.
    case object(name: String, fields: [String: CELType])

    public var description: String {
        switch self {
        case .dyn: return "dyn"
        case .null: return "null"
        case .bool: return "bool"
        case .int: return "int"
        case .double: return "double"
        case .string: return "string"
        case .list(let element): return "list(\(element))"
        case .map(let value): return "map(string, \(value))"
        case .object(let name, _): return name
        }
    }

    var isNumeric: Bool { self == .int || self == .double }
    var isDyn: Bool { self == .dyn }
}

/// The variables an expression may read, with their types.
public struct Declarations: Sendable {
    public var variables: [String: CELType]
    public init(_ variables: [String: CELType]) { self.variables = variables }
}

/// Looks up the top-level variables while an expression runs.
public protocol Activation {
    /// The variable's value; nil when it has none here (reading it is then an evaluation error).
    func value(of variable: String) -> Value?
}
