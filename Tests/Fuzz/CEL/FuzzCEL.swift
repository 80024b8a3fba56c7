// libFuzzer target: the CEL lexer, parser and type checker (RBAC rules, rate-limit keys,
// annotations) on arbitrary text, against the variables the policies declare, and evaluation of
// what compiles against an empty activation. Beyond not crashing: an error's column is inside
// the text. Built by scripts/fuzz.

private struct NoVariables: Activation {
    func value(of variable: String) -> Value? { nil }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzCEL(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let text = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
    let declarations = Declarations([
        "request": .object(name: "request", fields: ["method": .string, "path": .string, "headers": .map(.string)]),
        "jwt": .map(.dyn), "mcp": .map(.dyn), "n": .int, "s": .string, "l": .list(.int),
    ])
    do {
        let program = try Program.compile(text, declarations: declarations)
        _ = try? program.evaluate(NoVariables())
    } catch {
        precondition(error.column >= 0 && error.column <= text.utf8.count + 1, "an error at column \(error.column) of \(text.utf8.count)")
    }
    return 0
}
