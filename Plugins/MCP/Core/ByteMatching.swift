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
