#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Reads one complete head (its end found by ``HTTP1Scan``): the start line, each field, and
/// what the framing fields say, checked against each other.
struct HTTP1HeadReader {
    let bytes: UnsafeRawBufferPointer
    /// Just past the empty line that ends the head.
    let end: Int
    let role: HTTP1Parser.Role
    let limits: HTTP1Limits

    func read() throws(HTTP1Error) -> HTTP1Head {
        var head = HTTP1Head()
        var index = try readStartLine(into: &head)
        head.fields.reserveCapacity(16)
        var contentLength: Int?
        var transferCodings: [Range<Int>] = []
        var connectionClose = false
        var connectionKeepAlive = false
        while true {
            // The line's CR is at `lineEnd`; the scan checked every line ends in CRLF.
            let lineEnd = lineCR(from: index)
            if lineEnd == index { break } // the empty line
            let field = try readField(from: index, to: lineEnd)
            head.fields.append(field)
            guard head.fields.count <= limits.maxFields else {
                throw HTTP1Error(.headersTooLarge, "more than \(limits.maxFields) header fields")
            }
            head.fieldBytes += field.name.count + field.value.count
            guard head.fieldBytes <= limits.maxFieldBytes else {
                throw HTTP1Error(.headersTooLarge, "the header fields are larger than \(limits.maxFieldBytes) bytes")
            }
            switch field.name.count {
            case 4 where equalsLowercase(field.name, "host"):
                guard !head.hasHost else { throw HTTP1Error(.malformed, "two Host fields") }
                head.hasHost = true
            case 6 where equalsLowercase(field.name, "expect"):
                head.expectsContinue = equalsLowercase(field.value, "100-continue")
            case 10 where equalsLowercase(field.name, "connection"):
                var cursor = field.value.lowerBound
                while let token = nextElement(of: field.value, at: &cursor) {
                    if equalsLowercase(token, "close") { connectionClose = true }
                    if equalsLowercase(token, "keep-alive") { connectionKeepAlive = true }
                }
            case 14 where equalsLowercase(field.name, "content-length"):
                var cursor = field.value.lowerBound
                while let element = nextElement(of: field.value, at: &cursor) {
                    let value = try decimal(element)
                    guard contentLength == nil || contentLength == value else {
                        throw HTTP1Error(.malformed, "Content-Length values disagree")
                    }
                    contentLength = value
                }
                if contentLength == nil { throw HTTP1Error(.malformed, "an empty Content-Length") }
            case 17 where equalsLowercase(field.name, "transfer-encoding"):
                transferCodings += list(field.value)
            default:
                break
            }
            index = lineEnd + 2
        }
        head.keepAlive = head.minorVersion == 1 ? !connectionClose : (connectionKeepAlive && !connectionClose)
        if role == .request, head.minorVersion == 1, !head.hasHost {
            throw HTTP1Error(.malformed, "an HTTP/1.1 request without a Host field")
        }
        head.framing = try framing(transferCodings: transferCodings, contentLength: contentLength, head: &head)
        return head
    }

    /// RFC 9112 §6.3, the request rules strict: a request whose length two parsers could read
    /// differently is refused.
    private func framing(transferCodings: [Range<Int>], contentLength: Int?, head: inout HTTP1Head) throws(HTTP1Error) -> HTTP1Framing {
        if !transferCodings.isEmpty {
            guard contentLength == nil else { throw HTTP1Error(.malformed, "both Transfer-Encoding and Content-Length") }
            if role == .request, head.minorVersion == 0 {
                throw HTTP1Error(.malformed, "Transfer-Encoding in an HTTP/1.0 request")
            }
            let chunked = transferCodings.filter { equalsLowercase($0, "chunked") }.count
            guard chunked <= 1 else { throw HTTP1Error(.malformed, "chunked is applied twice") }
            let last = transferCodings[transferCodings.count - 1]
            guard equalsLowercase(last, "chunked") else {
                if role == .request { throw HTTP1Error(.malformed, "Transfer-Encoding does not end with chunked") }
                head.keepAlive = false
                return .untilClose
            }
            guard transferCodings.count == 1 else {
                throw HTTP1Error(.unsupportedTransferCoding, "a transfer coding other than chunked")
            }
            return .chunked
        }
        if let contentLength { return contentLength == 0 ? .none : .length(contentLength) }
        if role == .request { return .none }
        head.keepAlive = false
        return .untilClose
    }

