// libFuzzer target: HTTP1Parser on arbitrary bytes, as requests and as responses. Beyond not
// crashing, it checks what the gateway relies on: every part stays inside the bytes given, a
// call consumes no more than it was given, and the same bytes arriving in pieces (split where the
// input says) parse to the same messages as arriving whole. Built by scripts/fuzz.

/// What a byte stream parses to: parts as text, or the error's status.
private func outcome(_ input: [UInt8], role: HTTP1Parser.Role, splits: [Int]) -> [String] {
    var parser = HTTP1Parser(role: role, limits: HTTP1Limits(maxRequestLineBytes: 128, maxHeadBytes: 512, maxFields: 16, maxFieldBytes: 384))
    var buffered: [UInt8] = []
    var fed = 0
    var pieces = splits.makeIterator()
    var out: [String] = []
    var body: [UInt8] = []
    while true {
        let result: Result<(part: HTTP1Parser.Part, consumed: Int), HTTP1Error> = buffered.withUnsafeBytes { bytes in
            Result { () throws(HTTP1Error) in try parser.parse(bytes) }
        }
        let part: HTTP1Parser.Part, consumed: Int
        switch result {
        case .failure(let error):
            return out + ["error \(error.status)"]
        case .success(let step):
            (part, consumed) = step
        }
        precondition(consumed >= 0 && consumed <= buffered.count, "consumed \(consumed) of \(buffered.count)")
        switch part {
        case .needMore:
            if consumed == 0 {
                guard fed < input.count else {
                    if !body.isEmpty { out.append("body \(body.count) \(body.reduce(0) { $0 &* 31 &+ Int($1) })") }
                    return out
                }
                let next = min(input.count, fed + max(1, pieces.next() ?? input.count))
                buffered += input[fed..<next]
                fed = next
            }
        case .head(let head):
            for range in [head.method, head.target] + head.fields.flatMap({ [$0.name, $0.value] }) {
                precondition(range.lowerBound >= 0 && range.upperBound <= consumed, "a head range outside the head")
            }
            out.append("head \(head.status) \(buffered[head.method].count) \(buffered[head.target].count) \(head.fields.count) \(head.framing)")
        case .body(let range):
            precondition(range.lowerBound >= 0 && range.upperBound <= buffered.count && range.upperBound <= consumed, "a body range outside the bytes")
            body += buffered[range]
        case .end:
            if !body.isEmpty { out.append("body \(body.count) \(body.reduce(0) { $0 &* 31 &+ Int($1) })") }
            body = []
            out.append("end")
        }
        buffered.removeFirst(consumed)
    }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzHTTP1(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let input = Array(UnsafeBufferPointer(start: data, count: size))
    // Piece sizes from the input itself, so the fuzzer explores where reads end.
    let splits = input.prefix(8).map { Int($0 % 7) + 1 }
    for role in [HTTP1Parser.Role.request, .response] {
        let whole = outcome(input, role: role, splits: [])
        let pieces = outcome(input, role: role, splits: splits)
        precondition(whole == pieces, "whole \(whole) != in pieces \(pieces)")
    }
    return 0
}
