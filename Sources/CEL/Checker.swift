/// Infers the type of every node and rejects what cannot work whatever the input: unknown
/// variables, fields and functions, and operators applied to the wrong types.
struct Checker {
    let declarations: Declarations
    let source: String
    /// Top-level variables the expression reads.
    private(set) var variablesRead: Set<String> = []
    private var locals: [(String, CELType)] = []

    init(declarations: Declarations, source: String) {
        self.declarations = declarations
        self.source = source
    }

    private func error(_ message: String, at node: Expression) -> CELCompileError {
        CELCompileError(column: Lexer.column(of: node.offset, in: source), message: message, expression: source)
    }

    /// Two types an operator may combine: the same, or one unknown until run time.
    private static func compatible(_ a: CELType, _ b: CELType) -> Bool {
        if a == b || a.isDyn || b.isDyn || a == .null || b == .null || (a.isNumeric && b.isNumeric) { return true }
        switch (a, b) {
        case (.list(let x), .list(let y)), (.map(let x), .map(let y)): return compatible(x, y)
        case (.object, .map), (.map, .object): return true
        default: return false
        }
    }

    private static func join(_ types: [CELType]) -> CELType {
        guard let first = types.first else { return .dyn }
        return types.allSatisfy { $0 == first } ? first : .dyn
    }

    mutating func check(_ node: Expression) throws(CELCompileError) -> CELType {
        switch node.kind {
        case .literal(let value):
            switch value {
            case .null: return .null
            case .bool: return .bool
            case .int: return .int
            case .double: return .double
            case .string: return .string
            default: return .dyn
            }
        case .identifier(let name):
            if let local = locals.last(where: { $0.0 == name }) { return local.1 }
            guard let type = declarations.variables[name] else {
                let known = declarations.variables.keys.sorted().joined(separator: ", ")
                throw error("undeclared reference to '\(name)' (variables: \(known))", at: node)
            }
            variablesRead.insert(name)
            return type
        case .select(let target, let field):
            return try select(field, of: try check(target), at: node, presence: false)
        case .presence(let target, let field):
            _ = try select(field, of: try check(target), at: node, presence: true)
            return .bool
        case .index(let target, let key):
            let targetType = try check(target)
            let keyType = try check(key)
            switch targetType {
            case .list(let element):
                guard keyType == .int || keyType.isDyn else { throw error("a list index must be an int, not \(keyType)", at: key) }
                return element
            case .map(let value):
                guard keyType == .string || keyType.isDyn else { throw error("a map key must be a string, not \(keyType)", at: key) }
                return value
            case .object(let name, let fields):
                guard keyType == .string || keyType.isDyn else { throw error("a map key must be a string, not \(keyType)", at: key) }
                if case .literal(.string(let field)) = key.kind {
                    guard let type = fields[field] else { throw unknownField(field, name, fields, at: key) }
                    return type
                }
                return .dyn
            case .dyn:
                return .dyn
            default:
                throw error("cannot index a \(targetType)", at: node)
            }
        case .call(let function, let target, let arguments):
            return try call(function, target: target, arguments: arguments, node: node)
        case .list(let items):
            var types: [CELType] = []
            for item in items { types.append(try check(item)) }
            return .list(Self.join(types))
        case .map(let entries):
            var types: [CELType] = []
            for entry in entries {
                let keyType = try check(entry.key)
                guard keyType == .string || keyType.isDyn else { throw error("map keys must be strings here, not \(keyType)", at: entry.key) }
                types.append(try check(entry.value))
            }
            return .map(Self.join(types))
        case .not(let operand):
            let type = try check(operand)
            guard type == .bool || type.isDyn else { throw error("'!' needs a bool, not \(type)", at: node) }
            return .bool
        case .negate(let operand):
            let type = try check(operand)
            guard type.isNumeric || type.isDyn else { throw error("'-' needs a number, not \(type)", at: node) }
            return type
        case .and(let left, let right), .or(let left, let right):
            let symbol: String
            if case .and = node.kind { symbol = "&&" } else { symbol = "||" }
            for side in [left, right] {
                let type = try check(side)
                guard type == .bool || type.isDyn else { throw error("'\(symbol)' needs bool operands, not \(type)", at: side) }
            }
            return .bool
        case .conditional(let condition, let then, let otherwise):
            let type = try check(condition)
            guard type == .bool || type.isDyn else { throw error("the condition of '?:' must be a bool, not \(type)", at: condition) }
            let a = try check(then), b = try check(otherwise)
            return a == b ? a : .dyn
        case .binary(let op, let left, let right):
            return try binary(op, try check(left), try check(right), node: node)
        case .comprehension(let kind, let range, let variable, let body):
            let rangeType = try check(range)
            let element: CELType
            switch rangeType {
            case .list(let type): element = type
            case .map, .object: element = .string
            case .dyn: element = .dyn
            default: throw error("\(kind.rawValue)() needs a list or a map, not \(rangeType)", at: node)
            }
            locals.append((variable, element))
            defer { locals.removeLast() }
            let bodyType = try check(body)
            switch kind {
            case .all, .exists, .existsOne, .filter:
                guard bodyType == .bool || bodyType.isDyn else { throw error("the body of \(kind.rawValue)() must be a bool, not \(bodyType)", at: body) }
                return kind == .filter ? .list(element) : .bool
            case .map:
                return .list(bodyType)
            }
        }
    }

    private func unknownField(_ field: String, _ name: String, _ fields: [String: CELType], at node: Expression) -> CELCompileError {
        error("\(name) has no field '\(field)' (fields: \(fields.keys.sorted().joined(separator: ", ")))", at: node)
    }

