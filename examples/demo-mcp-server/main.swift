// A small MCP server over stdio (one JSON-RPC message per line), for the quick start and the
// tests: tools `echo`, `add`, `word_count`, `current_time`, `slow_count` (reports progress), a
// `summarize` prompt and a `demo://readme` resource. It speaks the handshake era (2024-11-05 …
// 2025-11-25); a 2026-07-28 client's `server/discover` probe gets -32601 and falls back, as the
// spec allows. Logs go to stderr.
import Foundation

let supportedVersions = ["2025-11-25", "2025-06-18", "2025-03-26", "2024-11-05"]
let serverName = ProcessInfo.processInfo.environment["DEMO_MCP_NAME"] ?? "demo"

struct RPCError: Error {
    var code: Int
    var message: String
}

func send(_ message: [String: Any]) {
    guard var data = try? JSONSerialization.data(withJSONObject: message, options: [.withoutEscapingSlashes]) else { return }
    data.append(UInt8(ascii: "\n"))
    FileHandle.standardOutput.write(data)
}

func log(_ text: String) {
    FileHandle.standardError.write(Data("[\(serverName)] \(text)\n".utf8))
}

func textResult(_ text: String, isError: Bool = false) -> [String: Any] {
    ["content": [["type": "text", "text": text]], "isError": isError]
}

let tools: [[String: Any]] = [
    ["name": "echo", "description": "Returns the text it is given.",
     "inputSchema": ["type": "object", "properties": ["text": ["type": "string"]], "required": ["text"]]],
    ["name": "add", "description": "Adds two numbers.",
     "inputSchema": ["type": "object", "properties": ["a": ["type": "number"], "b": ["type": "number"]], "required": ["a", "b"]]],
    ["name": "word_count", "description": "Counts the words in a text.",
     "inputSchema": ["type": "object", "properties": ["text": ["type": "string"]], "required": ["text"]]],
    ["name": "current_time", "description": "The server's current time (ISO 8601, UTC).",
     "inputSchema": ["type": "object", "properties": [String: Any]()]],
    ["name": "slow_count", "description": "Counts to n, one step every 50 ms, reporting progress.",
     "inputSchema": ["type": "object", "properties": ["n": ["type": "integer", "minimum": 1, "maximum": 100]], "required": ["n"]]],
]

@MainActor func callTool(_ params: [String: Any]) throws -> [String: Any] {
    let arguments = params["arguments"] as? [String: Any] ?? [:]
    switch params["name"] as? String {
    case "echo":
        guard let text = arguments["text"] as? String else { return textResult("'text' must be a string", isError: true) }
        return textResult(text)
    case "add":
        guard let a = arguments["a"] as? NSNumber, let b = arguments["b"] as? NSNumber else {
            return textResult("'a' and 'b' must be numbers", isError: true)
        }
        let sum = a.doubleValue + b.doubleValue
        return textResult(sum == sum.rounded() && abs(sum) < 1e15 ? String(Int64(sum)) : String(sum))
    case "word_count":
        guard let text = arguments["text"] as? String else { return textResult("'text' must be a string", isError: true) }
        return textResult(String(text.split(whereSeparator: { $0.isWhitespace }).count))
    case "current_time":
        return textResult(ISO8601DateFormatter().string(from: Date()))
    case "slow_count":
        let n = min(max((arguments["n"] as? Int) ?? 1, 1), 100)
        let token = (params["_meta"] as? [String: Any])?["progressToken"]
        for step in 1...n {
            usleep(50_000)
            if let token {
                send(["jsonrpc": "2.0", "method": "notifications/progress",
                      "params": ["progressToken": token, "progress": step, "total": n]])
            }
        }
        return textResult("counted to \(n)")
    case let name:
        throw RPCError(code: -32602, message: "Unknown tool: \(name ?? "(none)")")
    }
}

@MainActor func handle(_ method: String, _ params: [String: Any]) throws -> [String: Any] {
    switch method {
    case "initialize":
        let requested = params["protocolVersion"] as? String ?? ""
        return [
            "protocolVersion": supportedVersions.contains(requested) ? requested : supportedVersions[0],
            "capabilities": ["tools": ["listChanged": false], "prompts": ["listChanged": false], "resources": ["listChanged": false]],
            "serverInfo": ["name": serverName, "version": "1.0.0"],
            "instructions": "A demo server: try the add tool.",
        ]
    case "ping":
        return [:]
    case "tools/list":
        return ["tools": tools]
    case "tools/call":
        return try callTool(params)
    case "prompts/list":
        return ["prompts": [["name": "summarize", "description": "Asks for a summary of a text.",
                             "arguments": [["name": "text", "required": true]]]]]
    case "prompts/get":
        guard params["name"] as? String == "summarize" else { throw RPCError(code: -32602, message: "Unknown prompt") }
        let text = (params["arguments"] as? [String: Any])?["text"] as? String ?? ""
        return ["messages": [["role": "user", "content": ["type": "text", "text": "Summarize this in one sentence:\n\(text)"]]]]
    case "resources/list":
        return ["resources": [["uri": "demo://readme", "name": "readme", "mimeType": "text/plain"]]]
    case "resources/read":
        guard params["uri"] as? String == "demo://readme" else { throw RPCError(code: -32002, message: "Resource not found") }
        return ["contents": [["uri": "demo://readme", "mimeType": "text/plain",
                              "text": "This is \(serverName), a demo MCP server shipped with Agent Gateway.\n"]]]
    case "logging/setLevel":
        return [:]
    default:
        throw RPCError(code: -32601, message: "Method not found: \(method)")
    }
}

log("ready")
while let line = readLine(strippingNewline: true) {
    guard !line.isEmpty else { continue }
    guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)), let message = object as? [String: Any] else {
        send(["jsonrpc": "2.0", "id": NSNull(), "error": ["code": -32700, "message": "Parse error"]])
        continue
    }
    guard let method = message["method"] as? String else { continue }  // a response or junk: nothing to answer
    guard let id = message["id"] else { continue }                     // notifications need no answer
    do {
        send(["jsonrpc": "2.0", "id": id, "result": try handle(method, message["params"] as? [String: Any] ?? [:])])
    } catch let error as RPCError {
        send(["jsonrpc": "2.0", "id": id, "error": ["code": error.code, "message": error.message]])
    }
}
log("stdin closed; exiting")
