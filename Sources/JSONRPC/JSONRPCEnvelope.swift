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
        var reader = JSONReader(bytes)
        reader.skipWhitespace()
        guard let first = reader.peek() else { throw .invalidJSON("empty message") }
        if first == UInt8(ascii: "[") {
            try reader.skipValue()
            try reader.expectEnd()
            throw .batch
        }
        guard first == UInt8(ascii: "{") else {
            try reader.skipValue()
            try reader.expectEnd()
            throw .notAMessage("a JSON-RPC message must be an object")
        }
        var version: Range<Int>?
        var id: Range<Int>?
        var method: String?
        var params: Range<Int>?
        var result: Range<Int>?
        var error: Range<Int>?
        try reader.forEachMember { key, reader throws(JSONRPCScanError) in
            switch key {
            case "jsonrpc": version = try reader.skipValue()
            case "id": id = try reader.skipValue()
            case "method":
                guard let name = try reader.readString() else {
                    try reader.skipValue() // malformed JSON is reported as such first (-32700)
                    throw .notAMessage("\"method\" must be a string")
                }
                method = name
            case "params": params = try reader.skipValue()
            case "result": result = try reader.skipValue()
            case "error": error = try reader.skipValue()
            default: try reader.skipValue()
            }
        }
        try reader.expectEnd()
        guard let version, reader.text(version) == "\"2.0\"" else { throw .notAMessage("\"jsonrpc\" must be \"2.0\"") }
        if let id {
            let first = bytes[id.lowerBound]
            guard first == UInt8(ascii: "\"") || first == UInt8(ascii: "-") || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(first)
                || reader.text(id) == "null" else { throw .notAMessage("\"id\" must be a string or a number") }
        }
        if let params {
            let first = bytes[params.lowerBound]
            guard first == UInt8(ascii: "{") || first == UInt8(ascii: "[") else { throw .notAMessage("\"params\" must be an object or an array") }
        }
        let kind: Kind
        switch (method, result, error) {
        case (_?, nil, nil): kind = id == nil ? .notification : .request
        case (nil, _?, nil) where id != nil: kind = .result
        case (nil, nil, _?): kind = .error
        default: throw .notAMessage("a message has a method, a result or an error (exactly one)")
        }
        return JSONRPCEnvelope(kind: kind, id: id, method: method, params: params, result: result, error: error)
    }

    /// Reads one message from bytes.
    public static func scan(_ bytes: [UInt8]) throws(JSONRPCScanError) -> JSONRPCEnvelope {
        try bytes.withUnsafeBytes { buffer in Result { () throws(JSONRPCScanError) in try scan(buffer) } }.get()
    }
}

/// Why a message could not be read.
public enum JSONRPCScanError: Error, Equatable, Sendable {
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
        case .batch: return "batches are not supported"
        }
    }

    /// The JSON-RPC error code to answer with.
    public var code: Int {
        if case .invalidJSON = self { return -32700 }
        return -32600
    }
}

/// Reads values out of one object's members without decoding the rest.
public enum JSONObjectFields {
    /// Whether `bytes` is one well-formed JSON value (whitespace around it allowed).
    public static func isValidDocument(_ bytes: UnsafeRawBufferPointer) -> Bool {
        var reader = JSONReader(bytes)
        do {
            try reader.skipValue()
            try reader.expectEnd()
            return true
        } catch {
            return false
        }
    }

    /// The string value of `key` in the object at `range` (e.g. `params.name`), nil if absent or
    /// not a string. Malformed input was rejected by ``JSONRPCEnvelope/scan(_:)`` already; here it
    /// yields nil.
    public static func string(_ key: String, in range: Range<Int>, of bytes: UnsafeRawBufferPointer) -> String? {
        guard let value = value(key, in: range, of: bytes) else { return nil }
        var reader = JSONReader(bytes, range: value)
        return (try? reader.readString()) ?? nil
    }

    /// Every member of the object at `range`: its decoded name and the raw range of its value, in
    /// order. Nil when `range` is not an object.
    public static func members(in range: Range<Int>, of bytes: UnsafeRawBufferPointer) -> [(name: String, value: Range<Int>)]? {
        var reader = JSONReader(bytes, range: range)
        var members: [(name: String, value: Range<Int>)] = []
        do {
            try reader.forEachMember { member, reader throws(JSONRPCScanError) in members.append((member, try reader.skipValue())) }
        } catch {
            return nil
        }
        return members
    }

    /// The raw ranges of the elements of the array at `range`; nil when it is not an array.
    public static func elements(in range: Range<Int>, of bytes: UnsafeRawBufferPointer) -> [Range<Int>]? {
        var reader = JSONReader(bytes, range: range)
        var elements: [Range<Int>] = []
        do {
            try reader.forEachElement { elements.append($0) }
        } catch {
            return nil
        }
        return elements
    }

    /// The decoded string at `range` (a JSON string literal), nil when it is not one.
    public static func string(at range: Range<Int>, of bytes: UnsafeRawBufferPointer) -> String? {
        var reader = JSONReader(bytes, range: range)
        return (try? reader.readString()) ?? nil
    }

    /// The raw range of `key`'s value in the object at `range`.
    public static func value(_ key: String, in range: Range<Int>, of bytes: UnsafeRawBufferPointer) -> Range<Int>? {
        var key = key
        return key.withUTF8 { key in
            var reader = JSONReader(bytes, range: range)
            return (try? reader.findMember(key)) ?? nil
        }
    }
}
