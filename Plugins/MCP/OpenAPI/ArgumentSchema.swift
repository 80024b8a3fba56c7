import JSON

/// A tool's input schema read once, when its document is (``ToolBuilder``), into what a call's
/// arguments are checked against before any request goes out, so a model gets an error that
/// names the argument and can correct itself.
///
/// Hand-written because no JSON Schema validator is among the project's dependencies; it covers
/// what decides whether a REST call can be built and what models get wrong: `type` (one or a
/// list), `enum`, `const`, `required`, `properties` and `additionalProperties`, `items`,
/// `anyOf` / `oneOf` / `allOf`, and the numeric, length and size bounds. Formats and patterns
/// are left to the API. A tool's optional argument given as `null` counts as not given.
///
/// Compiled rather than read from the schema's JSON on each call: looking keywords up in the
/// JSON text cost ~90k instructions per `tools/call` (`bench/callgrind.sh openapi`).
public final class ArgumentSchema: Sendable, Equatable {
    /// The schema as written (two schemas are equal when their text is).
    let source: ArraySlice<UInt8>
    /// `true` or `{}`: anything goes.
    let acceptsAnything: Bool
    let types: [String]
    let allowed: [JSONValue]?
    let constant: JSONValue?
    /// `anyOf` and `oneOf`: each a list of branches of which one must take the value (`oneOf` is
    /// checked as `anyOf`: a value two branches take is not the model's mistake).
    let alternatives: [[ArgumentSchema]]
    let allOf: [ArgumentSchema]
    /// Properties in the schema's order (for messages), and by name.
    let propertyNames: [String]
    let properties: [String: ArgumentSchema]
    let required: [String]
    /// `additionalProperties: false`.
    let closed: Bool
    let additional: ArgumentSchema?
    let items: ArgumentSchema?
    let minItems: Int?, maxItems: Int?, minLength: Int?, maxLength: Int?
    let minimum: Bound?, maximum: Bound?, exclusiveMinimum: Bound?, exclusiveMaximum: Bound?

    /// A numeric bound, and how the schema writes it (for the message).
    struct Bound: Sendable {
        let value: Double
        let text: String
        init?(_ json: JSONValue?) {
            guard let json, case .number(let value, _) = ArgumentKind(json) else { return nil }
            self.value = value
            text = json.text.trimmingWhitespace
        }
    }

    /// `schema` (a JSON Schema object, or `true`/`false`-free JSON as the gateway writes it).
    public init(_ schema: JSONValue) {
        let members = schema.members ?? []
        var byName: [String: JSONValue] = [:]
        for member in members { byName[member.name] = member.value }
        source = schema.raw
        acceptsAnything = members.isEmpty
        if let type = byName["type"] {
            types = type.string.map { [$0] } ?? type.elements?.compactMap(\.string) ?? []
        } else {
            types = []
        }
        allowed = byName["enum"]?.elements
        constant = byName["const"]
        alternatives = ["anyOf", "oneOf"].compactMap { byName[$0]?.elements?.map(ArgumentSchema.init) }.filter { !$0.isEmpty }
        allOf = byName["allOf"]?.elements?.map(ArgumentSchema.init) ?? []
        let propertyMembers = byName["properties"]?.members ?? []
        propertyNames = propertyMembers.map(\.name)
        properties = Dictionary(propertyMembers.map { ($0.name, ArgumentSchema($0.value)) }, uniquingKeysWith: { first, _ in first })
        required = byName["required"]?.elements?.compactMap(\.string) ?? []
        let additionalValue = byName["additionalProperties"]
        closed = additionalValue?.text.trimmingWhitespace == "false"
        additional = additionalValue.flatMap { $0.members != nil ? ArgumentSchema($0) : nil }
        items = byName["items"].map(ArgumentSchema.init)
        minItems = byName["minItems"]?.int
        maxItems = byName["maxItems"]?.int
        minLength = byName["minLength"]?.int
        maxLength = byName["maxLength"]?.int
        minimum = Bound(byName["minimum"])
        maximum = Bound(byName["maximum"])
        exclusiveMinimum = Bound(byName["exclusiveMinimum"])
        exclusiveMaximum = Bound(byName["exclusiveMaximum"])
    }

    public static func == (a: ArgumentSchema, b: ArgumentSchema) -> Bool { a === b || a.source == b.source }

    /// The first way `value` breaks the schema, or nil. `path` names `value` (`body.tags[0]`;
    /// empty for the arguments object itself).
    public func problem(_ value: JSONValue, at path: String = "") -> String? {
        problem(value, ArgumentKind(value), at: path)
    }

