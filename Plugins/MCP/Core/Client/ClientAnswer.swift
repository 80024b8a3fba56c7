#if canImport(Glibc)
import Glibc
#endif
import JSON

/// The answers the MCP route writes to clients, era by era: results with the members 2026-07-28
/// requires, pages of merged lists with the gateway's cursors, the federation's description, and
/// the SSE framing of a response that streams.
public enum ClientAnswer {
    /// A target's result for the client: 2026-07-28 adds `resultType` (and, for
    /// `resources/read`, `ttlMs` and `cacheScope`); the handshake era passes it untouched.
    public static func result(_ result: ArraySlice<UInt8>, era: MCPEra, method: String) -> ArraySlice<UInt8> {
        guard era == .modern else { return result }
        var required = [("resultType", "\"complete\"")]
        if method == "resources/read" { required += [("ttlMs", "0"), ("cacheScope", "\"private\"")] }
        return JSONText.addingMembers(required, to: Array(result))[...]
    }

    /// Results up to this size are read for `isError`; a larger one counts as a success (reading it
    /// would be a second pass over every byte of a large result).
    public static let toolErrorScanLimit = 16 * 1024

    /// Whether a tools/call result says `"isError": true`.
    public static func isToolError(_ result: ArraySlice<UInt8>) -> Bool {
        guard result.count <= toolErrorScanLimit else { return false }
        return result.withUnsafeBytes { bytes in
            // A top-level `"isError": true` is an occurrence of the quoted name followed by `true`:
            // without one (the common `false`, or no member) there is no error and no walk.
            guard mayBeTrueIsError(bytes) else { return false }
            guard let range = JSONObjectFields.value("isError", in: 0..<bytes.count, of: bytes) else { return false }
            return range.count == 4 && bytes[range.lowerBound] == UInt8(ascii: "t")
        }
    }

    /// Whether `"isError"` stands anywhere followed by `:` and `true` (whitespace allowed): a
    /// necessary condition for a top-level `isError: true`, found with `memchr` and `memcmp`.
    static func mayBeTrueIsError(_ bytes: UnsafeRawBufferPointer) -> Bool {
        let name: StaticString = "isError", literal: StaticString = "true"
        var found = false
        bytes.forEachQuoted(UnsafeRawBufferPointer(start: name.utf8Start, count: name.utf8CodeUnitCount)) { after in
            // Bounds: `at` is checked against `bytes.count` before each read.
            var at = after
            func skipWhitespace() {
                while at < bytes.count {
                    switch bytes[at] {
                    case 0x20, 0x09, 0x0A, 0x0D: at += 1
                    default: return
                    }
                }
            }
            skipWhitespace()
            guard at < bytes.count, bytes[at] == UInt8(ascii: ":") else { return true }
            at += 1
            skipWhitespace()
            found = at + 4 <= bytes.count && memcmp(bytes.baseAddress! + at, literal.utf8Start, 4) == 0
            return !found
        }
        return found
    }

    /// A result the gateway answers itself (`ping`).
    public static func localResult(_ result: [UInt8], era: MCPEra) -> [UInt8] {
        era == .modern ? JSONText.addingMembers([("resultType", "\"complete\"")], to: result) : result
    }

    /// One page of a merged list: the items the client may see from `offset`, `pageSize` of them
    /// (0: all), with the gateway's `nextCursor` when more follow.
    public static func listPage(_ items: [MergedList.Item], kind: ListKind, offset: Int, pageSize: Int, era: MCPEra) -> [UInt8] {
        let start = min(offset, items.count)
        let end = pageSize == 0 ? items.count : min(items.count, start + pageSize)
        var members: [(String, [UInt8])] = [(kind.arrayKey, JSONText.array(items[start..<end].map(\.json)))]
        if end < items.count { members.append(("nextCursor", Array(JSONText.quoted(ListCursor.encode(offset: end)).utf8))) }
        if era == .modern {
            members += [("ttlMs", Array("0".utf8)), ("cacheScope", Array("\"private\"".utf8)), ("resultType", Array("\"complete\"".utf8))]
        }
        return JSONText.object(members)
    }

    /// The protocol version a handshake-era client gets: the one it asked for when supported,
    /// else the newest.
    public static func handshakeVersion(requested: String?) -> String {
        let requested = requested ?? ""
        return ClientRequestRules.handshakeVersions.contains(requested) ? requested : ClientRequestRules.handshakeVersions.last!
    }

    /// The result of `initialize` (handshake era, at `version`) or `server/discover` (2026-07-28).
    public static func description(_ description: ServerDescription, era: MCPEra, version: String,
                                   serverName: String, serverVersion: String) -> [UInt8] {
        let serverInfo = "{\"name\":\(JSONText.quoted(serverName)),\"version\":\(JSONText.quoted(serverVersion))}"
        var members: [(String, [UInt8])] = []
        if era == .modern {
            members.append(("supportedVersions", Array("[\(ClientRequestRules.modernVersions.map(JSONText.quoted).joined(separator: ","))]".utf8)))
            members.append(("capabilities", description.capabilities))
            members.append(("_meta", Array("{\"io.modelcontextprotocol/serverInfo\":\(serverInfo)}".utf8)))
            members += [("ttlMs", Array("0".utf8)), ("cacheScope", Array("\"private\"".utf8)), ("resultType", Array("\"complete\"".utf8))]
        } else {
            members.append(("protocolVersion", Array(JSONText.quoted(version).utf8)))
            members.append(("capabilities", description.capabilities))
            members.append(("serverInfo", Array(serverInfo.utf8)))
        }
        if let instructions = description.instructions { members.append(("instructions", Array(JSONText.quoted(instructions).utf8))) }
        return JSONText.object(members)
    }

    /// One message as an SSE event of a streamed response.
    public static func sseEvent(_ message: [UInt8]) -> [UInt8] {
        var event = Array("event: message\ndata: ".utf8)
        event.reserveCapacity(event.count + message.count + 2)
        event += message
        event += [0x0A, 0x0A]
        return event
    }

    /// The headers of a streamed response.
    public static let sseHeaders = [HTTPHeaderPair("content-type", "text/event-stream"), HTTPHeaderPair("cache-control", "no-cache"),
                                    HTTPHeaderPair("x-accel-buffering", "no")]

    /// The comment a session's GET stream carries as a heartbeat.
    public static let heartbeat = Array(": heartbeat\n\n".utf8)

    /// The last words of a GET stream whose session ended.
    public static let sessionEnded = Array(": the session ended\n\n".utf8)
}
