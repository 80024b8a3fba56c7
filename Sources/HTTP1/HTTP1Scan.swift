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

/// The character classes of RFC 9110 and RFC 9112.
enum HTTP1Characters {
    /// `tchar`: what methods and field names are made of.
    @inline(__always)
    static func isToken(_ byte: UInt8) -> Bool { table[Int(byte)] & 1 != 0 }

    /// A byte a field value may hold: VCHAR, obs-text, SP and HTAB.
    @inline(__always)
    static func isFieldValue(_ byte: UInt8) -> Bool { table[Int(byte)] & 2 != 0 }

    /// A byte a request target may hold: VCHAR (no spaces, no controls, ASCII only).
    @inline(__always)
    static func isTarget(_ byte: UInt8) -> Bool { byte > 0x20 && byte < 0x7F }

    private static let table: [UInt8] = (0..<256).map { value in
        let byte = UInt8(value)
        var flags: UInt8 = 0
        let isAlphaNumeric = (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A)
        if isAlphaNumeric || Array("!#$%&'*+-.^_`|~".utf8).contains(byte) { flags |= 1 }
        if byte == 0x09 || (byte >= 0x20 && byte != 0x7F) { flags |= 2 }
        return flags
    }
}
