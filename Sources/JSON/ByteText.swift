#if canImport(Glibc)
import Glibc
#endif

extension UnsafeRawBufferPointer {
    /// Whether these bytes are exactly `text` (case-sensitive): one length test and one `memcmp`.
    /// Comparing with a `String`'s `utf8` view instead goes byte by byte through the view
    /// (~450 instructions for a six-byte name).
    @inlinable
    package func isExactly(_ text: StaticString) -> Bool {
        count == text.utf8CodeUnitCount && (count == 0 || memcmp(baseAddress!, text.utf8Start, count) == 0)
    }
}
