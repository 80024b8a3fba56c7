import Foundation

extension Array where Element == UInt8 {
    /// ASCII case-insensitive prefix test (`needle` in lower case).
    public func hasPrefixIgnoringCase(_ needle: StaticString) -> Bool {
        withUnsafeBytes { ByteMatching.hasPrefixIgnoringCase($0, needle) }
    }

    /// ASCII case-insensitive substring test (`needle` in lower case), without allocating.
    public func containsIgnoringCase(_ needle: StaticString) -> Bool {
        withUnsafeBytes { ByteMatching.containsIgnoringCase($0, needle) }
    }

    /// Exact substring test, without allocating: `memchr` finds each candidate first byte and
    /// `memcmp` checks the rest (glibc's `memmem` is a GNU extension Swift does not import).
    public func contains(_ needle: StaticString) -> Bool {
        let length = needle.utf8CodeUnitCount
        guard length > 0 else { return true }
        return withUnsafeBytes { haystack in
            guard let base = haystack.baseAddress, haystack.count >= length else { return false }
            let first = Int32(needle.utf8Start.pointee)
            var offset = 0
            while offset + length <= haystack.count {
                guard let found = memchr(base + offset, first, haystack.count - length + 1 - offset) else { return false }
                offset = base.distance(to: UnsafeRawPointer(found))
                if memcmp(base + offset, needle.utf8Start, length) == 0 { return true }
                offset += 1
            }
            return false
        }
    }
}

extension String {
    /// ASCII case-insensitive prefix test of the UTF-8 bytes (`needle` in lower case), in place.
    public func hasPrefixIgnoringCase(_ needle: StaticString) -> Bool {
        var text = self
        return text.withUTF8 { ByteMatching.hasPrefixIgnoringCase(UnsafeRawBufferPointer($0), needle) }
    }

    /// ASCII case-insensitive substring test of the UTF-8 bytes (`needle` in lower case), in place.
    public func containsIgnoringCase(_ needle: StaticString) -> Bool {
        var text = self
        return text.withUTF8 { ByteMatching.containsIgnoringCase(UnsafeRawBufferPointer($0), needle) }
    }
}

/// The byte loops behind the matching helpers: a candidate must match the needle's first byte
/// before the rest is compared.
enum ByteMatching {
    static func hasPrefixIgnoringCase(_ bytes: UnsafeRawBufferPointer, _ needle: StaticString) -> Bool {
        matchesIgnoringCase(bytes, needle, at: 0)
    }

    static func equalsIgnoringCase(_ bytes: UnsafeRawBufferPointer, _ needle: StaticString) -> Bool {
        bytes.count == needle.utf8CodeUnitCount && matchesIgnoringCase(bytes, needle, at: 0)
    }

    static func containsIgnoringCase(_ bytes: UnsafeRawBufferPointer, _ needle: StaticString) -> Bool {
        let length = needle.utf8CodeUnitCount
        guard length > 0 else { return true }
        guard length <= bytes.count else { return false }
        let first = needle.utf8Start.pointee
        for start in 0...(bytes.count - length) where lowered(bytes[start]) == first && matchesIgnoringCase(bytes, needle, at: start) {
            return true
        }
        return false
    }

    private static func matchesIgnoringCase(_ bytes: UnsafeRawBufferPointer, _ needle: StaticString, at start: Int) -> Bool {
        let length = needle.utf8CodeUnitCount
        guard start + length <= bytes.count else { return false }
        let pointer = needle.utf8Start
        // Header values mostly come in lower case already: one `memcmp` decides those.
        // Bounds: start + length <= bytes.count (checked above), so bytes.baseAddress is not nil when length > 0.
        if length > 0, memcmp(bytes.baseAddress! + start, pointer, length) == 0 { return true }
        for offset in 0..<length where lowered(bytes[start + offset]) != pointer[offset] { return false }
        return true
    }

    @inline(__always)
    private static func lowered(_ byte: UInt8) -> UInt8 { (byte &- 65) < 26 ? byte | 0x20 : byte }
}