    private func select(_ field: String, of type: CELType, at node: Expression, presence: Bool) throws(CELCompileError) -> CELType {
        switch type {
        case .object(let name, let fields):
            guard let fieldType = fields[field] else { throw unknownField(field, name, fields, at: node) }
            return fieldType
        case .map(let value): return value
        case .dyn: return .dyn
        default: throw error("cannot select '\(field)' from a \(type)", at: node)
        }
    }

    private func binary(_ op: Expression.BinaryOperator, _ left: CELType, _ right: CELType, node: Expression) throws(CELCompileError) -> CELType {
        let mismatch = error("no operator '\(op.rawValue)' for \(left) and \(right)", at: node)
        switch op {
        case .equal, .notEqual:
            guard Self.compatible(left, right) else { throw mismatch }
            return .bool
        case .less, .lessOrEqual, .greater, .greaterOrEqual:
            let ordered: Set<String> = ["int", "double", "string", "bool"]
            guard left.isDyn || right.isDyn || (left.isNumeric && right.isNumeric) || (left == right && ordered.contains(left.description)) else {
                throw mismatch
            }
            return .bool
        case .in:
            switch right {
            case .list(let element): guard Self.compatible(left, element) else { throw mismatch }
            case .map, .object: guard left == .string || left.isDyn else { throw mismatch }
            case .dyn: break
            default: throw mismatch
            }
            return .bool
        case .add:
            if left.isDyn { return right }
            if right.isDyn { return left }
            switch (left, right) {
            case (.int, .int), (.double, .double), (.string, .string): return left
            case (.list(let a), .list(let b)): return .list(a == b ? a : .dyn)
            default: throw mismatch
            }
        case .subtract, .multiply, .divide, .remainder:
            if left.isDyn && (right.isNumeric || right.isDyn) { return right }
            if right.isDyn && left.isNumeric { return left }
            guard left == right, left.isNumeric, !(op == .remainder && left == .double) else { throw mismatch }
            return left
        }
    }

    private mutating func call(_ function: String, target: Expression?, arguments: [Expression], node: Expression) throws(CELCompileError) -> CELType {
        let receiver = try target.map { node throws(CELCompileError) in try check(node) }
        var argumentTypes: [CELType] = []
        for argument in arguments { argumentTypes.append(try check(argument)) }
        func expect(_ count: Int, _ usage: String) throws(CELCompileError) {
            guard argumentTypes.count == count else { throw error("\(function)() takes \(usage)", at: node) }
        }
        func stringLike(_ type: CELType?) -> Bool { type == .string || type?.isDyn == true }
        switch (function, receiver) {
        case ("size", let receiver):
            let subject = receiver ?? argumentTypes.first
            guard argumentTypes.count == (receiver == nil ? 1 : 0), let subject else { throw error("size() takes one value: size(x) or x.size()", at: node) }
            switch subject {
            case .string, .list, .map, .object, .dyn: return .int
            default: throw error("size() needs a string, list or map, not \(subject)", at: node)
            }
        case ("startsWith", .some(let receiver)), ("endsWith", .some(let receiver)), ("contains", .some(let receiver)):
            try expect(1, "one string")
            guard stringLike(receiver), stringLike(argumentTypes[0]) else {
                throw error("\(function)() is a string method taking a string, not \(receiver).\(function)(\(argumentTypes[0]))", at: node)
            }
            return .bool
        case ("matches", let receiver):
            let subject = receiver ?? argumentTypes.first
            let patternIndex = receiver == nil ? 1 : 0
            guard argumentTypes.count == patternIndex + 1, stringLike(subject), stringLike(argumentTypes[patternIndex]) else {
                throw error("matches() takes a string and a pattern: s.matches(\"^a.*\")", at: node)
            }
            if case .literal(.string(let pattern)) = arguments[patternIndex].kind {
                do {
                    node.compiledPattern = try Pattern(pattern)
                } catch {
                    throw self.error("invalid regular expression '\(pattern)'", at: arguments[patternIndex])
                }
            }
            return .bool
        case ("lowerAscii", .some(let receiver)), ("upperAscii", .some(let receiver)), ("trim", .some(let receiver)):
            try expect(0, "no arguments")
            guard stringLike(receiver) else { throw error("\(function)() is a string method, not for \(receiver)", at: node) }
            return .string
        case ("split", .some(let receiver)):
            try expect(1, "one separator string")
            guard stringLike(receiver), stringLike(argumentTypes[0]) else { throw error("split() is a string method taking a string", at: node) }
            return .list(.string)
        case ("join", .some(let receiver)):
            guard argumentTypes.count <= 1, argumentTypes.allSatisfy(stringLike) else { throw error("join() takes an optional separator string", at: node) }
            switch receiver {
            case .list(.string), .list(.dyn), .dyn: return .string
            default: throw error("join() is a method of a list of strings, not \(receiver)", at: node)
            }
        case ("int", nil), ("double", nil), ("string", nil), ("dyn", nil), ("bool", nil):
            try expect(1, "one value")
            let accepted: Set<String> = switch function {
            case "int", "double": ["int", "double", "string", "dyn"]
            case "bool": ["bool", "string", "dyn"]
            case "string": ["int", "double", "string", "bool", "null", "dyn"]
            default: []
            }
            guard function == "dyn" || accepted.contains(argumentTypes[0].description) else {
                throw error("\(function)() cannot convert a \(argumentTypes[0])", at: node)
            }
            return switch function {
            case "int": .int
            case "double": .double
            case "string": .string
            case "bool": .bool
            default: .dyn
            }
        default:
            let form = receiver.map { "\($0).\(function)()" } ?? "\(function)()"
            throw error("unknown function \(form) (supported: size, has, startsWith, endsWith, contains, matches, lowerAscii, upperAscii, trim, split, join, int, double, string, bool, dyn, all, exists, exists_one, map, filter)", at: node)
        }
    }
}