    private func problem(_ value: JSONValue, _ kind: ArgumentKind, at path: String) -> String? {
        guard !acceptsAnything else { return nil }
        func name() -> String { path.isEmpty ? "the arguments" : "'\(path)'" }
        if !types.isEmpty, !types.contains(where: kind.matches) {
            return "\(name()) must be \(types.map(Self.article).joined(separator: " or ")), not \(Self.article(kind.name)) (\(Self.preview(value)))"
        }
        if let allowed, !allowed.contains(where: { Self.equal($0, value) }) {
            return "\(name()) must be one of \(allowed.map { $0.text }.joined(separator: ", ")), not \(Self.preview(value))"
        }
        if let constant, !Self.equal(constant, value) {
            return "\(name()) must be \(constant.text), not \(Self.preview(value))"
        }
        for anyOf in alternatives {
            var problems: [String] = []
            for branch in anyOf {
                guard let problem = branch.problem(value, kind, at: path) else { problems = []; break }
                problems.append(problem)
            }
            if let first = problems.first {
                // When no branch takes this kind of value, say which kinds they take.
                if anyOf.allSatisfy({ !$0.types.isEmpty && !$0.types.contains(where: kind.matches) }) {
                    return "\(name()) must be \(anyOf.flatMap(\.types).map(Self.article).joined(separator: " or ")), not \(Self.article(kind.name)) (\(Self.preview(value)))"
                }
                return first
            }
        }
        for branch in allOf {
            if let problem = branch.problem(value, kind, at: path) { return problem }
        }
        switch kind {
        case .object:
            return objectProblem(value, path: path)
        case .array(let elements):
            if let minItems, elements.count < minItems { return "\(name()) needs at least \(minItems) item(s)" }
            if let maxItems, elements.count > maxItems { return "\(name()) takes at most \(maxItems) item(s)" }
            if let items {
                for (index, element) in elements.enumerated() {
                    if let problem = items.problem(element, at: "\(path)[\(index)]") { return problem }
                }
            }
        case .string(let text):
            if let minLength, text.count < minLength { return "\(name()) must be at least \(minLength) character(s) long" }
            if let maxLength, text.count > maxLength { return "\(name()) must be at most \(maxLength) character(s) long" }
        case .number(let number, _):
            if let minimum, number < minimum.value { return "\(name()) must be at least \(minimum.text)" }
            if let maximum, number > maximum.value { return "\(name()) must be at most \(maximum.text)" }
            if let exclusiveMinimum, number <= exclusiveMinimum.value { return "\(name()) must be more than \(exclusiveMinimum.text)" }
            if let exclusiveMaximum, number >= exclusiveMaximum.value { return "\(name()) must be less than \(exclusiveMaximum.text)" }
        case .boolean, .null:
            break
        }
        return nil
    }

    private func objectProblem(_ value: JSONValue, path: String) -> String? {
        let members = value.members ?? []
        let prefix = path.isEmpty ? "" : path + "."
        for name in required where !members.contains(where: { $0.name == name }) {
            return "the required argument '\(prefix)\(name)' is missing"
        }
        for member in members {
            let kind = ArgumentKind(member.value)
            if let property = properties[member.name] {
                // A tool's optional argument given as null counts as left out (models often send them).
                if path.isEmpty, case .null = kind, !required.contains(member.name) { continue }
                if let problem = property.problem(member.value, kind, at: prefix + member.name) { return problem }
            } else if closed {
                let known = propertyNames.isEmpty ? "none" : propertyNames.map { "'\($0)'" }.joined(separator: ", ")
                return "'\(prefix)\(member.name)' is not an argument of this tool (it takes \(known))"
            } else if let additional, let problem = additional.problem(member.value, kind, at: prefix + member.name) {
                return problem
            }
        }
        return nil
    }

    private static func article(_ type: String) -> String {
        switch type {
        case "null": "null"
        case "array", "object", "integer": "an \(type)"
        default: "a \(type)"
        }
    }

    /// JSON equality for `enum` and `const`: strings by their text, numbers by value, the rest as written.
    static func equal(_ a: JSONValue, _ b: JSONValue) -> Bool {
        switch (ArgumentKind(a), ArgumentKind(b)) {
        case (.string(let x), .string(let y)): x == y
        case (.number(let x, _), .number(let y, _)): x == y
        default: a.text.filter { !$0.isWhitespace } == b.text.filter { !$0.isWhitespace }
        }
    }

    private static func preview(_ value: JSONValue) -> String {
        let text = value.text.trimmingWhitespace
        return text.count > 60 ? String(text.prefix(57)) + "..." : text
    }
}

/// What a JSON value is, for the type rules.
enum ArgumentKind {
    case object
    case array([JSONValue])
    case string(String)
    case number(Double, isInteger: Bool)
    case boolean
    case null

    init(_ value: JSONValue) {
        switch Self.firstByte(of: value) {
        case UInt8(ascii: "{"): self = .object
        case UInt8(ascii: "["): self = .array(value.elements ?? [])
        case UInt8(ascii: "\""): self = .string(value.string ?? "")
        case UInt8(ascii: "t"), UInt8(ascii: "f"): self = .boolean
        case UInt8(ascii: "n"), nil: self = .null
        default:
            let number = Double(value.text.trimmingWhitespace) ?? .nan
            self = .number(number, isInteger: number.isFinite && number.rounded() == number)
        }
    }

    var name: String {
        switch self {
        case .object: "object"
        case .array: "array"
        case .string: "string"
        case .number(_, let isInteger): isInteger ? "integer" : "number"
        case .boolean: "boolean"
        case .null: "null"
        }
    }

    func matches(_ type: String) -> Bool {
        switch (self, type) {
        case (.number(let value, _), "integer"): value.isFinite && value.rounded() == value
        case (.number, "number"): true
        default: name == type
        }
    }

    var isNull: Bool { if case .null = self { true } else { false } }

    /// Whether `value` is `null` (or nothing), without reading the rest of it.
    static func isNull(_ value: JSONValue) -> Bool {
        let first = firstByte(of: value)
        return first == nil || first == UInt8(ascii: "n")
    }

    /// The first byte of `value` that is not whitespace: what kind of value it is.
    static func firstByte(of value: JSONValue) -> UInt8? {
        var index = value.range.lowerBound
        while index < value.range.upperBound {
            let byte = value.bytes[index]
            if byte != 0x20, byte != 0x0A, byte != 0x0D, byte != 0x09 { return byte }
            index += 1
        }
        return nil
    }
}
