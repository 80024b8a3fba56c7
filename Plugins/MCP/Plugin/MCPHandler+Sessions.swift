import JSON
import JSONRPC
import MCPCore
import PluginKit

/// The gateway's sessions on the wire: GET streams, DELETE, and the session a request names.
extension MCPHandler {
    /// GET and DELETE name a gateway session; without sessions (or for a 2026-07-28 client) they
    /// get 405. Returns the session id, or nil when a reply was sent.
    func namedSession(_ stream: FilterStream, end: Bool) -> String? {
        guard config.sessions, !(stream.header("mcp-protocol-version").map(ClientRequestRules.modernVersions.contains) ?? false) else {
            stream.sendLocalReply(status: 405, headers: [("allow", "POST")])
            return nil
        }
        guard let sessionID = stream.header("mcp-session-id") else {
            _ = reply(stream, ClientRefusal(status: 400, id: nil, code: -32600, message: "Bad Request: missing Mcp-Session-Id header"))
            return nil
        }
        let caller = Self.caller(of: stream)
        var context = FederationDriver.Context()
        var found = false
        driver.run(&context) { federation in
            let now = FederationDriver.now()
            let (ok, actions) = end ? federation.deleteSession(sessionID, caller: caller, now: now) : federation.touchSession(sessionID, caller: caller, now: now)
            found = ok
            return actions
        }
        guard found else {
            _ = reply(stream, ClientRefusal(status: 404, id: nil, code: -32600, message: "Session not found (initialize again)"))
            return nil
        }
        return sessionID
    }

    /// GET: the session's stream for notifications that belong to no request (list changes).
    func openListener(_ stream: FilterStream) -> FilterStatus {
        guard let sessionID = namedSession(stream, end: false) else { return .replied }
        let request = MCPClientRequest(clientID: "null", method: "GET", params: nil)
        request.sessionID = sessionID
        request.caller = Self.caller(of: stream)
        request.isListener = true
        request.streaming = true
        stream.state = request
        let scope = stream.scope
        let exchange = openExchange(request, scope: scope)
        var context = FederationDriver.Context(stream: (scope, exchange))
        var opened = false
        let early = driver.run(&context) { federation in
            let (ok, actions) = federation.openListener(exchange, session: sessionID)
            opened = ok
            return actions
        }
        guard opened else {
            request.isListener = false
            return reply(stream, ClientRefusal(status: 404, id: nil, code: -32600, message: "Session not found (initialize again)"))
        }
        // The connection closes when the stream ends (the session ended, or the client left), so a
        // client that vanished holds no descriptor once its session is gone.
        stream.respond(status: 200, headers: ClientAnswer.sseHeaders.map { ($0.name, $0.value) } + [("mcp-session-id", sessionID), ("connection", "close")])
        stream.respondBody(": listening\n\n")
        for delivery in early { deliver(delivery, stream, request) }
        return .continue
    }

    /// DELETE: ends the session.
    func closeSession(_ stream: FilterStream) -> FilterStatus {
        guard namedSession(stream, end: true) != nil else { return .replied }
        stream.sendLocalReply(status: 200)
        return .replied
    }
}
