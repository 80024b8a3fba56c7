import JSON
import JSONRPC
import OpenAPITools

/// A REST API as an MCP target (`type = "openapi"`): it answers the federation's MCP requests
/// itself. `tools/list` is the document's operations (``OpenAPICatalog``); a `tools/call` checks
/// the arguments, becomes one HTTP request to the API, and its answer becomes the tool result
/// (``ToolResult``). A document given by URL is fetched when the target starts; until it is
/// read the target is not ready, and a failure brings it down (restarted with backoff, as any
/// target, so the route's `failure_mode` applies). I/O-free, like the other transports.
final class OpenAPITransport: @unchecked Sendable {
    /// What one of its HTTP calls is for.
    enum Purpose: Sendable, Equatable {
        case document
        /// The API call of the MCP request `requestID`.
        case call(requestID: Int)
    }

    /// What the federation should do for it.
    enum Step {
        case http(HTTPCallRequest, Purpose)
        case output(TransportOutput)
    }

    /// A response body past this fails the call (the host's buffered limit).
    static let maxResponseBytes = 16 * 1024 * 1024

    let target: OpenAPITarget
    let headers: [HTTPHeaderPair]
    let timeoutMilliseconds: Int
    private(set) var catalog: OpenAPICatalog?
    private var baseURL: String?
    private var tools: [String: OpenAPITool] = [:]
    /// Calls at the API, by MCP request id.
    private var calls: [Int: (tool: OpenAPITool, url: String)] = [:]

    init(target: OpenAPITarget, headers: [String: String], timeoutMilliseconds: Int) {
        self.target = target
        self.headers = headers.sorted { $0.key < $1.key }.map { HTTPHeaderPair($0.key, $0.value) }
        self.timeoutMilliseconds = timeoutMilliseconds
        if let catalog = target.catalog { adopt(catalog, documentURL: nil) }
    }

    private func adopt(_ catalog: OpenAPICatalog, documentURL: String?) {
        self.catalog = catalog
        baseURL = catalog.baseURL(override: target.baseURL, documentURL: documentURL)
        tools = Dictionary(catalog.tools.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
    }

    /// A file's document was read again: its tools from now on (a call in flight finishes with
    /// the tool it started with).
    func replace(_ catalog: OpenAPICatalog) { adopt(catalog, documentURL: nil) }

    /// A (re)start: a file's document is ready; a URL's is fetched.
    func start() -> [Step] {
        calls = [:]
        guard case .url(let url) = target.source else { return [.output(.connected)] }
        let request = HTTPCallRequest(method: "GET", url: url, headers: [HTTPHeaderPair("accept", "application/json, application/yaml, */*")] + headers,
                                      body: [], timeoutMilliseconds: timeoutMilliseconds, streamsBody: true)
        return [.http(request, .document)]
    }

    /// The document's answer: the target is ready, or down with the reason.
    func documentArrived(status: Int, body: [UInt8]) -> [TransportOutput] {
        guard case .url(let url) = target.source else { return [] }
        guard (200..<300).contains(status) else { return [.failed("its OpenAPI document at \(url) answered HTTP \(status)")] }
        do {
            let catalog = try OpenAPICatalog.load(body, source: url, selection: target.selection)
            guard !catalog.tools.isEmpty else { return [.failed("\(url) has no operations the gateway can offer as tools")] }
            adopt(catalog, documentURL: url)
            guard baseURL != nil else { return [.failed("\(url) names no usable server URL; set base_url")] }
            return catalog.skipped.map { .log("operation left out: \($0)") } + [.connected]
        } catch {
            return [.failed(error.description)]
        }
    }

    // MARK: - MCP messages from the federation

    func send(_ message: [UInt8], requestID: Int?, forwarded: [(String, String)]) -> [Step] {
        guard let envelope = try? JSONRPCEnvelope.scan(message), let method = envelope.method else { return [] }
        let params = envelope.params.map { JSONValue(message, range: $0) }
        guard let requestID else {
            if method == "notifications/cancelled", let id = params?["requestId"]?.int { calls[id] = nil }
            return []
        }
        switch method {
        case "initialize":
            return [.output(answer(requestID, initializeResult()))]
        case "ping", "logging/setLevel":
            return [.output(answer(requestID, Array("{}".utf8)))]
        case "tools/list":
            let listed = (catalog?.tools ?? []).map(\.json)
            return [.output(answer(requestID, JSONText.object([("tools", JSONText.array(listed))])))]
        case "tools/call":
            return call(requestID, params: params, forwarded: forwarded)
        default:
            return [.output(.rejected(requestID, error: JSONValue(Array("{\"code\":-32601,\"message\":\(JSONText.quoted("Method not found: \(method)"))}".utf8))))]
        }
    }

    private func call(_ requestID: Int, params: JSONValue?, forwarded: [(String, String)]) -> [Step] {
        guard let name = params?["name"]?.string, let tool = tools[name] else {
            return [.output(answer(requestID, ToolResult.error("Unknown tool: \(params?["name"]?.string ?? "?")")))]
        }
        guard let baseURL else { return [.output(.requestFailed(requestID, reason: "the API's base URL is not known"))] }
        let request: OpenAPIRequest
        do {
            request = try tool.request(arguments: params?["arguments"], baseURL: baseURL)
        } catch {
            return [.output(answer(requestID, ToolResult.error(error.description)))]
        }
        calls[requestID] = (tool, request.url)
        let all = request.headers.map { HTTPHeaderPair($0.name, $0.value) } + headers + forwarded.map { HTTPHeaderPair($0.0, $0.1) }
        return [.http(HTTPCallRequest(method: request.method, url: request.url, headers: all, body: request.body,
                                      timeoutMilliseconds: timeoutMilliseconds, streamsBody: true), .call(requestID: requestID))]
    }

    // MARK: - the API's answers

    /// The whole answer to a call.
    func answered(_ requestID: Int, status: Int, contentType: String?, body: [UInt8]) -> [TransportOutput] {
        guard let (tool, url) = calls.removeValue(forKey: requestID) else { return [] }
        return [answer(requestID, ToolResult.answer(tool, status: status, contentType: contentType, body: body, url: url))]
    }

    /// A call that got no answer: a tool error that says why (a model can retry or give up).
    func failed(_ requestID: Int, reason: String) -> [TransportOutput] {
        guard let (tool, _) = calls.removeValue(forKey: requestID) else { return [] }
        return [answer(requestID, ToolResult.error("\(tool.label) failed: \(reason)"))]
    }

    /// Whether the call is still waiting for the API.
    func isCalling(_ requestID: Int) -> Bool { calls[requestID] != nil }

    private func initializeResult() -> [UInt8] {
        let name = catalog?.title ?? "openapi"
        return JSONText.object([
            ("protocolVersion", Array("\"2025-11-25\"".utf8)),
            // A file's document is watched: its tools change when it does.
            ("capabilities", Array((target.stamp != nil ? "{\"tools\":{\"listChanged\":true}}" : "{\"tools\":{}}").utf8)),
            ("serverInfo", Array("{\"name\":\(JSONText.quoted(name)),\"version\":\(JSONText.quoted(catalog?.version ?? "?"))}".utf8)),
        ])
    }

    private func answer(_ requestID: Int, _ result: [UInt8]) -> TransportOutput {
        .message(JSONText.response(id: String(requestID), result: result), relatedTo: requestID)
    }
}
