/// Reads values out of one object's members without decoding the rest.
public enum JSONObjectFields {
    /// Whether `bytes` is one well-formed JSON value (whitespace around it allowed).
    public static func isValidDocument(_ bytes: UnsafeRawBufferPointer) -> Bool {
        var reader = JSONReader(bytes)
        do {
            try reader.skipValue()
            try reader.expectEnd()
            return true
        } catch {
            return false
        }
    }

    /// The string value of `key` in the object at `range` (e.g. `params.name`), nil if absent or
    /// not a string. Malformed input was rejected by whoever scanned the message (`JSONRPC`'s envelope scan); here it
    /// yields nil.
    public static func string(_ key: String, in range: Range<Int>, of bytes: UnsafeRawBufferPointer) -> String? {
        guard let value = value(key, in: range, of: bytes) else { return nil }
        var reader = JSONReader(bytes, range: value)
        return (try? reader.readString()) ?? nil
    }

    /// Every member of the object at `range`: its decoded name and the raw range of its value, in
    /// order. Nil when `range` is not an object.
    public static func members(in range: Range<Int>, of bytes: UnsafeRawBufferPointer) -> [(name: String, value: Range<Int>)]? {
        var reader = JSONReader(bytes, range: range)
        var members: [(name: String, value: Range<Int>)] = []
        do {
            try reader.forEachMember { member, reader throws(JSONError) in members.append((member, try reader.skipValue())) }
        } catch {
            return nil
        }
        return members
    }

    /// The raw ranges of the elements of the array at `range`; nil when it is not an array.
    public static func elements(in range: Range<Int>, of bytes: UnsafeRawBufferPointer) -> [Range<Int>]? {
        var reader = JSONReader(bytes, range: range)
        var elements: [Range<Int>] = []
        do {
            try reader.forEachElement { elements.append($0) }
        } catch {
            return nil
        }
        return elements
    }

    /// The decoded string at `range` (a JSON string literal), nil when it is not one.
    public static func string(at range: Range<Int>, of bytes: UnsafeRawBufferPointer) -> String? {
        var reader = JSONReader(bytes, range: range)
        return (try? reader.readString()) ?? nil
    }

    /// The raw range of `key`'s value in the object at `range`.
    public static func value(_ key: String, in range: Range<Int>, of bytes: UnsafeRawBufferPointer) -> Range<Int>? {
        var key = key
        return key.withUTF8 { key in
            let text = UnsafeRawBufferPointer(rebasing: bytes[range])
            // Most lookups are for a member that is not there: a name can only match where its
            // bytes stand in quotes, or where some name is escaped (a backslash), so when
            // neither is in the text there is nothing to walk (two `memchr`-driven scans).
            guard text.containsQuoted(UnsafeRawBufferPointer(key)) || text.containsByte(UInt8(ascii: "\\")) else { return nil }
            var reader = JSONReader(bytes, range: range)
            return (try? reader.findMember(key)) ?? nil
        }
    }
}
