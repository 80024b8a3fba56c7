import Foundation

/// Runs a checked expression against an ``Activation``.
///
/// `&&` and `||` follow CEL's commutative rules: `false && <error>` is false and `true || <error>`
/// is true, whichever side failed, so a rule reading a claim that one caller lacks still decides.
struct Evaluator {
    /// An existential, not a generic parameter: callers in other modules would otherwise run
    /// the evaluator unspecialized, instantiating its generic metadata on every evaluation.
    let activation: any Activation
    private var locals: [(String, Value)] = []

    init(activation: any Activation) { self.activation = activation }

    private typealias Failure = CELEvaluationError

    mutating func evaluate(_ node: Expression) throws(CELEvaluationError) -> Value {
        switch node.kind {
        case .literal(let value):
            return value
        case .identifier(let name):
            if let local = locals.last(where: { $0.0 == name }) { return local.1 }
            guard let value = activation.value(of: name) else { throw Failure("no value for '\(name)'") }
            return value
        case .select(let target, let field):
            let value = try evaluate(target)
            guard let member = value.member(field) else {
                throw Failure(value.fields == nil ? "cannot select '\(field)' from a \(value.typeName)" : "no such key '\(field)'")
            }
            return member
        case .presence(let target, let field):
            let value = try evaluate(target)
            guard value.fields != nil else { throw Failure("has() needs a map, not a \(value.typeName)") }
            return .bool(value.member(field) != nil)
        case .index(let target, let key):
            let container = try evaluate(target)
            let index = try evaluate(key)
            switch (container, index) {
            case (.list(let items), .int(let position)):
                guard position >= 0, position < items.count else { throw Failure("index \(position) out of range (size \(items.count))") }
                return items[Int(position)]
            case (.list(let items), .double(let position)) where position == position.rounded():
                guard position >= 0, Int(position) < items.count else { throw Failure("index \(position) out of range") }
                return items[Int(position)]
            case (_, .string(let name)) where container.fields != nil:
                guard let member = container.member(name) else { throw Failure("no such key '\(name)'") }
                return member
            default:
                throw Failure("cannot index a \(container.typeName) with a \(index.typeName)")
            }
        case .call(let function, let target, let arguments):
            return try call(function, target: target, arguments: arguments, node: node)
        case .list(let items):
            var values: [Value] = []
            values.reserveCapacity(items.count)
            for item in items { values.append(try evaluate(item)) }
            return .list(values)
        case .map(let entries):
            var map: [String: Value] = [:]
            for entry in entries {
                guard case .string(let key) = try evaluate(entry.key) else { throw Failure("map keys must be strings") }
                map[key] = try evaluate(entry.value)
            }
            return .map(map)
        case .not(let operand):
            guard case .bool(let value) = try evaluate(operand) else { throw Failure("'!' needs a bool") }
            return .bool(!value)
        case .negate(let operand):
            switch try evaluate(operand) {
            case .int(let value):
                guard value != .min else { throw Failure("integer overflow") }
                return .int(-value)
            case .double(let value): return .double(-value)
            case let other: throw Failure("'-' needs a number, not a \(other.typeName)")
            }
        case .and(let left, let right):
            return try logical(left, right, absorbing: false)
        case .or(let left, let right):
            return try logical(left, right, absorbing: true)
        case .conditional(let condition, let then, let otherwise):
            guard case .bool(let value) = try evaluate(condition) else { throw Failure("the condition of '?:' must be a bool") }
            return try evaluate(value ? then : otherwise)
        case .binary(let op, let left, let right):
            return try binary(op, try evaluate(left), try evaluate(right))
        case .comprehension(let kind, let range, let variable, let body):
            return try comprehension(kind, over: try evaluate(range), variable: variable, body: body)
        }
    }

    /// `&&` (absorbing false) and `||` (absorbing true), errors commutative.
    private mutating func logical(_ left: Expression, _ right: Expression, absorbing: Bool) throws(CELEvaluationError) -> Value {
        /// The side's bool, or its error.
        func side(_ node: Expression) -> Result<Bool, CELEvaluationError> {
            do throws(CELEvaluationError) {
                guard case .bool(let value) = try evaluate(node) else { throw Failure("'\(absorbing ? "||" : "&&")' needs bool operands") }
                return .success(value)
            } catch {
                return .failure(error)
            }
        }
        let first = side(left)
        if case .success(absorbing) = first { return .bool(absorbing) }
        let second = side(right)
        if case .success(absorbing) = second { return .bool(absorbing) }
        if case .failure(let error) = first { throw error }
        if case .failure(let error) = second { throw error }
        return .bool(!absorbing)
    }

