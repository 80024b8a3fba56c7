import Foundation

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
