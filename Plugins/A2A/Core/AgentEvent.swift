import Foundation
import JSON

/// What one agent answer or stream event says about the task, in either version: the task and
/// context, the state (normalized: `COMPLETED`, `WORKING`, `INPUT_REQUIRED`, …), the text of a
/// message or status message, and artifact texts. For the gateway's own use of an agent (the
/// MCP bridge), where the answer is read rather than passed on.
public struct AgentEvent: Sendable, Equatable {
    public var taskID: String?
    public var contextID: String?
    /// Nil when the event carries no status (a direct message, an artifact).
    public var state: String?
    /// A message's text, or a status update's message text.
    public var text: String?
    /// Texts of the artifacts it carries (a data part as its JSON).
    public var artifactTexts: [String] = []
    /// A direct `Message` answer (no task).
    public var isMessage = false

    /// Reads a JSON-RPC response or stream event (`result` inside), or a REST body.
    public init?(_ answer: JSONValue) {
        let payload = answer["result"] ?? answer
        if let task = payload["task"] ?? (payload["kind"]?.string == "task" ? payload : nil) {
            readTask(task)
        } else if let message = payload["message"] ?? (payload["kind"]?.string == "message" ? payload : nil) {
            isMessage = true
            taskID = message["taskId"]?.string
            contextID = message["contextId"]?.string
            text = Self.text(of: message)
        } else if let update = payload["statusUpdate"] ?? (payload["kind"]?.string == "status-update" ? payload : nil) {
            taskID = update["taskId"]?.string
            contextID = update["contextId"]?.string
            readStatus(update["status"])
        } else if let update = payload["artifactUpdate"] ?? (payload["kind"]?.string == "artifact-update" ? payload : nil) {
            taskID = update["taskId"]?.string
            contextID = update["contextId"]?.string
            if let artifact = update["artifact"] { artifactTexts = [Self.text(of: artifact)].compactMap { $0 } }
        } else if payload["status"] != nil, payload["id"] != nil {
            readTask(payload) // a bare Task (GetTask)
        } else {
            return nil
        }
    }

    private mutating func readTask(_ task: JSONValue) {
        taskID = task["id"]?.string
        contextID = task["contextId"]?.string
        readStatus(task["status"])
        artifactTexts = (task["artifacts"]?.elements ?? []).compactMap(Self.text(of:))
    }

    private mutating func readStatus(_ status: JSONValue?) {
        guard let status else { return }
        state = status["state"]?.string.map(Self.normalized)
        if let message = status["message"] { text = Self.text(of: message) }
    }

    /// `TASK_STATE_INPUT_REQUIRED` and 0.3's `input-required` both become `INPUT_REQUIRED`.
    public static func normalized(_ state: String) -> String {
        var upper = state.uppercased().replacingOccurrences(of: "-", with: "_")
        if upper.hasPrefix("TASK_STATE_") { upper.removeFirst("TASK_STATE_".count) }
        return upper == "CANCELLED" ? "CANCELED" : upper
    }

    /// Whether the task is over (or waits for the caller): nothing more will come unasked.
    public var isFinal: Bool {
        guard let state else { return isMessage }
        return ["COMPLETED", "FAILED", "CANCELED", "REJECTED", "INPUT_REQUIRED", "AUTH_REQUIRED"].contains(state)
    }

    public var isFailure: Bool { ["FAILED", "CANCELED", "REJECTED"].contains(state ?? "") }

    /// The text of a message or artifact: its text parts joined, a data part as its JSON.
    static func text(of object: JSONValue) -> String? {
        let parts = (object["parts"] ?? object["content"])?.elements ?? []
        let texts = parts.compactMap { part -> String? in
            if let text = part["text"]?.string { return text }
            if let data = part["data"] { return data.text }
            return nil
        }
        return texts.isEmpty ? nil : texts.joined(separator: "\n")
    }
}