    private func binary(_ op: Expression.BinaryOperator, _ left: Value, _ right: Value) throws(CELEvaluationError) -> Value {
        switch op {
        case .equal: return .bool(Value.equal(left, right))
        case .notEqual: return .bool(!Value.equal(left, right))
        case .less, .lessOrEqual, .greater, .greaterOrEqual:
            let order = try compare(left, right)
            switch op {
            case .less: return .bool(order < 0)
            case .lessOrEqual: return .bool(order <= 0)
            case .greater: return .bool(order > 0)
            default: return .bool(order >= 0)
            }
        case .in:
            switch right {
            case .list(let items): return .bool(items.contains { Value.equal(left, $0) })
            case .map, .object:
                guard case .string(let key) = left else { return .bool(false) }
                return .bool(right.member(key) != nil)
            default: throw Failure("'in' needs a list or a map, not a \(right.typeName)")
            }
        case .add:
            switch (left, right) {
            case (.int(let a), .int(let b)):
                let (sum, overflow) = a.addingReportingOverflow(b)
                guard !overflow else { throw Failure("integer overflow") }
                return .int(sum)
            case (.double(let a), .double(let b)): return .double(a + b)
            case (.string(let a), .string(let b)): return .string(a + b)
            case (.list(let a), .list(let b)): return .list(a + b)
            default: throw Failure("no operator '+' for \(left.typeName) and \(right.typeName)")
            }
        case .subtract, .multiply, .divide, .remainder:
            switch (left, right) {
            case (.int(let a), .int(let b)):
                let result: (Int64, Bool)
                switch op {
                case .subtract: result = a.subtractingReportingOverflow(b)
                case .multiply: result = a.multipliedReportingOverflow(by: b)
                case .divide:
                    guard b != 0 else { throw Failure("division by zero") }
                    result = a.dividedReportingOverflow(by: b)
                default:
                    guard b != 0 else { throw Failure("modulus by zero") }
                    result = a.remainderReportingOverflow(dividingBy: b)
                }
                guard !result.1 else { throw Failure("integer overflow") }
                return .int(result.0)
            case (.double(let a), .double(let b)) where op != .remainder:
                switch op {
                case .subtract: return .double(a - b)
                case .multiply: return .double(a * b)
                default: return .double(a / b)
                }
            default:
                throw Failure("no operator '\(op.rawValue)' for \(left.typeName) and \(right.typeName)")
            }
        }
    }

    private func compare(_ left: Value, _ right: Value) throws(CELEvaluationError) -> Int {
        func order<T: Comparable>(_ a: T, _ b: T) -> Int { a < b ? -1 : a == b ? 0 : 1 }
        switch (left, right) {
        case (.int(let a), .int(let b)): return order(a, b)
        case (.double(let a), .double(let b)): return order(a, b)
        case (.int(let a), .double(let b)): return order(Double(a), b)
        case (.double(let a), .int(let b)): return order(a, Double(b))
        case (.string(let a), .string(let b)):
            if a == b { return 0 }
            return a.unicodeScalars.lexicographicallyPrecedes(b.unicodeScalars) ? -1 : 1
        case (.bool(let a), .bool(let b)): return order(a ? 1 : 0, b ? 1 : 0)
        default: throw Failure("cannot compare a \(left.typeName) with a \(right.typeName)")
        }
    }

    private mutating func comprehension(_ kind: Expression.Comprehension, over range: Value, variable: String,
                                        body: Expression) throws(CELEvaluationError) -> Value {
        let items: [Value]
        switch range {
        case .list(let list): items = list
        case .map, .object: items = (range.fields ?? [:]).keys.sorted().map(Value.string)
        default: throw Failure("\(kind.rawValue)() needs a list or a map, not a \(range.typeName)")
        }
        var matches = 0
        var mapped: [Value] = []
        var firstError: CELEvaluationError?
        for item in items {
            locals.append((variable, item))
            defer { locals.removeLast() }
            let result: Value
            do throws(CELEvaluationError) {
                result = try evaluate(body)
            } catch {
                // all/exists decide despite errors on other elements (like && and ||).
                if kind == .all || kind == .exists { firstError = firstError ?? error; continue }
                throw error
            }
            switch kind {
            case .map:
                mapped.append(result)
            default:
                guard case .bool(let value) = result else { throw Failure("the body of \(kind.rawValue)() must be a bool") }
                if value { matches += 1 }
                if kind == .all, !value { return .bool(false) }
                if kind == .exists, value { return .bool(true) }
                if kind == .filter, value { mapped.append(item) }
            }
        }
        if let firstError { throw firstError }
        switch kind {
        case .all: return .bool(true)
        case .exists: return .bool(false)
        case .existsOne: return .bool(matches == 1)
        case .map, .filter: return .list(mapped)
        }
    }

