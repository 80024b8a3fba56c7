// libFuzzer target: the JSON-RPC envelope scanner and the JSON reader on arbitrary bytes — what
// every MCP and A2A message from a client or an upstream goes through first. Beyond not
// crashing: the ranges the scanner returns lie inside the bytes, and a document the validator
// accepts can be walked whole (members, elements, strings). Built by scripts/fuzz.

private func walk(_ value: JSONValue, depth: Int) {
    guard depth < 64 else { return }
    if let members = value.members {
        for member in members { walk(member.value, depth: depth + 1) }
    } else if let elements = value.elements {
        for element in elements { walk(element, depth: depth + 1) }
    } else {
        _ = value.string
        _ = value.int
    }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzJSONRPC(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    if let envelope = try? JSONRPCEnvelope.scan(bytes) {
        for range in [envelope.id, envelope.params, envelope.result, envelope.error].compactMap({ $0 }) {
            precondition(range.lowerBound >= 0 && range.upperBound <= bytes.count, "a range outside the message")
            walk(JSONValue(bytes, range: range), depth: 0)
        }
        _ = envelope.method
    }
    if let value = try? JSONValue.validated(bytes) { walk(value, depth: 0) }
    return 0
}
