/// Writing JSON text by hand, for the few small objects plugins compose themselves (envelopes,
/// merged lists, errors, rewritten cards). Everything an upstream or a client sent is copied
/// through as bytes. (The JSON-RPC envelopes are `JSONRPC`'s extension of it.)
public enum JSONText {
    /// `value` as a JSON string literal, quotes included.
    public static func quoted(_ value: String) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(value.utf8.count + 2)
        appendQuoted(value, to: &out)
        return String(decoding: out, as: UTF8.self)
    }

    /// Appends `value` as a JSON string literal (quotes included) to `out`, byte by byte.
    public static func appendQuoted(_ value: String, to out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        // Most strings need no escape: then one bulk copy.
        if !value.utf8.contains(where: { $0 < 0x20 || $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: "\\") }) {
            out.append(contentsOf: value.utf8)
            out.append(UInt8(ascii: "\""))
            return
        }
        for byte in value.utf8 {
            switch byte {
            case UInt8(ascii: "\""): out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "\"")])
            case UInt8(ascii: "\\"): out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "\\")])
            case UInt8(ascii: "\n"): out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "n")])
            case UInt8(ascii: "\r"): out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "r")])
            case UInt8(ascii: "\t"): out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "t")])
            case 0..<0x20:
                out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "u"), UInt8(ascii: "0"), UInt8(ascii: "0"),
                                        hexDigits[Int(byte >> 4)], hexDigits[Int(byte & 0xF)]])
            default: out.append(byte)
            }
        }
        out.append(UInt8(ascii: "\""))
    }

    private static let hexDigits = Array("0123456789abcdef".utf8)

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
