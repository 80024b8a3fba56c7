#if canImport(Glibc)
import Glibc
#endif
import NIOHTTP1

/// Picks the route for a request: the first configured route whose match accepts it.
///
/// Only selects; the chain runs in `Exchange`. Built once per configuration and shared read-only
/// by every event loop.
struct RouteTable: Sendable {
    let routes: [Route]

    /// The first route on `listener` matching the request, or nil (the caller answers 404).
    func match(listener: String, head: RequestHead) -> Route? {
        let uri = head.uri
        // The path as a view of the URI (no copy); the host and method only for a route that
        // asks for them.
        let path = Self.queryStart(uri).map { uri[..<$0] } ?? uri[...]
        var host: Substring?
        for route in routes where route.listeners.isEmpty || route.listeners.contains(listener) {
            let match = route.match
            if match.host != nil, host == nil { host = Self.hostWithoutPort(head.headers.first(name: "host") ?? "") }
            if match.accepts(method: match.methods.isEmpty ? "" : head.method.rawValue, path: path, host: host ?? "", headers: head.headers) {
                return route
            }
        }
        return nil
    }

    /// Where the query (`?`) starts: one `memchr` over the URI's bytes (`utf8.firstIndex(of:)`
    /// steps through the view a byte at a time, ~300 instructions for a short URI).
    static func queryStart(_ uri: String) -> String.Index? {
        var uri = uri
        let offset = uri.withUTF8 { bytes -> Int? in
            guard let base = bytes.baseAddress, let found = memchr(base, Int32(UInt8(ascii: "?")), bytes.count) else { return nil }
            return UnsafeRawPointer(base).distance(to: UnsafeRawPointer(found))
        }
        return offset.map { uri.utf8.index(uri.startIndex, offsetBy: $0) }
    }

    static func hostWithoutPort(_ host: String) -> Substring {
        if host.hasPrefix("[") { return host.split(separator: "]", maxSplits: 1).first.map { $0.dropFirst() } ?? Substring(host) }
        if let colon = host.lastIndex(of: ":") { return host[..<colon] }
        return Substring(host)
    }
}

extension RouteMatchConfig {
    /// Whether a request is accepted; `method` and `host` are read only when the match names them.
    func accepts(method: String, path: Substring, host: Substring, headers: RequestFields) -> Bool {
        if let exact = self.path, !Self.path(path, is: exact) { return false }
        if let prefix = pathPrefix, !Self.path(path, hasSegmentPrefix: prefix) { return false }
        if !methods.isEmpty, !methods.contains(method) { return false }
        if let expected = self.host {
            if expected.hasPrefix("*.") {
                guard host.lowercased().hasSuffix(expected.dropFirst()) else { return false }
            } else if host.lowercased() != expected {
                return false
            }
        }
        for (name, value) in self.headers where !headers[name].contains(value) { return false }
        return true
    }

    /// `/api` matches `/api`, `/api/`, `/api/x` but not `/apix`; a prefix ending in `/` matches plainly.
    /// Compared as bytes in place (through the `utf8` views generically: ~1.2k instructions a request).
    static func path(_ path: Substring, hasSegmentPrefix prefix: String) -> Bool {
        var path = path, prefix = prefix
        return path.withUTF8 { path in
            prefix.withUTF8 { prefix in
                guard path.count >= prefix.count, prefix.isEmpty || memcmp(path.baseAddress!, prefix.baseAddress!, prefix.count) == 0 else { return false }
                if prefix.last == UInt8(ascii: "/") || path.count == prefix.count { return true }
                return path[prefix.count] == UInt8(ascii: "/")
            }
        }
    }

    /// Whether the path is exactly `exact`, as bytes.
    static func path(_ path: Substring, is exact: String) -> Bool {
        var path = path, exact = exact
        return path.withUTF8 { path in
            exact.withUTF8 { exact in path.count == exact.count && (exact.isEmpty || memcmp(path.baseAddress!, exact.baseAddress!, exact.count) == 0) }
        }
    }
}
