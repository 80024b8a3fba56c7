import JSON
import JSONRPC

/// An error the gateway answers an A2A request with, in either binding: a JSON-RPC error object
/// (answered with HTTP 200, as A2A servers do, unless `jsonRPCStatus` says otherwise), or for
/// HTTP+JSON a `google.rpc.Status` body with the HTTP status of spec §5.4.
public struct A2AError: Error, Sendable, Equatable, CustomStringConvertible {
    public var code: Int
    public var message: String
    /// The REST binding's HTTP status.
    public var httpStatus: Int
    /// The HTTP status of a JSON-RPC error answer (200 but for what is not the agent's answer at all).
    public var jsonRPCStatus = 200
    /// `google.rpc.Status.status` (gRPC code name) and the `ErrorInfo` reason, for REST.
    public var status: String
    public var reason: String?

    public init(code: Int, message: String, httpStatus: Int, status: String, reason: String? = nil, jsonRPCStatus: Int = 200) {
        self.code = code
        self.message = message
        self.httpStatus = httpStatus
        self.status = status
        self.reason = reason
        self.jsonRPCStatus = jsonRPCStatus
    }

    public var description: String { "\(code) \(message)" }

    // MARK: - the errors

    public static func parseError(_ detail: String) -> A2AError {
        A2AError(code: -32700, message: "Parse error: \(detail)", httpStatus: 400, status: "INVALID_ARGUMENT")
    }

    public static func invalidRequest(_ detail: String) -> A2AError {
        A2AError(code: -32600, message: "Invalid request: \(detail)", httpStatus: 400, status: "INVALID_ARGUMENT")
    }

    public static func methodNotFound(_ method: String) -> A2AError {
        A2AError(code: -32601, message: "Method not found: \(method)", httpStatus: 404, status: "NOT_FOUND")
    }

    public static func invalidParams(_ detail: String) -> A2AError {
        A2AError(code: -32602, message: "Invalid params: \(detail)", httpStatus: 400, status: "INVALID_ARGUMENT")
    }

    /// A task the caller may not see is one that does not exist (spec §13.1: scoped access).
    public static func taskNotFound(_ id: String) -> A2AError {
        A2AError(code: -32001, message: "Task not found: \(id)", httpStatus: 404, status: "NOT_FOUND", reason: "TASK_NOT_FOUND")
    }

    public static func pushURLRefused(_ url: String, agent: String) -> A2AError {
        A2AError(code: -32602, message: "Invalid params: the gateway does not allow push notifications to '\(url)' for agent '\(agent)' "
                    + "(its push_url_prefixes do not cover it)", httpStatus: 400, status: "INVALID_ARGUMENT")
    }

    public static func unavailable(agent: String, reason: String) -> A2AError {
        A2AError(code: -32603, message: "A2A agent '\(agent)' is unavailable: \(reason)", httpStatus: 502, status: "UNAVAILABLE")
    }

    public static func timeout(agent: String, milliseconds: Int) -> A2AError {
        A2AError(code: -32603, message: "A2A agent '\(agent)' did not answer in time (timeout after \(milliseconds) ms)",
                 httpStatus: 504, status: "DEADLINE_EXCEEDED")
    }

    /// The agent answered with something that is not A2A (HTML, a truncated body): 502 in both bindings.
    public static func notA2A(agent: String, detail: String) -> A2AError {
        A2AError(code: -32603, message: "A2A agent '\(agent)' answered with something that is not A2A: \(detail)",
                 httpStatus: 502, status: "INTERNAL", jsonRPCStatus: 502)
    }

    public static func internalError(_ detail: String) -> A2AError {
        A2AError(code: -32603, message: "Internal error: \(detail)", httpStatus: 500, status: "INTERNAL")
    }

    // MARK: - bodies

    /// The JSON-RPC error response for the request with `id` (raw JSON; nil: `null`).
    public func jsonRPCBody(id: String?) -> [UInt8] {
        JSONText.errorResponse(id: id, code: code, message: message)
    }

    /// The HTTP+JSON binding's error body: `{"error":{"code":…,"status":…,"message":…,"details":[ErrorInfo]}}`.
    public func restBody() -> [UInt8] {
        var error = "{\"code\":\(httpStatus),\"status\":\(JSONText.quoted(status)),\"message\":\(JSONText.quoted(message))"
        if let reason {
            error += ",\"details\":[{\"@type\":\"type.googleapis.com/google.rpc.ErrorInfo\",\"reason\":\(JSONText.quoted(reason))"
                + ",\"domain\":\"a2a-protocol.org\"}]"
        }
        return Array("{\"error\":\(error)}}".utf8)
    }
}
