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

    /// The integer, when this is one.
    public var int: Int? { Int(text.trimmingWhitespace) }
    public var isNull: Bool { text.trimmingWhitespace == "null" }

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