    // MARK: - Lines

    /// `method SP target SP HTTP/1.x CRLF`, or `HTTP/1.x SP code [SP reason] CRLF`; the index
    /// after it.
    private func readStartLine(into head: inout HTTP1Head) throws(HTTP1Error) -> Int {
        let lineEnd = lineCR(from: 0)
        switch role {
        case .request:
            var index = 0
            while index < lineEnd, HTTP1Characters.isToken(bytes[index]) { index += 1 }
            guard index > 0, index < lineEnd, bytes[index] == 0x20 else { throw HTTP1Error(.malformed, "the request line has no valid method") }
            head.method = 0..<index
            index += 1
            let targetStart = index
            while index < lineEnd, HTTP1Characters.isTarget(bytes[index]) { index += 1 }
            guard index > targetStart, index < lineEnd, bytes[index] == 0x20 else {
                throw HTTP1Error(.malformed, "the request target is missing or holds a character it may not")
            }
            head.target = targetStart..<index
            head.minorVersion = try version(at: index + 1, lineEnd: lineEnd)
            guard index + 1 + 8 == lineEnd else { throw HTTP1Error(.malformed, "the request line goes on after its version") }
        case .response:
            head.minorVersion = try version(at: 0, lineEnd: lineEnd)
            let code = 9
            guard lineEnd >= code + 3, bytes[8] == 0x20,
                  (code..<code + 3).allSatisfy({ bytes[$0] >= 0x30 && bytes[$0] <= 0x39 }) else {
                throw HTTP1Error(.malformed, "the status line has no three-digit status code")
            }
            head.method = code..<code + 3
            head.status = (code..<code + 3).reduce(0) { $0 * 10 + Int(bytes[$1] - 0x30) }
            guard head.status >= 100 else { throw HTTP1Error(.malformed, "a status code below 100") }
            if lineEnd > code + 3 {
                guard bytes[code + 3] == 0x20 else { throw HTTP1Error(.malformed, "the status code is not followed by a space") }
                for index in (code + 4)..<lineEnd where !HTTP1Characters.isFieldValue(bytes[index]) {
                    throw HTTP1Error(.malformed, "the reason phrase holds a control character")
                }
                head.target = (code + 4)..<lineEnd
            } else {
                head.target = lineEnd..<lineEnd
            }
        }
        return lineEnd + 2
    }

    /// `HTTP/1.0` or `HTTP/1.1` at `index`; 505 for other versions.
    private func version(at index: Int, lineEnd: Int) throws(HTTP1Error) -> Int {
        guard index + 8 <= lineEnd, bytes[index] == UInt8(ascii: "H"), bytes[index + 1] == UInt8(ascii: "T"),
              bytes[index + 2] == UInt8(ascii: "T"), bytes[index + 3] == UInt8(ascii: "P"), bytes[index + 4] == UInt8(ascii: "/"),
              bytes[index + 6] == UInt8(ascii: "."),
              let major = HTTP1Scan.hexValue(bytes[index + 5]), major < 10, let minor = HTTP1Scan.hexValue(bytes[index + 7]), minor < 10 else {
            throw HTTP1Error(.malformed, "no HTTP version where the start line needs one")
        }
        guard major == 1, minor <= 1 else { throw HTTP1Error(.unsupportedVersion, "HTTP/\(major).\(minor) is not supported (HTTP/1.0 and 1.1 are)") }
        return minor
    }

