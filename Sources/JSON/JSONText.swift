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

    /// Appends `value` as a JSON string literal (quotes included) to `out`.
    public static func appendQuoted(_ value: String, to out: inout [UInt8]) {
        var value = value
        value.withUTF8 { appendQuoted(bytes: UnsafeRawBufferPointer($0), to: &out) }
    }

    /// Appends UTF-8 `bytes` as a JSON string literal (quotes included) to `out`: as they are
    /// when nothing needs an escape, else through `writeQuoted`.
    public static func appendQuoted(bytes: UnsafeRawBufferPointer, to out: inout [UInt8]) {
        guard firstEscape(in: bytes, from: 0) < bytes.count else {
            out.append(UInt8(ascii: "\""))
            out.append(contentsOf: bytes)
            out.append(UInt8(ascii: "\""))
            return
        }
        withUnsafeTemporaryAllocation(byteCount: quotedCapacity(bytes.count), alignment: 1) { room in
            let written = writeQuoted(bytes: bytes, to: room.baseAddress!)
            out.append(contentsOf: UnsafeRawBufferPointer(rebasing: room[..<written]))
        }
    }

    /// The most bytes `writeQuoted` writes for `count` bytes of text (every byte a `\u00XX`).
    @inlinable public static func quotedCapacity(_ count: Int) -> Int { 2 + 6 * count }

    /// Writes UTF-8 `bytes` as a JSON string literal (quotes included) at `out`, which has room
    /// for `quotedCapacity(bytes.count)` bytes; returns how many it wrote. The runs that need no
    /// escape are copied whole.
    public static func writeQuoted(bytes: UnsafeRawBufferPointer, to out: UnsafeMutableRawPointer) -> Int {
        var written = 0
        @inline(__always) func put(_ byte: UInt8) {
            out.storeBytes(of: byte, toByteOffset: written, as: UInt8.self)
            written += 1
        }
        put(UInt8(ascii: "\""))
        var start = 0
        var index = 0
        let count = bytes.count
        while true {
            index = firstEscape(in: bytes, from: index)
            guard index < count else { break }
            let byte = bytes[index]
            if index > start {
                (out + written).copyMemory(from: bytes.baseAddress! + start, byteCount: index - start)
                written += index - start
            }
            put(UInt8(ascii: "\\"))
            switch byte {
            case UInt8(ascii: "\""), UInt8(ascii: "\\"): put(byte)
            case UInt8(ascii: "\n"): put(UInt8(ascii: "n"))
            case UInt8(ascii: "\r"): put(UInt8(ascii: "r"))
            case UInt8(ascii: "\t"): put(UInt8(ascii: "t"))
            default:
                put(UInt8(ascii: "u")); put(UInt8(ascii: "0")); put(UInt8(ascii: "0"))
                put(hexDigit(byte >> 4)); put(hexDigit(byte & 0xF))
            }
            index += 1
            start = index
        }
        if count > start {
            (out + written).copyMemory(from: bytes.baseAddress! + start, byteCount: count - start)
            written += count - start
        }
        put(UInt8(ascii: "\""))
        return written
    }

    /// The index of the first byte at or after `start` that needs an escape (a control
    /// character, `"` or `\\`), or `bytes.count`. Eight bytes at a time while none of them does
    /// (SWAR); a word that may hold one is checked byte by byte.
    private static func firstEscape(in bytes: UnsafeRawBufferPointer, from start: Int) -> Int {
        var index = start
        let count = bytes.count
        while index < count {
            while index + 8 <= count {
                let word = UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: index, as: UInt64.self))
                guard needsEscape(word) == 0 else { break }
                index += 8
            }
            guard index < count else { break }
            let byte = bytes[index]
            if byte < 0x20 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") { return index }
            index += 1
        }
        return count
    }

    /// Nonzero when one of the eight bytes of `word` may be a control character, `"` or `\\`.
    @inline(__always)
    private static func needsEscape(_ word: UInt64) -> UInt64 {
        let ones: UInt64 = 0x0101_0101_0101_0101
        let highs: UInt64 = 0x8080_8080_8080_8080
        let control = (word &- ones &* 0x20) & ~word & highs
        let quote = word ^ (ones &* 0x22)
        let backslash = word ^ (ones &* 0x5C)
        return control | ((quote &- ones) & ~quote & highs) | ((backslash &- ones) & ~backslash & highs)
    }

    private static func hexDigit(_ value: UInt8) -> UInt8 { value < 10 ? UInt8(ascii: "0") + value : UInt8(ascii: "a") + value - 10 }

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
