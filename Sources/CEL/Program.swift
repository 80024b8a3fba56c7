/// A compiled expression of the CEL subset the gateway's policies use.
///
/// Compile once when the configuration loads (syntax and type errors surface then, with the
/// column); evaluate per request. A program is immutable and safe to share across event loops.
///
/// ```swift
/// let rule = try Program.compile(#"jwt.sub == "alice" && mcp.tool.name.startsWith("read_")"#, declarations: declarations)
/// let allowed = try rule.evaluate(activation)   // .bool(true)
/// ```
public struct Program: @unchecked Sendable {
    // The tree is never mutated after checking, and its literals hold no objects: safe to share.
    private let root: Expression
    /// The expression as written.
    public let source: String
    /// The type the checker inferred for the whole expression.
    public let resultType: CELType
    /// The top-level variables it reads (e.g. `["jwt", "mcp"]`).
    public let variables: Set<String>

    /// Parses and type-checks `source` against the declared variables.
    public static func compile(_ source: String, declarations: Declarations) throws(CELCompileError) -> Program {
        var parser = try Parser(source: source)
        let root = try parser.parse()
        var checker = Checker(declarations: declarations, source: source)
        let type = try checker.check(root)
        return Program(root: root, source: source, resultType: type, variables: checker.variablesRead)
    }

    /// Compiles a condition: like ``compile(_:declarations:)``, and the result must be a bool.
    public static func compileCondition(_ source: String, declarations: Declarations) throws(CELCompileError) -> Program {
        let program = try compile(source, declarations: declarations)
        guard program.resultType == .bool || program.resultType == .dyn else {
            throw CELCompileError(column: 1, message: "a rule must be a bool expression, this one is a \(program.resultType)", expression: source)
        }
        return program
    }

    private init(root: Expression, source: String, resultType: CELType, variables: Set<String>) {
        self.root = root
        self.source = source
        self.resultType = resultType
        self.variables = variables
    }

    /// The expression's value for these variables.
    public func evaluate(_ activation: some Activation) throws(CELEvaluationError) -> Value {
        var evaluator = Evaluator(activation: activation)
        return try evaluator.evaluate(root)
    }

    /// True or false for a condition; an error for a non-bool value.
    public func isSatisfied(by activation: some Activation) throws(CELEvaluationError) -> Bool {
        guard case .bool(let value) = try evaluate(activation) else { throw CELEvaluationError("the rule did not produce a bool") }
        return value
    }
}