    /// `name ":" OWS value OWS` between `start` and the line's CR.
    private func readField(from start: Int, to lineEnd: Int) throws(HTTP1Error) -> HTTP1Field {
        var index = start
        while index < lineEnd, HTTP1Characters.isToken(bytes[index]) { index += 1 }
        guard index < lineEnd, bytes[index] == UInt8(ascii: ":") else {
            if index == start, bytes[start] == 0x20 || bytes[start] == 0x09 {
                throw HTTP1Error(.malformed, "a field line starts with whitespace (obsolete line folding)")
            }
            throw HTTP1Error(.malformed, "a field line has no valid name followed by a colon")
        }
        guard index > start else { throw HTTP1Error(.malformed, "a field line has an empty name") }
        let name = start..<index
        index += 1
        while index < lineEnd, bytes[index] == 0x20 || bytes[index] == 0x09 { index += 1 }
        var valueEnd = lineEnd
        while valueEnd > index, bytes[valueEnd - 1] == 0x20 || bytes[valueEnd - 1] == 0x09 { valueEnd -= 1 }
        guard HTTP1Characters.areFieldValue(UnsafeRawBufferPointer(rebasing: bytes[index..<valueEnd])) else {
            throw HTTP1Error(.malformed, "a field value holds a control character")
        }
        return HTTP1Field(name: name, value: index..<valueEnd)
    }

    /// Trailer fields are checked like header fields and then dropped (no filter reads them).
    static func checkTrailers(_ bytes: UnsafeRawBufferPointer, end: Int, limits: HTTP1Limits) throws(HTTP1Error) {
        let reader = HTTP1HeadReader(bytes: bytes, end: end, role: .request, limits: limits)
        var index = 0
        var count = 0
        while true {
            let lineEnd = reader.lineCR(from: index)
            if lineEnd == index { return }
            _ = try reader.readField(from: index, to: lineEnd)
            count += 1
            guard count <= limits.maxFields else { throw HTTP1Error(.headersTooLarge, "more than \(limits.maxFields) trailer fields") }
            index = lineEnd + 2
        }
    }

    /// The CR of the line starting at `index` (the scan guarantees every LF has its CR, and
    /// that an empty line comes before `end`).
    private func lineCR(from index: Int) -> Int {
        // Bounds: `index < end <= bytes.count`: the search covers base[index..<end] only.
        guard let base = bytes.baseAddress, index < end, let found = memchr(base + index, 0x0A, end - index) else { return end - 1 }
        return UnsafeRawPointer(found) - base - 1
    }

    // MARK: - Values

    /// The next element of a list field at or after `cursor` (``HTTP1Characters/nextListElement(_:in:at:)``).
    private func nextElement(of value: Range<Int>, at cursor: inout Int) -> Range<Int>? {
        HTTP1Characters.nextListElement(bytes, in: value, at: &cursor)
    }

    /// The comma-separated elements of a list field, trimmed, empty ones skipped.
    private func list(_ value: Range<Int>) -> [Range<Int>] {
        var elements: [Range<Int>] = []
        var cursor = value.lowerBound
        while let element = nextElement(of: value, at: &cursor) { elements.append(element) }
        return elements
    }

    private func decimal(_ range: Range<Int>) throws(HTTP1Error) -> Int {
        guard !range.isEmpty, range.count <= 18 else { throw HTTP1Error(.malformed, "a Content-Length is not a length") }
        var value = 0
        for index in range {
            let byte = bytes[index]
            guard byte >= 0x30, byte <= 0x39 else { throw HTTP1Error(.malformed, "a Content-Length is not a decimal number") }
            value = value * 10 + Int(byte - 0x30)
        }
        return value
    }

    /// Whether the bytes at `range` are `lowercase`, ignoring ASCII case.
    private func equalsLowercase(_ range: Range<Int>, _ lowercase: StaticString) -> Bool {
        guard range.count == lowercase.utf8CodeUnitCount else { return false }
        let expected = lowercase.utf8Start
        for offset in 0..<range.count {
            let byte = bytes[range.lowerBound + offset]
            if (byte >= 0x41 && byte <= 0x5A ? byte | 0x20 : byte) != expected[offset] { return false }
        }
        return true
    }
}