    private mutating func call(_ function: String, target: Expression?, arguments: [Expression], node: Expression) throws(CELEvaluationError) -> Value {
        let receiver = try target.map { node throws(CELEvaluationError) in try evaluate(node) }
        var values: [Value] = []
        for argument in arguments { values.append(try evaluate(argument)) }
        func string(_ value: Value?) throws(CELEvaluationError) -> String {
            guard case .string(let text) = value else { throw Failure("\(function)() needs a string, not a \(value?.typeName ?? "nothing")") }
            return text
        }
        switch function {
        case "size":
            switch receiver ?? values.first {
            case .string(let text): return .int(Int64(text.count))
            case .list(let items): return .int(Int64(items.count))
            case let value? where value.fields != nil: return .int(Int64(value.fields?.count ?? 0))
            case let value: throw Failure("size() needs a string, list or map, not a \(value?.typeName ?? "nothing")")
            }
        case "startsWith": return .bool(try string(receiver).hasPrefix(try string(values[0])))
        case "endsWith": return .bool(try string(receiver).hasSuffix(try string(values[0])))
        case "contains":
            let needle = try string(values[0])
            let haystack = try string(receiver)
            return .bool(needle.isEmpty || haystack.contains(needle))
        case "matches":
            let subject = try string(receiver ?? values[0])
            if let pattern = node.compiledPattern { return .bool(pattern.matches(subject)) }
            let source = try string(receiver == nil ? values[1] : values[0])
            guard let pattern = try? Pattern(source) else { throw Failure("invalid regular expression '\(source)'") }
            return .bool(pattern.matches(subject))
        case "lowerAscii", "upperAscii":
            let text = try string(receiver)
            let shifted = text.utf8.map { byte -> UInt8 in
                if function == "lowerAscii", (0x41...0x5A).contains(byte) { return byte + 0x20 }
                if function == "upperAscii", (0x61...0x7A).contains(byte) { return byte - 0x20 }
                return byte
            }
            return .string(String(decoding: shifted, as: UTF8.self))
        case "trim":
            return .string(String(try string(receiver).drop(while: \.isWhitespace).reversed().drop(while: \.isWhitespace).reversed()))
        case "split":
            let separator = try string(values[0])
            let text = try string(receiver)
            guard !separator.isEmpty else { return .list(text.map { .string(String($0)) }) }
            return .list(text.components(separatedBy: separator).map(Value.string))
        case "join":
            guard case .list(let items) = receiver else { throw Failure("join() needs a list") }
            var parts: [String] = []
            for item in items { parts.append(try string(item)) }
            return .string(parts.joined(separator: values.isEmpty ? "" : try string(values[0])))
        case "int":
            switch values[0] {
            case .int: return values[0]
            case .double(let value):
                guard value.isFinite, let int = Int64(exactly: value.rounded(.towardZero)) else { throw Failure("int(): \(value) is out of range") }
                return .int(int)
            case .string(let text):
                guard let int = Int64(text) else { throw Failure("int(): '\(text)' is not an integer") }
                return .int(int)
            case let other: throw Failure("int() cannot convert a \(other.typeName)")
            }
        case "double":
            switch values[0] {
            case .double: return values[0]
            case .int(let value): return .double(Double(value))
            case .string(let text):
                guard let double = Double(text) else { throw Failure("double(): '\(text)' is not a number") }
                return .double(double)
            case let other: throw Failure("double() cannot convert a \(other.typeName)")
            }
        case "bool":
            switch values[0] {
            case .bool: return values[0]
            case .string("true"), .string("True"), .string("TRUE"), .string("t"), .string("1"): return .bool(true)
            case .string("false"), .string("False"), .string("FALSE"), .string("f"), .string("0"): return .bool(false)
            case let other: throw Failure("bool() cannot convert \(other.text ?? other.typeName)")
            }
        case "string":
            guard let text = values[0].text else { throw Failure("string() cannot convert a \(values[0].typeName)") }
            return .string(text)
        case "dyn":
            return values[0]
        default:
            throw Failure("unknown function \(function)()")
        }
    }
}
