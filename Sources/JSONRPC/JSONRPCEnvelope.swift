import JSON

/// A JSON-RPC 2.0 message read once, only as far as routing needs: its kind, id, method and the
/// byte ranges of `params`, `result` and `error`. Everything else stays unparsed in the original
/// bytes, so a gateway can route `tools/call echo` and forward the rest untouched.
///
/// Ranges index the buffer given to ``JSONRPCEnvelope/scan(_:)``.
public struct JSONRPCEnvelope: Sendable, Equatable {
    public enum Kind: Sendable, Equatable {
        case request, notification, result, error
    }

    public var kind: Kind
    /// The id's JSON text (`7`, `"abc"`); nil for notifications.
    public var id: Range<Int>?
    public var method: String?
    public var params: Range<Int>?
    public var result: Range<Int>?
    public var error: Range<Int>?

    /// Reads one message. Throws for malformed JSON (answer -32700) and for JSON that is not a
    /// single JSON-RPC 2.0 message (answer -32600; a batch is reported as ``JSONRPCScanError/batch``).
    public static func scan(_ bytes: UnsafeRawBufferPointer) throws(JSONRPCScanError) -> JSONRPCEnvelope {
        do {
            return try read(bytes)
        } catch {
            throw JSONRPCScanError(error)
        }
    }

    /// The grammar of one message; `structure` errors are JSON that is not a message.
    private static func read(_ bytes: UnsafeRawBufferPointer) throws(JSONError) -> JSONRPCEnvelope {
        var reader = JSONReader(bytes)
        reader.skipWhitespace()
        guard let first = reader.peek() else { throw .syntax("empty message") }
        if first == UInt8(ascii: "[") {
            try reader.skipValue()
            try reader.expectEnd()
            throw .structure(Self.batchReason)
        }
        guard first == UInt8(ascii: "{") else {
            try reader.skipValue()
            try reader.expectEnd()
            throw .structure("a JSON-RPC message must be an object")
        }
        var version: Range<Int>?
        var id: Range<Int>?
        var method: String?
        var params: Range<Int>?
        var result: Range<Int>?
        var error: Range<Int>?
        _ = try reader.forEachMemberName { key, reader throws(JSONError) in
            switch Member(key) {
            case .jsonrpc: version = try reader.skipValue()
            case .id: id = try reader.skipValue()
            case .method:
                guard let name = try reader.readString() else {
                    try reader.skipValue() // malformed JSON is reported as such first (-32700)
                    throw .structure("\"method\" must be a string")
                }
                method = name
            case .params: params = try reader.skipValue()
            case .result: result = try reader.skipValue()
            case .error: error = try reader.skipValue()
            case nil: try reader.skipValue()
            }
            return false
        }
        try reader.expectEnd()
        guard let version, Self.bytes(version, of: bytes, are: "\"2.0\"") else { throw .structure("\"jsonrpc\" must be \"2.0\"") }
        if let id {
            let first = bytes[id.lowerBound]
            guard first == UInt8(ascii: "\"") || first == UInt8(ascii: "-") || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(first)
                || Self.bytes(id, of: bytes, are: "null") else { throw .structure("\"id\" must be a string or a number") }
        }
        if let params {
            let first = bytes[params.lowerBound]
            guard first == UInt8(ascii: "{") || first == UInt8(ascii: "[") else { throw .structure("\"params\" must be an object or an array") }
        }
        let kind: Kind
        switch (method, result, error) {
        case (_?, nil, nil): kind = id == nil ? .notification : .request
        case (nil, _?, nil) where id != nil: kind = .result
        case (nil, nil, _?): kind = .error
        default: throw .structure("a message has a method, a result or an error (exactly one)")
        }
        return JSONRPCEnvelope(kind: kind, id: id, method: method, params: params, result: result, error: error)
    }

    /// The members routing reads, recognized from a name's bytes (no `String` per name).
    private enum Member {
        case jsonrpc, id, method, params, result, error

        init?(_ name: UnsafeRawBufferPointer) {
            switch name.count {
            case 2 where name.isExactly("id"): self = .id
            case 5 where name.isExactly("error"): self = .error
            case 6 where name.isExactly("method"): self = .method
            case 6 where name.isExactly("params"): self = .params
            case 6 where name.isExactly("result"): self = .result
            case 7 where name.isExactly("jsonrpc"): self = .jsonrpc
            default: return nil
            }
        }
    }

    private static func bytes(_ range: Range<Int>, of bytes: UnsafeRawBufferPointer, are text: StaticString) -> Bool {
        UnsafeRawBufferPointer(rebasing: bytes[range]).isExactly(text)
    }

    static let batchReason = "batches are not supported"

    /// Reads one message from bytes.
    public static func scan(_ bytes: [UInt8]) throws(JSONRPCScanError) -> JSONRPCEnvelope {
        try bytes.withUnsafeBytes { buffer in Result { () throws(JSONRPCScanError) in try scan(buffer) } }.get()
    }
}

/// Why a message could not be read.
extension JSONRPCEnvelope {
    /// A raw JSON id as the OpenTelemetry conventions write it (`jsonrpc.request.id`): a string
    /// id's text, a number's digits.
    public static func idText(_ json: String) -> String {
        guard json.utf8.first == UInt8(ascii: "\"") else { return json }
        return JSONValue(Array(json.utf8)).string ?? json
    }
}

public enum JSONRPCScanError: Error, Equatable, Sendable {
    init(_ error: JSONError) {
        switch error {
        case .syntax(let reason): self = .invalidJSON(reason)
        case .structure(let reason): self = reason == JSONRPCEnvelope.batchReason ? .batch : .notAMessage(reason)
        }
    }

    /// Not JSON at all (JSON-RPC -32700, "Parse error").
    case invalidJSON(String)
    /// JSON, but not a JSON-RPC 2.0 message (-32600, "Invalid Request").
    case notAMessage(String)
    /// A JSON array of messages; MCP since 2025-06-18 does not allow batches (-32600).
    case batch

    /// What was wrong, for an error message.
    public var reason: String {
        switch self {
        case .invalidJSON(let reason), .notAMessage(let reason): return reason
        case .batch: return JSONRPCEnvelope.batchReason
        }
    }

    /// The JSON-RPC error code to answer with.
    public var code: Int {
        if case .invalidJSON = self { return -32700 }
        return -32600
    }
}
