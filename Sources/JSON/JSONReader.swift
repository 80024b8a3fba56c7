#if canImport(Glibc)
import Glibc
#endif

/// A validating cursor over JSON bytes that skips values without building them.
///
/// Checks the grammar (RFC 8259: structure, string escapes, control characters, numbers,
/// literals) but not UTF-8 validity, which decoding repairs. Nesting deeper than `maxDepth` is
/// refused, so hostile input cannot exhaust the stack.
package struct JSONReader {
    let bytes: UnsafeRawBufferPointer
    private(set) var index: Int
    private let end: Int
    package static let maxDepth = 128

    package init(_ bytes: UnsafeRawBufferPointer, range: Range<Int>? = nil) {
        self.bytes = bytes
        self.index = range?.lowerBound ?? 0
        self.end = range?.upperBound ?? bytes.count
    }

    package func peek() -> UInt8? { index < end ? bytes[index] : nil }

    package func text(_ range: Range<Int>) -> String {
        String(decoding: UnsafeRawBufferPointer(rebasing: bytes[range]), as: UTF8.self)
    }

    package mutating func skipWhitespace() {
        while index < end {
            switch bytes[index] {
            case 0x20, 0x09, 0x0A, 0x0D: index += 1
            default: return
            }
        }
    }

    /// Only whitespace may follow.
    package mutating func expectEnd() throws(JSONError) {
        skipWhitespace()
        guard index == end else { throw .syntax("unexpected data after the value at byte \(index)") }
    }

    /// Calls body for each member of the object at the cursor, with its decoded name and the
    /// cursor on the member's value; body must consume the value.
    package mutating func forEachMember(_ body: (String, inout JSONReader) throws(JSONError) -> Void) throws(JSONError) {
        _ = try forEachMemberName { name, reader throws(JSONError) in
            try body(String(decoding: name, as: UTF8.self), &reader)
            return false
        }
    }

    /// Calls body for each member of the object at the cursor with the member's name as UTF-8
    /// bytes (in place; decoded into a temporary only when it has escapes) and the cursor on its
    /// value. Body consumes the value and returns false to go on, or returns true to stop there
    /// (the cursor is then wherever body left it). Returns whether body stopped.
    package mutating func forEachMemberName(_ body: (UnsafeRawBufferPointer, inout JSONReader) throws(JSONError) -> Bool) throws(JSONError) -> Bool {
        skipWhitespace()
        try expect(UInt8(ascii: "{"))
        skipWhitespace()
        if peek() == UInt8(ascii: "}") {
            index += 1
            return false
        }
        while true {
            skipWhitespace()
            guard peek() == UInt8(ascii: "\"") else { throw .syntax("expected a member name at byte \(index)") }
            let nameStart = index
            let hasEscapes = try skipString()
            let nameEnd = index
            skipWhitespace()
            try expect(UInt8(ascii: ":"))
            skipWhitespace()
            let stop: Bool
            if hasEscapes {
                var nameReader = JSONReader(bytes, range: nameStart..<nameEnd)
                var decoded = try nameReader.readString() ?? ""
                var failure: JSONError?
                stop = decoded.withUTF8 { name in
                    do throws(JSONError) { return try body(UnsafeRawBufferPointer(name), &self) } catch { failure = error; return true }
                }
                if let failure { throw failure }
            } else {
                stop = try body(UnsafeRawBufferPointer(rebasing: bytes[(nameStart + 1)..<(nameEnd - 1)]), &self)
            }
            if stop { return true }
            skipWhitespace()
            guard let next = peek() else { throw .syntax("unterminated object") }
            index += 1
            if next == UInt8(ascii: "}") { return false }
            guard next == UInt8(ascii: ",") else { throw .syntax("expected ',' or '}' at byte \(index - 1)") }
        }
    }

    /// The value of the first member named `key` in the object at the cursor, nil when there is
    /// none. Names without escapes are compared as bytes (no `String` is made); the scan stops at
    /// the match, so the members after it are not read.
    package mutating func findMember(_ key: UnsafeBufferPointer<UInt8>) throws(JSONError) -> Range<Int>? {
        var found: Range<Int>?
        _ = try forEachMemberName { name, reader throws(JSONError) in
            let value = try reader.skipValue()
            guard name.count == key.count, key.isEmpty || memcmp(name.baseAddress!, key.baseAddress!, key.count) == 0 else { return false }
            found = value
            return true
        }
        return found
    }

    /// Calls body with the range of each element of the array at the cursor.
    package mutating func forEachElement(_ body: (Range<Int>) -> Void) throws(JSONError) {
        skipWhitespace()
        try expect(UInt8(ascii: "["))
        skipWhitespace()
        if peek() == UInt8(ascii: "]") {
            index += 1
            return
        }
        while true {
            body(try skipValue())
            skipWhitespace()
            guard let next = peek() else { throw .syntax("unterminated array") }
            index += 1
            if next == UInt8(ascii: "]") { return }
            guard next == UInt8(ascii: ",") else { throw .syntax("expected ',' or ']' at byte \(index - 1)") }
        }
    }

    /// Skips one value (after whitespace), checking it; returns its range.
    @discardableResult
    package mutating func skipValue() throws(JSONError) -> Range<Int> {
        skipWhitespace()
        let start = index
        try skipOneValue()
        return start..<index
    }

    /// The string at the cursor, decoded; nil (cursor unmoved) when the value is not a string.
    package mutating func readString() throws(JSONError) -> String? {
        skipWhitespace()
        guard peek() == UInt8(ascii: "\"") else { return nil }
        let start = index
        let hasEscapes = try skipString()
        let contents = (start + 1)..<(index - 1)
        if !hasEscapes { return text(contents) }
        return try Self.unescape(UnsafeRawBufferPointer(rebasing: bytes[contents]))
    }

    // MARK: - private

    private mutating func expect(_ byte: UInt8) throws(JSONError) {
        guard peek() == byte else {
            throw .syntax("expected '\(Character(Unicode.Scalar(byte)))' at byte \(index)")
        }
        index += 1
    }

    /// Skips one value, checking it, in one loop: the open containers are kept on a bit stack
    /// (a set bit is an object), so nesting costs no recursion and no closure per member (the
    /// recursive walk cost ~700 instructions for `{"size": 16}`). A value may sit at most
    /// `maxDepth - 1` containers deep.
    private mutating func skipOneValue() throws(JSONError) {
        var depth = 0
        var objects: (low: UInt64, high: UInt64) = (0, 0)
        while true {
            // A value at the cursor.
            guard depth < Self.maxDepth else { throw .syntax("nesting deeper than \(Self.maxDepth)") }
            guard let byte = peek() else { throw .syntax("expected a value at byte \(index)") }
            switch byte {
            case UInt8(ascii: "\""):
                _ = try skipString()
            case UInt8(ascii: "{"), UInt8(ascii: "["):
                let isObject = byte == UInt8(ascii: "{")
                index += 1
                skipWhitespace()
                if peek() == (isObject ? UInt8(ascii: "}") : UInt8(ascii: "]")) {
                    index += 1  // empty: a whole value
                    break
                }
                if isObject {
                    if depth < 64 { objects.low |= 1 << UInt64(depth) } else { objects.high |= 1 << UInt64(depth - 64) }
                } else {
                    if depth < 64 { objects.low &= ~(1 << UInt64(depth)) } else { objects.high &= ~(1 << UInt64(depth - 64)) }
                }
                depth += 1
                if isObject { try skipMemberName() }
                skipWhitespace()
                continue
            case UInt8(ascii: "t"): try skipLiteral("true")
            case UInt8(ascii: "f"): try skipLiteral("false")
            case UInt8(ascii: "n"): try skipLiteral("null")
            case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): try skipNumber()
            default: throw .syntax("unexpected character at byte \(index)")
            }
            // A value ended: close what it ends, or move to the container's next value.
            while depth > 0 {
                let level = depth - 1
                let inObject = level < 64 ? objects.low & (1 << UInt64(level)) != 0 : objects.high & (1 << UInt64(level - 64)) != 0
                skipWhitespace()
                guard let next = peek() else { throw .syntax(inObject ? "unterminated object" : "unterminated array") }
                index += 1
                if next == (inObject ? UInt8(ascii: "}") : UInt8(ascii: "]")) {
                    depth -= 1
                    continue
                }
                guard next == UInt8(ascii: ",") else {
                    throw .syntax(inObject ? "expected ',' or '}' at byte \(index - 1)" : "expected ',' or ']' at byte \(index - 1)")
                }
                skipWhitespace()
                if inObject { try skipMemberName() }
                skipWhitespace()
                break
            }
            if depth == 0 { return }
        }
    }

    /// `"name"` `:` at the cursor (after whitespace), leaving the cursor before the value.
    @inline(__always)
    private mutating func skipMemberName() throws(JSONError) {
        skipWhitespace()
        guard peek() == UInt8(ascii: "\"") else { throw .syntax("expected a member name at byte \(index)") }
        _ = try skipString()
        skipWhitespace()
        try expect(UInt8(ascii: ":"))
    }

    /// Skips a string at the cursor; returns whether it contains escapes.
    private mutating func skipString() throws(JSONError) -> Bool {
        index += 1  // opening quote
        var hasEscapes = false
        while index < end {
            skipPlainStringBytes()
            guard index < end else { break }
            let byte = bytes[index]
            switch byte {
            case UInt8(ascii: "\""):
                index += 1
                return hasEscapes
            case UInt8(ascii: "\\"):
                hasEscapes = true
                guard index + 1 < end else { throw .syntax("unterminated string") }
                switch bytes[index + 1] {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"), UInt8(ascii: "b"), UInt8(ascii: "f"),
                     UInt8(ascii: "n"), UInt8(ascii: "r"), UInt8(ascii: "t"):
                    index += 2
                case UInt8(ascii: "u"):
                    guard index + 6 <= end, (2..<6).allSatisfy({ Self.hexValue(bytes[index + $0]) != nil }) else {
                        throw .syntax("bad \\u escape at byte \(index)")
                    }
                    index += 6
                default:
                    throw .syntax("bad escape at byte \(index)")
                }
            case 0x00..<0x20:
                throw .syntax("control character in a string at byte \(index)")
            default:
                index += 1
            }
        }
        throw .syntax("unterminated string")
    }

    /// Skips bytes that need no attention inside a string: anything but `"`, `\\` and control
    /// characters: first one word of eight (SWAR: a byte-wise zero test on the XOR'd word; most
    /// strings end there), then sixty-four and sixteen at a time (SIMD compares), then eight,
    /// stopping on the first byte that needs attention. Tool results are mostly
    /// long strings, so this is where a scan spends its time (64 KiB: 18 µs with SWAR alone, 7 µs
    /// with SIMD16, measured on the bench VM); stopping exactly keeps short strings cheap too.
    @inline(__always)
    private mutating func skipPlainStringBytes() {
        let quotes = SIMD16<UInt8>(repeating: 0x22), backslashes = SIMD16<UInt8>(repeating: 0x5C)
        let highBits = SIMD16<UInt8>(repeating: 0xE0), zeros = SIMD16<UInt8>()
        // A control character has none of the top three bits set.
        @inline(__always) func special(_ chunk: SIMD16<UInt8>) -> SIMDMask<SIMD16<Int8>> {
            (chunk .== quotes) .| (chunk .== backslashes) .| ((chunk & highBits) .== zeros)
        }
        // `any` on a mask may become a call to a generic reduction; the mask's 16 bytes as two words
        // are one OR and one test.
        @inline(__always) func isSet(_ mask: SIMDMask<SIMD16<Int8>>) -> Bool {
            let words = unsafeBitCast(mask, to: SIMD2<UInt64>.self)
            return words[0] | words[1] != 0
        }
        let ones: UInt64 = 0x0101_0101_0101_0101
        let highs: UInt64 = 0x8080_8080_8080_8080
        /// Tests the eight bytes at the cursor (SWAR: special bytes flagged in their top bits): stops
        /// on the first special one and returns true, or moves past all eight. The lowest flagged
        /// byte is a real hit (a borrow only flags bytes above one), so the caller then looks at one
        /// byte, not at every byte before it.
        @inline(__always) func stoppedInWord() -> Bool {
            let word = UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: index, as: UInt64.self))
            let quote = word ^ (ones &* 0x22)
            let backslash = word ^ (ones &* 0x5C)
            let flagged = (((quote &- ones) & ~quote) | ((backslash &- ones) & ~backslash) | ((word &- ones &* 0x20) & ~word)) & highs
            guard flagged == 0 else {
                index += flagged.trailingZeroBitCount / 8
                return true
            }
            index += 8
            return false
        }
        // Most names and short values end within their first eight bytes: one word test first.
        if index + 8 <= end, stoppedInWord() { return }
        // Sixty-four bytes per test while nothing is special (one branch, not four), then sixteen.
        while index + 64 <= end {
            let first = special(bytes.loadUnaligned(fromByteOffset: index, as: SIMD16<UInt8>.self))
            let second = special(bytes.loadUnaligned(fromByteOffset: index + 16, as: SIMD16<UInt8>.self))
            let third = special(bytes.loadUnaligned(fromByteOffset: index + 32, as: SIMD16<UInt8>.self))
            let fourth = special(bytes.loadUnaligned(fromByteOffset: index + 48, as: SIMD16<UInt8>.self))
            if isSet(first .| second .| third .| fourth) { break }
            index += 64
        }
        while index + 16 <= end {
            if isSet(special(bytes.loadUnaligned(fromByteOffset: index, as: SIMD16<UInt8>.self))) { break }
            index += 16
        }
        while index + 8 <= end {
            if stoppedInWord() { return }
        }
    }

    private mutating func skipLiteral(_ literal: StaticString) throws(JSONError) {
        let count = literal.utf8CodeUnitCount
        guard index + count <= end,
              UnsafeRawBufferPointer(rebasing: bytes[index..<(index + count)]).elementsEqual(
                UnsafeRawBufferPointer(start: literal.utf8Start, count: count)) else {
            throw .syntax("unexpected character at byte \(index)")
        }
        index += count
    }

    private mutating func skipNumber() throws(JSONError) {
        let start = index
        func digits() -> Int {
            let from = index
            while index < end, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[index]) { index += 1 }
            return index - from
        }
        if peek() == UInt8(ascii: "-") { index += 1 }
        if peek() == UInt8(ascii: "0") {
            index += 1
        } else if digits() == 0 {
            throw .syntax("bad number at byte \(start)")
        }
        if peek() == UInt8(ascii: ".") {
            index += 1
            guard digits() > 0 else { throw .syntax("bad number at byte \(start)") }
        }
        if peek() == UInt8(ascii: "e") || peek() == UInt8(ascii: "E") {
            index += 1
            if peek() == UInt8(ascii: "+") || peek() == UInt8(ascii: "-") { index += 1 }
            guard digits() > 0 else { throw .syntax("bad number at byte \(start)") }
        }
    }

    package static func hexValue(_ byte: UInt8) -> UInt32? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return UInt32(byte - UInt8(ascii: "0"))
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return UInt32(byte - UInt8(ascii: "a") + 10)
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return UInt32(byte - UInt8(ascii: "A") + 10)
        default: return nil
        }
    }

    /// Decodes a string body with escapes (already validated); lone surrogates become U+FFFD.
    package static func unescape(_ raw: UnsafeRawBufferPointer) throws(JSONError) -> String {
        var scalars = String.UnicodeScalarView()
        var utf8: [UInt8] = []
        func flush() {
            if !utf8.isEmpty {
                scalars.append(contentsOf: String(decoding: utf8, as: UTF8.self).unicodeScalars)
                utf8.removeAll(keepingCapacity: true)
            }
        }
        func hex4(_ at: Int) -> UInt32 {
            (0..<4).reduce(0) { $0 << 4 | hexValue(raw[at + $1])! }
        }
        var i = 0
        while i < raw.count {
            let byte = raw[i]
            guard byte == UInt8(ascii: "\\") else {
                utf8.append(byte)
                i += 1
                continue
            }
            let kind = raw[i + 1]
            i += 2
            let simple: UInt8?
            switch kind {
            case UInt8(ascii: "b"): simple = 0x08
            case UInt8(ascii: "f"): simple = 0x0C
            case UInt8(ascii: "n"): simple = 0x0A
            case UInt8(ascii: "r"): simple = 0x0D
            case UInt8(ascii: "t"): simple = 0x09
            case UInt8(ascii: "u"): simple = nil
            default: simple = kind  // " \ /
            }
            if let simple {
                utf8.append(simple)
                continue
            }
            flush()
            var code = hex4(i)
            i += 4
            if (0xD800..<0xDC00).contains(code), i + 6 <= raw.count, raw[i] == UInt8(ascii: "\\"), raw[i + 1] == UInt8(ascii: "u") {
                let low = hex4(i + 2)
                if (0xDC00..<0xE000).contains(low) {
                    code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)
                    i += 6
                }
            }
            scalars.append(Unicode.Scalar(code) ?? "\u{FFFD}")
        }
        flush()
        return String(scalars)
    }
}

/// Why bytes could not be read as the JSON a caller expected.
public enum JSONError: Error, Equatable, Sendable {
    /// Not well-formed JSON.
    case syntax(String)
    /// Well-formed, but not the shape the caller reads (thrown by callers' member visitors).
    case structure(String)

    /// What was wrong, for an error message.
    public var reason: String {
        switch self {
        case .syntax(let reason), .structure(let reason): return reason
        }
    }
}
