import JSON

/// The interfaces of an agent the gateway proxies, read from its card, each under a path of the
/// agent's own on the gateway (`{prefix}/{agent}/{slug}`): `jsonrpc` and `rest` for the first of
/// each binding, a qualified slug for more (`jsonrpc-0.3`, `jsonrpc-2`). The 1.0
/// `supportedInterfaces` and 0.3's `url` / `preferredTransport` / `additionalInterfaces` both
/// count. gRPC interfaces are not proxied (the gateway speaks HTTP/1.1 to agents): they are left
/// out of the cards it serves.
public struct AgentInterfaces: Sendable, Equatable {
    public struct Interface: Sendable, Equatable {
        public enum Binding: String, Sendable {
            case jsonRPC = "JSONRPC"
            case rest = "HTTP+JSON"
        }
        public var binding: Binding
        public var version: A2AVersion
        /// Where the agent serves it.
        public var url: String
        public var slug: String

        public init(binding: Binding, version: A2AVersion, url: String, slug: String) {
            self.binding = binding
            self.version = version
            self.url = url
            self.slug = slug
        }
    }

    public private(set) var interfaces: [Interface] = []
    /// Interfaces the card offers that the gateway cannot proxy, for a log line.
    public private(set) var skipped: [String] = []

    /// Reads a card (JSON). A card without any interface the gateway can proxy has none.
    public init(card: JSONValue) {
        var found: [(Interface.Binding, A2AVersion, String)] = []
        func add(binding: String?, version: A2AVersion, url: String?) {
            guard let url, !url.isEmpty else { return }
            guard let binding = Interface.Binding(rawValue: (binding ?? "JSONRPC").uppercased()) else {
                skipped.append("\(binding ?? "?") at \(url)")
                return
            }
            guard !found.contains(where: { $0.0 == binding && $0.1 == version && $0.2 == url }) else { return }
            found.append((binding, version, url))
        }
        for interface in card["supportedInterfaces"]?.elements ?? [] {
            add(binding: interface["protocolBinding"]?.string, version: A2AVersion(interface: interface["protocolVersion"]?.string),
                url: interface["url"]?.string)
        }
        if let url = card["url"]?.string {
            // 0.3: the card's own protocolVersion applies to url and additionalInterfaces.
            let version = A2AVersion(interface: card["protocolVersion"]?.string ?? "0.3")
            add(binding: card["preferredTransport"]?.string, version: version, url: url)
            for interface in card["additionalInterfaces"]?.elements ?? [] {
                add(binding: interface["transport"]?.string, version: version, url: interface["url"]?.string)
            }
        }
        var taken = Set<String>()
        for (binding, version, url) in found {
            let base = binding == .jsonRPC ? "jsonrpc" : "rest"
            var slug = base
            if taken.contains(slug) { slug = base + "-" + version.text }
            var counter = 2
            while taken.contains(slug) {
                slug = base + "-\(counter)"
                counter += 1
            }
            taken.insert(slug)
            interfaces.append(Interface(binding: binding, version: version, url: url, slug: slug))
        }
    }

    public init(_ interfaces: [Interface]) { self.interfaces = interfaces }

    /// The interface behind a gateway path segment.
    public func interface(slug: Substring) -> Interface? { interfaces.first { $0.slug[...] == slug } }

    /// Where a JSON-RPC request posted to the agent's own path goes: the JSON-RPC interface of
    /// the request's version, else the first one.
    public func jsonRPC(for version: A2AVersion) -> Interface? {
        let candidates = interfaces.filter { $0.binding == .jsonRPC }
        return candidates.first { $0.version == version } ?? candidates.first
    }

    /// The interface an upstream URL (with binding and version) was read into.
    public func interface(url: String, binding: String?, version: A2AVersion) -> Interface? {
        let wanted = Interface.Binding(rawValue: (binding ?? "JSONRPC").uppercased())
        return interfaces.first { $0.url == url && $0.binding == wanted && $0.version == version }
            ?? interfaces.first { $0.url == url && $0.binding == wanted }
    }
}
