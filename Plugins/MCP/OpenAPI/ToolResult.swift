import Foundation
import JSON

/// An API's answer as an MCP tool result (the `result` object of `tools/call`):
/// - 2xx JSON: the JSON as text, and as `structuredContent` (an object as it is; anything else,
///   or whatever the tool's output schema wraps, as `{"result": …}`);
/// - 2xx text (or no content type, valid UTF-8): the text; an empty body: a line saying so;
/// - 2xx anything else: an embedded resource (the request URL, the media type, base64 bytes);
/// - any other status: `isError: true` with the status and the body's first 4 KiB.
public enum ToolResult {
    public static let errorBodyLimit = 4096

    public static func answer(_ tool: OpenAPITool, status: Int, contentType: String?, body: [UInt8], url: String) -> [UInt8] {
        let mediaType = contentType.map(Self.mediaType) ?? ""
        guard (200..<300).contains(status) else {
            var text = "\(tool.label) answered HTTP \(status)" + (reasons[status].map { " \($0)" } ?? "")
            if !body.isEmpty {
                let shown = String(decoding: body.prefix(errorBodyLimit), as: UTF8.self)
                text += ": " + shown + (body.count > errorBodyLimit ? " … (\(body.count) bytes)" : "")
            }
            return error(text)
        }
        if body.isEmpty {
            return content([text("HTTP \(status)" + (reasons[status].map { " \($0)" } ?? "") + " (no content)")], structured: nil)
        }
        if ToolBuilder.isJSON(mediaType) || mediaType.isEmpty, let json = try? JSONValue.validated(body) {
            let isObject = json.raw.first(where: { ![0x20, 0x0A, 0x0D, 0x09].contains($0) }) == UInt8(ascii: "{")
            return jsonContent(body, structured: tool.wrapsResult || (!isObject && tool.hasOutputSchema) ? .wrapped : (isObject ? .asIs : .none))
        }
        let isText = mediaType.hasPrefix("text/") || mediaType.hasSuffix("+xml") || mediaType == "application/xml"
            || (mediaType.isEmpty && String(validating: body, as: UTF8.self) != nil)
        if isText {
            return content([text(String(decoding: body, as: UTF8.self))], structured: nil)
        }
        let resource = JSONText.object([
            ("uri", Array(JSONText.quoted(url).utf8)),
            ("mimeType", Array(JSONText.quoted(mediaType.isEmpty ? "application/octet-stream" : mediaType).utf8)),
            ("blob", Array(JSONText.quoted(Data(body).base64EncodedString()).utf8)),
        ])
        return content([JSONText.object([("type", Array("\"resource\"".utf8)), ("resource", resource)])], structured: nil)
    }

    /// `{"content":[{"type":"text","text":"<json>"}],"structuredContent":<json>,"isError":false}`
    /// written into one buffer: the body is copied twice (as text, escaped, and as itself) and
    /// nothing else is.
    private static func jsonContent(_ json: [UInt8], structured: Structured) -> [UInt8] {
        let head = Array(#"{"content":[{"type":"text","text":"#.utf8)
        var out: [UInt8] = []
        out.reserveCapacity(head.count + 2 * json.count + json.count / 4 + 64)  // both copies, and room for escapes
        out += head
        json.withUnsafeBytes { JSONText.appendQuoted(bytes: $0, to: &out) }
        out += "}]".utf8
        switch structured {
        case .none: break
        case .asIs:
            out += #","structuredContent":"#.utf8
            out += json
        case .wrapped:
            out += #","structuredContent":{"result":"#.utf8
            out += json
            out.append(UInt8(ascii: "}"))
        }
        out += #","isError":false}"#.utf8
        return out
    }

    private enum Structured { case none, asIs, wrapped }

    /// `application/json` of `Application/JSON; charset=utf-8`.
    static func mediaType(_ contentType: String) -> String {
        let type = contentType.utf8.prefix { $0 != UInt8(ascii: ";") }
        var start = type.startIndex, end = type.endIndex
        while start < end, type[start] == 0x20 || type[start] == 0x09 { start = type.index(after: start) }
        while end > start, type[type.index(before: end)] == 0x20 || type[type.index(before: end)] == 0x09 { end = type.index(before: end) }
        return String(decoding: type[start..<end].map { $0 >= 0x41 && $0 <= 0x5A ? $0 | 0x20 : $0 }, as: UTF8.self)
    }

    /// A tool error the model reads: a failed call, an argument it must fix.
    public static func error(_ message: String) -> [UInt8] {
        JSONText.object([("content", JSONText.array([text(message)])), ("isError", Array("true".utf8))])
    }

    private static func text(_ text: String) -> [UInt8] {
        JSONText.object([("type", Array("\"text\"".utf8)), ("text", Array(JSONText.quoted(text).utf8))])
    }

    private static func content(_ items: [[UInt8]], structured: [UInt8]?) -> [UInt8] {
        var members: [(String, [UInt8])] = [("content", JSONText.array(items))]
        if let structured { members.append(("structuredContent", structured)) }
        members.append(("isError", Array("false".utf8)))
        return JSONText.object(members)
    }

    static let reasons: [Int: String] = [
        200: "OK", 201: "Created", 202: "Accepted", 204: "No Content", 400: "Bad Request", 401: "Unauthorized",
        403: "Forbidden", 404: "Not Found", 405: "Method Not Allowed", 409: "Conflict", 415: "Unsupported Media Type",
        422: "Unprocessable Content", 429: "Too Many Requests", 500: "Internal Server Error", 502: "Bad Gateway",
        503: "Service Unavailable", 504: "Gateway Timeout",
    ]
}
