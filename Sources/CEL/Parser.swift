/// Parses tokens into an ``Expression`` by CEL's grammar (precedence low to high: `?:`, `||`,
/// `&&`, relations and `in`, `+ -`, `* / %`, unary `! -`, member access, calls and indexing).
struct Parser {
    private var tokens: [Token]
    private var position = 0
    private let source: String
    private var depth = 0

    init(source: String) throws(CELCompileError) {
        self.source = source
        var lexer = Lexer(source)
        tokens = try lexer.tokens()
    }

    mutating func parse() throws(CELCompileError) -> Expression {
        let expression = try self.expression()
        guard case .end = current.kind else { throw error("unexpected \(describe(current)) after the expression") }
        return expression
    }

    private var current: Token { tokens[position] }

    private func error(_ message: String, at offset: Int? = nil) -> CELCompileError {
        CELCompileError(column: Lexer.column(of: offset ?? current.offset, in: source), message: message, expression: source)
    }

    private func describe(_ token: Token) -> String {
        switch token.kind {
        case .identifier(let name): return "'\(name)'"
        case .int(let value): return "'\(value)'"
        case .double(let value): return "'\(value)'"
        case .string: return "a string"
        case .punctuation(let text): return "'\(text)'"
        case .end: return "the end of the expression"
        }
    }

    private func isPunctuation(_ text: String) -> Bool {
        if case .punctuation(text) = current.kind { return true }
        return false
    }

    private mutating func accept(_ text: String) -> Bool {
        guard isPunctuation(text) else { return false }
        position += 1
        return true
    }

    private mutating func expect(_ text: String, _ context: String) throws(CELCompileError) {
        guard accept(text) else { throw error("expected '\(text)' \(context), found \(describe(current))") }
    }

    private mutating func expression() throws(CELCompileError) -> Expression {
        depth += 1
        defer { depth -= 1 }
        guard depth < 100 else { throw error("the expression is nested too deeply") }
        let condition = try or()
        guard isPunctuation("?") else { return condition }
        let offset = current.offset
        position += 1
        let then = try or()
        try expect(":", "in a conditional (a ? b : c)")
        let otherwise = try expression()
        return Expression(.conditional(condition, then, otherwise), at: offset)
    }

    private mutating func or() throws(CELCompileError) -> Expression {
        var left = try and()
        while isPunctuation("||") {
            let offset = current.offset
            position += 1
            left = Expression(.or(left, try and()), at: offset)
        }
        return left
    }

    private mutating func and() throws(CELCompileError) -> Expression {
        var left = try relation()
        while isPunctuation("&&") {
            let offset = current.offset
            position += 1
            left = Expression(.and(left, try relation()), at: offset)
        }
        return left
    }

    private mutating func relation() throws(CELCompileError) -> Expression {
        var left = try addition()
        while true {
            let offset = current.offset
            let op: Expression.BinaryOperator
            switch current.kind {
            case .punctuation("=="): op = .equal
            case .punctuation("!="): op = .notEqual
            case .punctuation("<"): op = .less
            case .punctuation("<="): op = .lessOrEqual
            case .punctuation(">"): op = .greater
            case .punctuation(">="): op = .greaterOrEqual
            case .identifier("in"): op = .in
            default: return left
            }
            position += 1
            left = Expression(.binary(op, left, try addition()), at: offset)
        }
    }

    private mutating func addition() throws(CELCompileError) -> Expression {
        var left = try multiplication()
        while isPunctuation("+") || isPunctuation("-") {
            let offset = current.offset
            let op: Expression.BinaryOperator = isPunctuation("+") ? .add : .subtract
            position += 1
            left = Expression(.binary(op, left, try multiplication()), at: offset)
        }
        return left
    }

    private mutating func multiplication() throws(CELCompileError) -> Expression {
        var left = try unary()
        while isPunctuation("*") || isPunctuation("/") || isPunctuation("%") {
            let offset = current.offset
            let op: Expression.BinaryOperator = isPunctuation("*") ? .multiply : isPunctuation("/") ? .divide : .remainder
            position += 1
            left = Expression(.binary(op, left, try unary()), at: offset)
        }
        return left
    }

