import PluginKit

/// Filters in Swift for the host's own tests: each does one thing the chain must carry out.

/// Replies 403 when the request has `x-deny`; else stamps `x-seen-by` on the response.
struct DenyOrStamp: Filter {
    static let name = "deny-or-stamp"
    init(configuration: FilterConfiguration) throws {}

    func requestHeaders(_ stream: FilterStream, endOfStream: Bool) -> FilterStatus {
        guard stream.header("x-deny") != nil else { return .continue }
        _ = stream.sendLocalReply(status: 403, headers: [("content-type", "text/plain")], body: "denied\n")
        return .replied
    }

    func responseHeaders(_ stream: FilterStream, endOfStream: Bool) -> FilterStatus {
        _ = stream.addHeader("x-seen-by", "deny-or-stamp", in: .response)
        return .continue
    }
}

/// Pauses every request on a 50 ms timer and resumes when it fires.
struct PauseOnTimer: Filter {
    static let name = "pause-on-timer"
    init(configuration: FilterConfiguration) throws {}

    func requestHeaders(_ stream: FilterStream, endOfStream: Bool) -> FilterStatus {
        stream.scope.startTimer(milliseconds: 50) == nil ? .continue : .stop
    }

    func event(_ event: PluginEvent, stream: FilterStream) {
        if event.kind == .timer { _ = stream.resume() }
    }
}

/// Returns REPLIED without a reply: a plugin bug the host must answer with 500.
struct RepliesWithoutReply: Filter {
    static let name = "replies-without-reply"
    init(configuration: FilterConfiguration) throws {}
    func requestHeaders(_ stream: FilterStream, endOfStream: Bool) -> FilterStatus { .replied }
}

/// A handler: refuses a body that is not JSON from the headers (415, a local reply), else
/// responds (through the filters' response hooks) with the body's length, and with
/// `connection: close` when the request has `x-close`.
struct LengthHandler: RequestBodyFilter {
    static let name = "length"
    static let kind = FilterKind.handler
    init(configuration: FilterConfiguration) throws {}

    func requestHeaders(_ stream: FilterStream, endOfStream: Bool) -> FilterStatus {
        if let type = stream.header("content-type"), type != "application/json" {
            _ = stream.sendLocalReply(status: 415, headers: [("content-type", "text/plain")], body: "json only\n")
            return .replied
        }
        return .continue
    }

    func requestBody(_ stream: FilterStream) -> FilterStatus {
        let length = stream.body()?.count ?? 0
        var headers = [("content-type", "text/plain")]
        if stream.header("x-close") != nil { headers.append(("connection", "close")) }
        _ = stream.respond(status: 200, headers: headers)
        _ = stream.respondBody("\(length) bytes\n", endOfStream: true)
        return .continue
    }
}

enum TestPlugin {
    static let filters: [any Filter.Type] = [DenyOrStamp.self, PauseOnTimer.self, RepliesWithoutReply.self, LengthHandler.self]
}
