/// Why an expression did not compile: a syntax error, or a type error found before it ever runs.
///
/// The message names the column (1-based, in characters) so a user can find the spot in a rule.
public struct CELCompileError: Error, CustomStringConvertible, Sendable, Equatable {
    /// 1-based column of the offending token in the expression.
    public var column: Int
    public var message: String
    /// The expression as written.
    public var expression: String

    public var description: String { "column \(column): \(message) in `\(expression)`" }
}

/// Why an evaluation had no value: a missing key or field, a type that does not fit at run time
/// (values of type `dyn`), division by zero, overflow. Policies treat it as "did not match".
public struct CELEvaluationError: Error, CustomStringConvertible, Sendable, Equatable {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