    private mutating func unary() throws(CELCompileError) -> Expression {
        let offset = current.offset
        if accept("!") { return Expression(.not(try unary()), at: offset) }
        if accept("-") {
            // Fold a negative literal so that -9223372036854775808 is representable.
            if case .int(let magnitude) = current.kind {
                guard magnitude <= UInt64(Int64.max) + 1 else { throw error("integer literal -\(magnitude) is out of range") }
                position += 1
                return try member(Expression(.literal(.int(magnitude == UInt64(Int64.max) + 1 ? .min : -Int64(magnitude))), at: offset))
            }
            if case .double(let value) = current.kind {
                position += 1
                return try member(Expression(.literal(.double(-value)), at: offset))
            }
            return Expression(.negate(try unary()), at: offset)
        }
        return try member(try primary())
    }

    private static let reserved: Set<String> = ["as", "break", "const", "continue", "else", "for", "function", "if", "import",
                                                "let", "loop", "package", "namespace", "return", "var", "void", "while", "in"]

    private mutating func member(_ start: Expression) throws(CELCompileError) -> Expression {
        var target = start
        while true {
            let offset = current.offset
            if accept(".") {
                guard case .identifier(let name) = current.kind else { throw error("expected a field name after '.', found \(describe(current))") }
                position += 1
                if accept("(") {
                    let arguments = try list(until: ")")
                    target = try method(name, on: target, arguments: arguments, at: offset)
                } else {
                    target = Expression(.select(target, name), at: offset)
                }
            } else if accept("[") {
                let key = try expression()
                try expect("]", "after an index")
                target = Expression(.index(target, key), at: offset)
            } else {
                return target
            }
        }
    }

    private func method(_ name: String, on target: Expression, arguments: [Expression], at offset: Int) throws(CELCompileError) -> Expression {
        if let comprehension = Expression.Comprehension(rawValue: name) {
            guard arguments.count == 2, case .identifier(let variable) = arguments[0].kind else {
                throw error("\(name)() takes a variable name and an expression, e.g. list.\(name)(x, x > 0)", at: offset)
            }
            return Expression(.comprehension(comprehension, range: target, variable: variable, body: arguments[1]), at: offset)
        }
        return Expression(.call(function: name, target: target, arguments: arguments), at: offset)
    }

    private mutating func list(until closing: String) throws(CELCompileError) -> [Expression] {
        var items: [Expression] = []
        if accept(closing) { return items }
        while true {
            items.append(try expression())
            if accept(closing) { return items }
            try expect(",", "between items")
            if accept(closing) { return items }
        }
    }

    private mutating func primary() throws(CELCompileError) -> Expression {
        let token = current
        let offset = token.offset
        switch token.kind {
        case .int(let magnitude):
            guard magnitude <= UInt64(Int64.max) else { throw error("integer literal \(magnitude) is out of range", at: offset) }
            position += 1
            return Expression(.literal(.int(Int64(magnitude))), at: offset)
        case .double(let value):
            position += 1
            return Expression(.literal(.double(value)), at: offset)
        case .string(let value):
            position += 1
            return Expression(.literal(.string(value)), at: offset)
        case .identifier(let name):
            position += 1
            switch name {
            case "true": return Expression(.literal(.bool(true)), at: offset)
            case "false": return Expression(.literal(.bool(false)), at: offset)
            case "null": return Expression(.literal(.null), at: offset)
            default: break
            }
            guard !Self.reserved.contains(name) else { throw error("'\(name)' is a reserved word", at: offset) }
            guard accept("(") else { return Expression(.identifier(name), at: offset) }
            let arguments = try list(until: ")")
            if name == "has" {
                guard arguments.count == 1, case .select(let target, let field) = arguments[0].kind else {
                    throw error("has() takes a field selection, e.g. has(jwt.email)", at: offset)
                }
                return Expression(.presence(target, field), at: offset)
            }
            return Expression(.call(function: name, target: nil, arguments: arguments), at: offset)
        case .punctuation("("):
            position += 1
            let inner = try expression()
            try expect(")", "to close '('")
            return inner
        case .punctuation("["):
            position += 1
            return Expression(.list(try list(until: "]")), at: offset)
        case .punctuation("{"):
            position += 1
            var entries: [(key: Expression, value: Expression)] = []
            if accept("}") { return Expression(.map(entries), at: offset) }
            while true {
                let key = try expression()
                try expect(":", "between a map key and its value")
                entries.append((key, try expression()))
                if accept("}") { break }
                try expect(",", "between map entries")
                if accept("}") { break }
            }
            return Expression(.map(entries), at: offset)
        case .punctuation("."):
            throw error("leading '.' (a qualified name from the root) is not supported", at: offset)
        default:
            throw error("expected a value, found \(describe(token))", at: offset)
        }
    }
}
