/// A parsed expression: one node of the syntax tree, with where it starts in the source.
final class Expression {
    enum Kind {
        case literal(Value)
        case identifier(String)
        /// `target.field`.
        case select(Expression, String)
        /// `has(target.field)`.
        case presence(Expression, String)
        /// `target[key]`.
        case index(Expression, Expression)
        /// A function (`size(x)`) or a method (`x.startsWith(y)`, target set).
        case call(function: String, target: Expression?, arguments: [Expression])
        case list([Expression])
        case map([(key: Expression, value: Expression)])
        case not(Expression)
        case negate(Expression)
        case binary(BinaryOperator, Expression, Expression)
        case and(Expression, Expression)
        case or(Expression, Expression)
        case conditional(Expression, Expression, Expression)
        /// `range.exists(variable, body)` and the other macros over lists and maps.
        case comprehension(Comprehension, range: Expression, variable: String, body: Expression)
    }

    enum BinaryOperator: String {
        case add = "+", subtract = "-", multiply = "*", divide = "/", remainder = "%"
        case equal = "==", notEqual = "!=", less = "<", lessOrEqual = "<=", greater = ">", greaterOrEqual = ">="
        case `in` = "in"
    }

    enum Comprehension: String {
        case all, exists, existsOne = "exists_one", map, filter
    }

    let kind: Kind
    /// UTF-8 offset in the source.
    let offset: Int
    /// A regular expression compiled when the expression was checked (a literal `matches` pattern).
    var compiledPattern: Pattern?

    init(_ kind: Kind, at offset: Int) {
        self.kind = kind
        self.offset = offset
    }
}
