import JSON

/// Writing JSON text by hand, for the few small objects the gateway composes itself (envelopes,
/// merged lists, errors). Everything an upstream or a client sent is copied through as bytes.
public enum JSONText {
    /// `value` as a JSON string literal, quotes included.
    public static func quoted(_ value: String) -> String {
        var out = "\""
        for scalar in value.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20:
                let hex = String(scalar.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }

    /// A JSON-RPC response carrying `result` (raw JSON) for the request with `id` (raw JSON).
    public static func response(id: String, result: some Collection<UInt8>) -> [UInt8] {
        var out = Array("{\"jsonrpc\":\"2.0\",\"id\":\(id),\"result\":".utf8)
        out.reserveCapacity(out.count + result.count + 1)
        out.append(contentsOf: result)
        out.append(UInt8(ascii: "}"))
        return out
    }

    /// A JSON-RPC error response; `data` is raw JSON.
    public static func errorResponse(id: String?, code: Int, message: String, data: String? = nil) -> [UInt8] {
        var error = "{\"code\":\(code),\"message\":\(quoted(message))"
        if let data { error += ",\"data\":\(data)" }
        error += "}"
        return errorResponse(id: id, error: Array(error.utf8))
    }

    /// A JSON-RPC error response carrying an error object (raw JSON) as an upstream sent it.
    public static func errorResponse(id: String?, error: some Collection<UInt8>) -> [UInt8] {
        var out = Array("{\"jsonrpc\":\"2.0\",\"id\":\(id ?? "null"),\"error\":".utf8)
        out.append(contentsOf: error)
        out.append(UInt8(ascii: "}"))
        return out
    }

    /// A request or notification (`id` nil) with raw JSON params.
    public static func request(id: String?, method: String, params: (some Collection<UInt8>)?) -> [UInt8] {
        var out = Array("{\"jsonrpc\":\"2.0\",".utf8)
        if let id { out += Array("\"id\":\(id),".utf8) }
        out += Array("\"method\":\(quoted(method))".utf8)
        if let params {
            out += Array(",\"params\":".utf8)
            out.append(contentsOf: params)
        }
        out.append(UInt8(ascii: "}"))
        return out
    }

    /// `value`'s bytes with the bytes at `range` (a member's value inside it) replaced by `json`.
    public static func replacing(_ range: Range<Int>, in value: JSONValue, with json: String) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(value.range.count + json.utf8.count)
        out += value.bytes[value.range.lowerBound..<range.lowerBound]
        out += json.utf8
        out += value.bytes[range.upperBound..<value.range.upperBound]
        return out
    }

    /// An object built from members whose values are raw JSON, in order.
    public static func object(_ members: [(String, [UInt8])]) -> [UInt8] {
        var out: [UInt8] = [UInt8(ascii: "{")]
        for (index, (name, value)) in members.enumerated() {
            if index > 0 { out.append(UInt8(ascii: ",")) }
            out += Array(quoted(name).utf8)
            out.append(UInt8(ascii: ":"))
            out += value
        }
        out.append(UInt8(ascii: "}"))
        return out
    }

    /// An array of raw JSON values.
    public static func array(_ values: [[UInt8]]) -> [UInt8] {
        var out: [UInt8] = [UInt8(ascii: "[")]
        for (index, value) in values.enumerated() {
            if index > 0 { out.append(UInt8(ascii: ",")) }
            out += value
        }
        out.append(UInt8(ascii: "]"))
        return out
    }

    /// The object `json` with the `missing` members (raw JSON values) added in front when it does
    /// not have them already. Returns `json` unchanged when it is not an object.
    public static func addingMembers(_ missing: [(String, String)], to json: [UInt8]) -> [UInt8] {
        let present = JSONValue(json).members.map { Set($0.map(\.name)) }
        guard let present else { return json }
        let added = missing.filter { !present.contains($0.0) }
        guard !added.isEmpty, let open = json.firstIndex(of: UInt8(ascii: "{")) else { return json }
        var prefix = added.map { "\(quoted($0.0)):\($0.1)" }.joined(separator: ",")
        if present.count > 0 { prefix += "," }
        var out = Array(json[...open])
        out += Array(prefix.utf8)
        out += json[(open + 1)...]
        return out
    }
}

extension Array where Element == UInt8 {
    /// ASCII case-insensitive prefix test (`needle` in lower case).
    public func hasPrefixIgnoringCase(_ needle: StaticString) -> Bool {
        matchesIgnoringCase(needle, at: 0)
    }

    /// ASCII case-insensitive substring test (`needle` in lower case), without allocating.
    public func containsIgnoringCase(_ needle: StaticString) -> Bool {
        let length = needle.utf8CodeUnitCount
        guard length <= count else { return false }
        for start in 0...(count - length) where matchesIgnoringCase(needle, at: start) { return true }
        return false
    }

    private func matchesIgnoringCase(_ needle: StaticString, at start: Int) -> Bool {
        let length = needle.utf8CodeUnitCount
        guard start + length <= count else { return false }
        let pointer = needle.utf8Start
        for offset in 0..<length {
            let byte = self[start + offset]
            let lowered = (byte &- 65) < 26 ? byte | 0x20 : byte
            if lowered != pointer[offset] { return false }
        }
        return true
    }
}
