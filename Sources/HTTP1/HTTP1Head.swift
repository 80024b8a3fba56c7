/// A request or response head as the parser found it: ranges into the bytes it was given, so
/// nothing is copied until the caller asks for a field's text.
public struct HTTP1Head: Sendable, Equatable {
    /// Request: the method. Response: the status code's three digits.
    public var method = 0..<0
    /// Request: the request target as sent. Response: the reason phrase.
    public var target = 0..<0
    /// The status code of a response (0 for a request).
    public var status = 0
    /// `HTTP/1.x`: 0 or 1.
    public var minorVersion = 1
    /// Header fields in order; names and values trimmed of surrounding whitespace.
    public var fields: [HTTP1Field] = []
    /// Bytes of field names and values (what `max_request_header_bytes` counts).
    public var fieldBytes = 0
    /// The connection stays open after this message (HTTP/1.1 without `close`, or HTTP/1.0 with
    /// `keep-alive`).
    public var keepAlive = true
    /// How the body is delimited.
    public var framing: HTTP1Framing = .none
    /// The request says `Expect: 100-continue`.
    public var expectsContinue = false
    /// The request carries a `Host` field.
    public var hasHost = false

    public init() {}
}

/// One header field: the ranges of its name and value in the parsed bytes.
public struct HTTP1Field: Sendable, Equatable {
    public var name: Range<Int>
    public var value: Range<Int>

    public init(name: Range<Int>, value: Range<Int>) {
        self.name = name
        self.value = value
    }
}

/// How a message's body ends.
public enum HTTP1Framing: Sendable, Equatable {
    /// No body (a request without `Content-Length` or `Transfer-Encoding`; a response to HEAD,
    /// 1xx, 204, 304).
    case none
    /// Exactly this many bytes.
    case length(Int)
    /// `Transfer-Encoding: chunked`.
    case chunked
    /// A response without framing: the body ends when the connection closes.
    case untilClose
}

/// Why bytes are not a well-formed HTTP/1.1 message, and the status a server answers with.
public struct HTTP1Error: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Kind: Sendable, Equatable {
        /// 400: the message breaks the grammar or its framing is ambiguous.
        case malformed
        /// 414: the request target is longer than the request line may be.
        case targetTooLong
        /// 431: the header section is larger, or has more fields, than allowed.
        case headersTooLarge
        /// 501: a transfer coding the gateway does not decode.
        case unsupportedTransferCoding
        /// 505: an HTTP version other than 1.0 and 1.1.
        case unsupportedVersion
    }

    public let kind: Kind
    /// What is wrong, for the log and the 400's body.
    public let reason: String

    public init(_ kind: Kind, _ reason: String) {
        self.kind = kind
        self.reason = reason
    }

    /// The status a server answers with.
    public var status: Int {
        switch kind {
        case .malformed: 400
        case .targetTooLong: 414
        case .headersTooLarge: 431
        case .unsupportedTransferCoding: 501
        case .unsupportedVersion: 505
        }
    }

    public var description: String { reason }
}

/// What the parser accepts before it answers 414 or 431.
public struct HTTP1Limits: Sendable, Equatable {
    /// Bytes of the request line (method, target, version).
    public var maxRequestLineBytes: Int
    /// Bytes of the whole head (request line, fields, line ends).
    public var maxHeadBytes: Int
    /// Header fields (and trailer fields).
    public var maxFields: Int
    /// Bytes of field names and values, as `max_request_header_bytes` counts them.
    public var maxFieldBytes: Int

    public init(maxRequestLineBytes: Int = 8 * 1024, maxHeadBytes: Int = 80 * 1024, maxFields: Int = 100, maxFieldBytes: Int = 64 * 1024) {
        self.maxRequestLineBytes = maxRequestLineBytes
        self.maxHeadBytes = maxHeadBytes
        self.maxFields = maxFields
        self.maxFieldBytes = maxFieldBytes
    }
}
