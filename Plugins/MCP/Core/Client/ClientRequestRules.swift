import Foundation
import JSON

/// What MCP's Streamable HTTP transport requires of a client's request, era by era (spec
/// `basic/transports`, `basic/versioning`): the checks the route makes before anything is routed.
public enum ClientRequestRules {
    public static let modernVersions = ["2026-07-28"]
    public static let handshakeVersions = ["2024-11-05", "2025-03-26", "2025-06-18", "2025-11-25"]

    /// A POST's headers: `Accept` lists both JSON and SSE (or `*/*`), the body is JSON
    /// (`contentType`: the `Content-Type` value's bytes, nil when there is none) and present.
    public static func checkPOST(accept: AcceptHeader, contentType: UnsafeRawBufferPointer?, endOfStream: Bool) -> ClientRefusal? {
        guard accept.allowsAnAnswer else {
            return ClientRefusal(status: 406, id: nil, code: -32600,
                                 message: "Not Acceptable: the Accept header must list application/json and text/event-stream")
        }
        guard let contentType, ByteMatching.hasPrefixIgnoringCase(contentType, "application/json") else {
            return ClientRefusal(status: 415, id: nil, code: -32600, message: "Unsupported Media Type: send Content-Type: application/json")
        }
        if endOfStream { return ClientRefusal(status: 400, id: nil, code: -32700, message: "Parse error: empty body") }
        return nil
    }

    /// The era of a message: 2026-07-28 when its `_meta` names a version or its
    /// `MCP-Protocol-Version` header is not a handshake-era one.
    public static func era(headerVersion: String?, params: JSONValue?) -> MCPEra {
        let metaVersion = params?["_meta"]?["io.modelcontextprotocol/protocolVersion"]?.string
        return metaVersion != nil || (headerVersion.map { !handshakeVersions.contains($0) } ?? false) ? .modern : .handshake
    }

    /// A 2026-07-28 message's checks: a supported version, and headers that repeat the body
    /// (`MCP-Protocol-Version` = `_meta` version, `Mcp-Method`, `Mcp-Name`). `header` reads the
    /// request's headers; `isRequestOrNotification`: answers carry no `_meta`.
    public static func checkModern(header: (String) -> String?, clientID: String, method: String, params: JSONValue?,
                                   isRequestOrNotification: Bool) -> ClientRefusal? {
        let headerVersion = header("mcp-protocol-version")
        let metaVersion = params?["_meta"]?["io.modelcontextprotocol/protocolVersion"]?.string
        let requested = headerVersion ?? metaVersion ?? ""
        guard modernVersions.contains(requested) else {
            let supported = (modernVersions + handshakeVersions.reversed()).map(JSONText.quoted).joined(separator: ",")
            return ClientRefusal(status: 400, id: clientID, code: -32022, message: "Unsupported protocol version: \(requested)",
                                 data: "{\"supported\":[\(supported)],\"requested\":\(JSONText.quoted(requested))}")
        }
        guard isRequestOrNotification else { return nil }
        guard metaVersion == requested else {
            return ClientRefusal(status: 400, id: clientID, code: -32020,
                                 message: "Header mismatch: MCP-Protocol-Version (\(headerVersion ?? "missing")) must equal _meta protocolVersion (\(metaVersion ?? "missing"))")
        }
        guard decodedHeader(header("mcp-method")) == method else {
            return ClientRefusal(status: 400, id: clientID, code: -32020, message: "Header mismatch: Mcp-Method must equal the body's method '\(method)'")
        }
        if let nameKey = nameKey(method) {
            guard decodedHeader(header("mcp-name")) == params?[nameKey]?.string else {
                return ClientRefusal(status: 400, id: clientID, code: -32020, message: "Header mismatch: Mcp-Name must equal params.\(nameKey)")
            }
        }
        return nil
    }

    /// The params member a method routes by, for the `Mcp-Name` check.
    static func nameKey(_ method: String) -> String? {
        switch method {
        case "tools/call", "prompts/get": return "name"
        case "resources/read": return "uri"
        default: return nil
        }
    }

    /// Header values that are not plain ASCII arrive as `=?base64?…?=`.
    static func decodedHeader(_ value: String?) -> String? {
        guard let value, value.hasPrefix("=?base64?"), value.hasSuffix("?="), value.count >= 11 else { return value }
        let encoded = String(value.dropFirst(9).dropLast(2))
        return Data(base64Encoded: encoded).map { String(decoding: $0, as: UTF8.self) }
    }
}


/// The protocol era a client speaks.
public enum MCPEra: Sendable, Equatable {
    /// `initialize` and `Mcp-Session-Id` (2024-11-05 … 2025-11-25).
    case handshake
    /// Stateless, `server/discover`, `_meta` on every request (2026-07-28).
    case modern
}

/// What a request's `Accept` values allow, read value by value from their bytes (no `String`).
public struct AcceptHeader: Sendable {
    private var any = false, json = false, eventStream = false

    public init() {}

    /// Adds one `Accept` value (a header may repeat): a comma-separated list of media ranges,
    /// each maybe with parameters (`;q=0.9`), compared without case.
    public mutating func add(_ value: UnsafeRawBufferPointer) {
        var start = 0
        while start < value.count {
            var end = start
            while end < value.count, value[end] != UInt8(ascii: ",") { end += 1 }
            var typeEnd = start
            while typeEnd < end, value[typeEnd] != UInt8(ascii: ";") { typeEnd += 1 }
            var typeStart = start
            while typeStart < typeEnd, value[typeStart] == 0x20 || value[typeStart] == 0x09 { typeStart += 1 }
            while typeEnd > typeStart, value[typeEnd - 1] == 0x20 || value[typeEnd - 1] == 0x09 { typeEnd -= 1 }
            let type = UnsafeRawBufferPointer(rebasing: value[typeStart..<typeEnd])
            switch type.count {
            case 3: any = any || ByteMatching.equalsIgnoringCase(type, "*/*")
            case 16: json = json || ByteMatching.equalsIgnoringCase(type, "application/json")
            case 17: eventStream = eventStream || ByteMatching.equalsIgnoringCase(type, "text/event-stream")
            default: break
            }
            start = end + 1
        }
    }

    /// Both answer forms (JSON and an SSE stream) may be sent.
    public var allowsAnAnswer: Bool { any || (json && eventStream) }
}
