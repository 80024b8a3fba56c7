#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The search for the end of a header section (a head, or the trailers after the last chunk):
/// lines ending in CRLF up to an empty one. It remembers where it stopped, so bytes arriving one
/// at a time are each looked at once; a line end that is a bare LF is refused here, before the
/// section is read.
public struct HTTP1Scan: Sendable {
    /// Where the line being searched starts.
    var lineStart = 0
    /// Bytes known to hold no LF beyond `lineStart`'s line.
    var searched = 0
    /// The start line (request or status line) is complete: limits on it no longer apply.
    var firstLineEnded = false

    init(firstLineEnded: Bool = false) { self.firstLineEnded = firstLineEnded }

    /// The index just past the section's empty line, or nil when it is not all in `bytes` yet.
    /// `role` names the start line's kind (nil: trailers, which have none).
    mutating func sectionEnd(_ bytes: UnsafeRawBufferPointer, limits: HTTP1Limits, role: HTTP1Parser.Role?) throws(HTTP1Error) -> Int? {
        guard let base = bytes.baseAddress else { return nil }
        while searched < bytes.count {
            // Bounds: `searched < bytes.count`, so the search covers base[searched..<count] only.
            guard let found = memchr(base + searched, 0x0A, bytes.count - searched) else {
                searched = bytes.count
                break
            }
            let lineFeed = UnsafeRawPointer(found) - base
            guard lineFeed > lineStart, bytes[lineFeed - 1] == 0x0D else {
                throw HTTP1Error(.malformed, "a line ends with a bare LF (CRLF is required)")
            }
            if !firstLineEnded {
                firstLineEnded = true
                if let role, lineFeed + 1 > limits.maxRequestLineBytes { throw Self.startLineTooLong(bytes, role: role, limits: limits) }
            } else if lineFeed - 1 == lineStart {
                return lineFeed + 1
            }
            lineStart = lineFeed + 1
            searched = lineStart
        }
        if !firstLineEnded, let role, bytes.count > limits.maxRequestLineBytes {
            throw Self.startLineTooLong(bytes, role: role, limits: limits)
        }
        if bytes.count > limits.maxHeadBytes {
            throw HTTP1Error(.headersTooLarge, "the header section is longer than \(limits.maxHeadBytes) bytes")
        }
        return nil
    }

    /// 414 when a request's target is what makes its line long, else 400.
    private static func startLineTooLong(_ bytes: UnsafeRawBufferPointer, role: HTTP1Parser.Role, limits: HTTP1Limits) -> HTTP1Error {
        let prefix = bytes.prefix(min(bytes.count, 32))
        if role == .request, let space = prefix.firstIndex(of: 0x20), space > 0,
           prefix[..<space].allSatisfy(HTTP1Characters.isToken) {
            return HTTP1Error(.targetTooLong, "the request target is longer than the request line's \(limits.maxRequestLineBytes) bytes")
        }
        return HTTP1Error(.malformed, "the start line is longer than \(limits.maxRequestLineBytes) bytes")
    }

    static func hexValue(_ byte: UInt8) -> Int? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): Int(byte - UInt8(ascii: "0"))
        case UInt8(ascii: "a")...UInt8(ascii: "f"): Int(byte - UInt8(ascii: "a") + 10)
        case UInt8(ascii: "A")...UInt8(ascii: "F"): Int(byte - UInt8(ascii: "A") + 10)
        default: nil
        }
    }
}

/// The character classes of RFC 9110 and RFC 9112 (the host also checks what plugins hand it
/// with these). Constants, not tables: no lazy global to initialize on each use.
package enum HTTP1Characters {
    /// The next comma-separated element of a list field's value (`value`, a range of `bytes`) at
    /// or after `cursor`, trimmed of spaces and tabs, empty ones skipped; nil after the last.
    /// Moves `cursor` past it (no array).
    package static func nextListElement(_ bytes: UnsafeRawBufferPointer, in value: Range<Int>, at cursor: inout Int) -> Range<Int>? {
        while cursor <= value.upperBound {
            var end = cursor
            while end < value.upperBound, bytes[end] != UInt8(ascii: ",") { end += 1 }
            var lower = cursor, upper = end
            while lower < upper, bytes[lower] == 0x20 || bytes[lower] == 0x09 { lower += 1 }
            while upper > lower, bytes[upper - 1] == 0x20 || bytes[upper - 1] == 0x09 { upper -= 1 }
            cursor = end + 1
            if lower < upper { return lower..<upper }
        }
        return nil
    }

    /// `tchar`: what methods and field names are made of. One bit per ASCII byte: digits,
    /// letters and ``!#$%&'*+-.^_`|~``.
    @inlinable @inline(__always)
    package static func isToken(_ byte: UInt8) -> Bool {
        let low: UInt64 = 0x03FF_6CFA_0000_0000, high: UInt64 = 0x57FF_FFFF_C7FF_FFFE
        return byte < 64 ? (low >> UInt64(byte)) & 1 != 0 : byte < 128 && (high >> UInt64(byte - 64)) & 1 != 0
    }

    /// Whether every byte is a ``isToken(_:)`` byte. A loop, not `allSatisfy(isToken)`: passing
    /// the function as a value calls it per byte instead of inlining it.
    @inlinable
    package static func areToken(_ bytes: UnsafeRawBufferPointer) -> Bool {
        for byte in bytes where !isToken(byte) { return false }
        return true
    }

    /// A byte a field value may hold: VCHAR, obs-text, SP and HTAB (no CR, LF, NUL, DEL or other controls).
    @inlinable @inline(__always)
    package static func isFieldValue(_ byte: UInt8) -> Bool { byte >= 0x20 ? byte != 0x7F : byte == 0x09 }

    /// Whether every byte is a field-value byte (``isFieldValue(_:)``), eight at a time: a word
    /// with no byte below 0x20 and none equal to 0x7F is valid whole (the SWAR tests below are
    /// exact as yes/no answers; bytes of 0x80 and up never match). A word that might hold a
    /// control byte, or HTAB, is checked byte by byte.
    @inlinable
    package static func areFieldValue(_ bytes: UnsafeRawBufferPointer) -> Bool {
        let ones: UInt64 = 0x0101_0101_0101_0101, highs: UInt64 = 0x8080_8080_8080_8080
        var index = 0
        // Bounds: each load reads bytes[index..<index + 8], inside the buffer by the loop's test.
        while index + 8 <= bytes.count {
            let word = bytes.loadUnaligned(fromByteOffset: index, as: UInt64.self)
            let below20 = (word &- ones &* 0x20) & ~word & highs
            let del = word ^ (ones &* 0x7F)
            let hasDEL = (del &- ones) & ~del & highs
            if below20 | hasDEL != 0 {
                for position in index..<(index + 8) where !isFieldValue(bytes[position]) { return false }
            }
            index += 8
        }
        while index < bytes.count {
            if !isFieldValue(bytes[index]) { return false }
            index += 1
        }
        return true
    }

    /// A byte a request target may hold: VCHAR (no spaces, no controls, ASCII only).
    @inlinable @inline(__always)
    package static func isTarget(_ byte: UInt8) -> Bool { byte > 0x20 && byte < 0x7F }
}
