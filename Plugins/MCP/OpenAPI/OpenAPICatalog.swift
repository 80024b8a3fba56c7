import Foundation
import JSON
import OpenAPIKit

/// Which operations of a document become tools: `include` (none: all) then `exclude`, each entry
/// a tag (`tag:pets`), an `operationId`, or a method and path (`GET /pet/{petId}`).
public struct OpenAPISelection: Sendable, Equatable {
    public var include: [String]
    public var exclude: [String]

    public init(include: [String] = [], exclude: [String] = []) {
        self.include = include
        self.exclude = exclude
    }

    func picks(operationID: String?, method: String, path: String, tags: [String]) -> Bool {
        func matches(_ entry: String) -> Bool {
            if entry.hasPrefix("tag:") { return tags.contains(String(entry.dropFirst(4))) }
            if entry == operationID { return true }
            let parts = entry.split(separator: " ", maxSplits: 1)
            return parts.count == 2 && parts[0].uppercased() == method && parts[1] == path
        }
        if !include.isEmpty, !include.contains(where: matches) { return false }
        return !exclude.contains(where: matches)
    }
}

/// The tools of one OpenAPI document: read, references resolved, operations selected and mapped.
public struct OpenAPICatalog: Sendable, Equatable {
    public let title: String
    public let version: String
    public let description: String?
    /// `servers[0]` with its variables' defaults filled in; nil when the document names none
    /// (then the API is at the document's own origin, or `base_url` says where).
    public let serverURL: String?
    public let tools: [OpenAPITool]
    /// Operations left out, and why (a body in a media type the gateway cannot send).
    public let skipped: [String]

    /// Reads `bytes` (JSON or YAML); `source` names the file or URL in errors.
    public static func load(_ bytes: [UInt8], source: String, selection: OpenAPISelection = OpenAPISelection()) throws(OpenAPISpecError) -> OpenAPICatalog {
        let document = try OpenAPIDocumentReader.read(bytes, source: source)
        var tools: [OpenAPITool] = []
        var skipped: [String] = []
        var taken: [String: String] = [:]
        for endpoint in document.resolvedEndpoints() {
            let method = endpoint.method.rawValue.uppercased()
            let path = endpoint.path.rawValue
            guard selection.picks(operationID: endpoint.operationId, method: method, path: path, tags: endpoint.tags) else { continue }
            let tool: OpenAPITool
            do {
                tool = try ToolBuilder(endpoint: endpoint, method: method, path: path).build()
            } catch let reason as ToolBuilder.Skip {
                skipped.append("\(method) \(path): \(reason.reason)")
                continue
            } catch {
                throw OpenAPISpecError("\(source): \(method) \(path): \(error)")
            }
            if let other = taken[tool.name] {
                throw OpenAPISpecError("\(source): the operations \(other) and \(tool.label) both become the tool '\(tool.name)'; "
                    + "exclude one of them (exclude = [\"\(tool.label)\"])")
            }
            taken[tool.name] = tool.label
            tools.append(tool)
        }
        for entry in selection.include + selection.exclude where !Self.names(entry, in: document) {
            throw OpenAPISpecError("\(source): '\(entry)' in include/exclude matches no operation (use \"tag:NAME\", an operationId, or \"GET /path\")")
        }
        let info = document.info
        return OpenAPICatalog(title: info.title, version: info.version, description: info.description,
                              serverURL: document.servers.first.map(Self.url), tools: tools, skipped: skipped)
    }

    /// Whether a selection entry names anything in the document (a typo is a config error).
    private static func names(_ entry: String, in document: DereferencedDocument) -> Bool {
        let selection = OpenAPISelection(include: [entry])
        return document.resolvedEndpoints().contains { endpoint in
            selection.picks(operationID: endpoint.operationId, method: endpoint.method.rawValue.uppercased(),
                            path: endpoint.path.rawValue, tags: endpoint.tags)
        }
    }

    /// A server's URL with `{variables}` replaced by their defaults.
    private static func url(_ server: OpenAPI.Server) -> String {
        var url = server.urlTemplate.rawValue
        for (name, variable) in server.variables { url = url.replacingOccurrences(of: "{\(name)}", with: variable.default) }
        return url
    }

    /// The API's base URL: `override`, else the document's server resolved against the URL the
    /// document came from (a relative `servers` URL, or none, is relative to it).
    public func baseURL(override: String?, documentURL: String?) -> String? {
        if let override { return Self.trimmed(override) }
        let server = serverURL ?? "/"
        if server.hasPrefix("http://") || server.hasPrefix("https://") { return Self.trimmed(server) }
        guard let documentURL, let base = URL(string: documentURL), let resolved = URL(string: server, relativeTo: base) else { return nil }
        return Self.trimmed(resolved.absoluteString)
    }

    private static func trimmed(_ url: String) -> String { url.hasSuffix("/") ? String(url.dropLast()) : url }
}
