import NIOCore
import NIOHTTP1

/// What happens to a request head before an exchange serves it, the same for HTTP/1.1
/// connections and HTTP/2 streams: the generation that will serve it is taken (and counted in
/// flight), the header size is checked (HTTP/2: the HTTP/1 parser checks its own), and a route
/// is matched.
enum RequestAdmission {
    enum Decision {
        /// No exchange: answer this (the generation is released already).
        case reply(HTTPResponseStatus, body: String)
        /// Serve it on `route`; the request is in flight on `runtime` until its exchange ends.
        case serve(Route, GatewayRuntime)
    }

    static func admit(_ head: RequestHead, live: LiveRuntime, listener: ListenerRuntime, checkHeaderBytes: Bool) -> Decision {
        let runtime = live.acquire()
        let limits = runtime.limits
        if checkHeaderBytes {
            let headerBytes = head.headers.nameAndValueBytes
            if headerBytes > limits.maxRequestHeaderBytes {
                runtime.inFlight.decrement()
                runtime.services.logger.warning("request headers over the limit", metadata: ["bytes": "\(headerBytes)", "limit": "\(limits.maxRequestHeaderBytes)"])
                return .reply(.requestHeaderFieldsTooLarge, body: "request headers exceed max_request_header_bytes (\(limits.maxRequestHeaderBytes))\n")
            }
        }
        guard let route = runtime.routes.match(listener: listener.name, head: head) else {
            runtime.inFlight.decrement()
            return .reply(.notFound, body: "no route for \(head.method.rawValue) \(head.uri)\n")
        }
        return .serve(route, runtime)
    }
}
