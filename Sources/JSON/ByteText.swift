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

    /// Whether `byte` occurs (`memchr`).
    @inlinable
    package func containsByte(_ byte: UInt8) -> Bool {
        guard let base = baseAddress, count > 0 else { return false }
        return memchr(base, Int32(byte), count) != nil
    }

    /// Whether `needle` occurs with a `"` right before and after it (a JSON string's whole text).
    @inlinable
    package func containsQuoted(_ needle: UnsafeRawBufferPointer) -> Bool {
        quotedOccurrences(of: needle, upTo: 1) > 0
    }

    /// How many times `needle` occurs with a `"` right before and after it, counting up to
    /// `limit`. `memchr` finds each candidate first byte, `memcmp` checks the rest. An empty needle
    /// counts as `limit` whenever a quote is present (look closer).
    @inlinable
    package func quotedOccurrences(of needle: UnsafeRawBufferPointer, upTo limit: Int) -> Int {
        guard !needle.isEmpty else { return count >= 2 && containsByte(UInt8(ascii: "\"")) ? limit : 0 }
        var found = 0
        forEachQuoted(needle) { _ in
            found += 1
            return found < limit
        }
        return found
    }

    /// Calls `body` with the offset just past each occurrence of `needle` with a `"` right before
    /// and after it, in order, until `body` returns false. `memchr` finds each candidate first
    /// byte, `memcmp` checks the rest. An empty needle finds nothing.
    @inlinable
    package func forEachQuoted(_ needle: UnsafeRawBufferPointer, _ body: (_ after: Int) -> Bool) {
        guard let base = baseAddress, let needleBase = needle.baseAddress, !needle.isEmpty, needle.count + 2 <= count else { return }
        let first = Int32(needleBase.load(as: UInt8.self))
        var offset = 1
        // Bounds: a candidate at `offset` needs offset - 1 >= 0 and offset + needle.count < count.
        while offset + needle.count < count {
            guard let hit = memchr(base + offset, first, count - needle.count - offset) else { return }
            offset = base.distance(to: UnsafeRawPointer(hit))
            if self[offset - 1] == UInt8(ascii: "\""), self[offset + needle.count] == UInt8(ascii: "\""),
               memcmp(base + offset, needleBase, needle.count) == 0 {
                guard body(offset + needle.count + 1) else { return }
            }
            offset += 1
        }
    }
}

extension Array where Element == UInt8 {
    /// Bytes written by `body` into room for `capacity` of them (it returns how many it wrote).
    /// `init(unsafeUninitializedCapacity:)` allocates through an unspecialized generic path (a
    /// metadata lookup, ~600 instructions per array); a short text is written on the stack instead
    /// and copied into an array allocated the specialized way (~130). A long one (a tool result)
    /// is written in place: one copy of its bytes, never two.
    @inlinable
    package init(writingUpTo capacity: Int, _ body: (UnsafeMutableRawPointer) -> Int) {
        guard capacity > 0 else {
            self = []
            return
        }
        if capacity <= 512 {
            self = withUnsafeTemporaryAllocation(byteCount: capacity, alignment: 1) { room in
                Array(UnsafeRawBufferPointer(start: room.baseAddress!, count: body(room.baseAddress!)))
            }
        } else {
            self.init(unsafeUninitializedCapacity: capacity) { out, initialized in
                initialized = body(UnsafeMutableRawPointer(out.baseAddress!))
            }
        }
    }
}
