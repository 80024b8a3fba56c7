/// A JSON value held as bytes, read lazily: members and elements are ranges into `bytes`.
public struct JSONValue: Sendable {
    public let bytes: [UInt8]
    public let range: Range<Int>

    public init(_ bytes: [UInt8], range: Range<Int>? = nil) {
        self.bytes = bytes
        self.range = range ?? 0..<bytes.count
    }

    /// `bytes` as one JSON value, checked whole (syntax, nesting depth): the error names the byte.
    public static func validated(_ bytes: [UInt8]) throws(JSONError) -> JSONValue {
        let failure: JSONError? = bytes.withUnsafeBytes { buffer -> JSONError? in
            var reader = JSONReader(buffer)
            do throws(JSONError) {
                reader.skipWhitespace()
                _ = try reader.skipValue()
                try reader.expectEnd()
                return nil
            } catch {
                return error
            }
        }
        if let failure { throw failure }
        return JSONValue(bytes)
    }

    public var raw: ArraySlice<UInt8> { bytes[range] }
    public var text: String { String(decoding: raw, as: UTF8.self) }

    /// The object's members, or nil when this is not an object.
    public var members: [(name: String, value: JSONValue)]? {
        bytes.withUnsafeBytes { buffer in
            JSONObjectFields.members(in: trimmed, of: buffer)?.map { ($0.name, JSONValue(bytes, range: $0.value)) }
        }
    }

    /// Whether some member satisfies `predicate`, which gets the member's name as UTF-8 bytes and
    /// its value, in order, until it returns true; nil when this is not an object. No `String` is
    /// made for a name (``members`` makes one per member).
    public func containsMember(where predicate: (UnsafeRawBufferPointer, JSONValue) -> Bool) -> Bool? {
        let bytes = bytes
        return bytes.withUnsafeBytes { buffer -> Bool? in
            var reader = JSONReader(buffer, range: trimmed)
            do {
                return try reader.forEachMemberName { name, reader throws(JSONError) in
                    predicate(name, JSONValue(bytes, range: try reader.skipValue()))
                }
            } catch {
                return nil
            }
        }
    }

    /// Whether this is a JSON string whose decoded text is `text`. A string without escapes is
    /// compared as bytes, with no `String` made.
    public func isString(_ text: String) -> Bool {
        let literal = trimmed
        guard literal.count >= 2, bytes[literal.lowerBound] == UInt8(ascii: "\"") else { return false }
        let inner = bytes[(literal.lowerBound + 1)..<(literal.upperBound - 1)]
        if !inner.contains(UInt8(ascii: "\\")) { return inner.elementsEqual(text.utf8) }
        return bytes.withUnsafeBytes { JSONObjectFields.string(at: literal, of: $0) } == text
    }

    /// The array's elements, or nil when this is not an array.
    public var elements: [JSONValue]? {
        bytes.withUnsafeBytes { buffer in
            JSONObjectFields.elements(in: trimmed, of: buffer)?.map { JSONValue(bytes, range: $0) }
        }
    }

    /// A member's value.
    public subscript(_ name: String) -> JSONValue? {
        bytes.withUnsafeBytes { buffer in
            JSONObjectFields.value(name, in: trimmed, of: buffer).map { JSONValue(bytes, range: $0) }
        }
    }

    /// The decoded string, when this is a string.
    public var string: String? {
        guard raw.first == UInt8(ascii: "\"") else { return nil }
        return bytes.withUnsafeBytes { buffer in
            JSONObjectFields.string(at: trimmed, of: buffer)
        }
    }

    /// The integer, when this is one (an optional `-` and decimal digits that fit in an `Int`;
    /// no fraction or exponent). Read from the bytes, with no `String` made.
    public var int: Int? {
        let digits = trimmed
        guard !digits.isEmpty else { return nil }
        let negative = bytes[digits.lowerBound] == UInt8(ascii: "-")
        let start = negative ? digits.lowerBound + 1 : digits.lowerBound
        guard start < digits.upperBound else { return nil }
        var value = 0
        for index in start..<digits.upperBound {
            let digit = bytes[index] &- UInt8(ascii: "0")
            guard digit < 10 else { return nil }
            // Accumulated negatively so that Int.min fits.
            let (shifted, overflowShift) = value.multipliedReportingOverflow(by: 10)
            let (next, overflowAdd) = shifted.subtractingReportingOverflow(Int(digit))
            guard !overflowShift, !overflowAdd else { return nil }
            value = next
        }
        if negative { return value }
        return value == .min ? nil : -value
    }

    public var isNull: Bool {
        let literal = trimmed
        return literal.count == 4 && bytes[literal].elementsEqual("null".utf8)
    }

    private var trimmed: Range<Int> {
        var lower = range.lowerBound, upper = range.upperBound
        while lower < upper, Self.isSpace(bytes[lower]) { lower += 1 }
        while upper > lower, Self.isSpace(bytes[upper - 1]) { upper -= 1 }
        return lower..<upper
    }

    private static func isSpace(_ byte: UInt8) -> Bool { byte == 0x20 || byte == 0x0A || byte == 0x0D || byte == 0x09 }
}

extension String {
    public var trimmingWhitespace: String {
        var view = Substring(self)
        while let first = view.first, first.isWhitespace { view.removeFirst() }
        while let last = view.last, last.isWhitespace { view.removeLast() }
        return String(view)
    }
}
