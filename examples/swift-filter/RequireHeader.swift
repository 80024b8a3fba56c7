// A gateway filter in Swift: rejects requests that lack a configured header (401) and stamps
// every response. Build: swift build --product require_header  →  .build/debug/librequire_header.so
//
//   [plugins.require-header]
//   path = ".build/debug/librequire_header.so"
//   [[routes.filters]]
//   plugin = "require-header"
//   config = { header = "x-api-key", stamp = "checked" }
import PluginKit

struct RequireHeader: Filter {
    static let name = "require-header"

    struct Config: Decodable {
        var header: String
        var stamp: String?
    }

    let header: String
    let stamp: String

    init(configuration: FilterConfiguration) throws {
        let config = try configuration.decode(Config.self)
        guard !config.header.isEmpty else { throw FilterConfiguration.Invalid("'header' must not be empty") }
        header = config.header
        stamp = config.stamp ?? "require-header"
    }

    func requestHeaders(_ stream: FilterStream, endOfStream: Bool) -> FilterStatus {
        guard stream.header(header) != nil else {
            stream.log(.info, "rejected \(stream.attribute(.path) ?? "?"): no \(header) header")
            stream.sendLocalReply(status: 401, headers: [("content-type", "text/plain")], body: "missing \(header)\n")
            return .replied
        }
        return .continue
    }

    func responseHeaders(_ stream: FilterStream, endOfStream: Bool) -> FilterStatus {
        stream.setHeader("x-require-header", stamp, in: .response)
        return .continue
    }
}

@c(agw_plugin_entry_v1)
public func entry(_ host: UnsafeRawPointer?) -> UnsafeRawPointer? {
    PluginExport.plugin(name: "require-header", version: "1.0.0", filters: [RequireHeader.self], host: host)
}
