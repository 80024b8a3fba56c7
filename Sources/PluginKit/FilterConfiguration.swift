import Foundation

/// A filter's config table from the gateway's TOML, as JSON.
public struct FilterConfiguration: Sendable {
    /// The instance name, e.g. `api/stamp#0`.
    public let instanceName: String
    /// The route's name: the instance name up to its last `/` (`route/plugin#0` → `route`).
    public var routeName: String {
        instanceName.lastIndex(of: "/").map { String(instanceName[..<$0]) } ?? instanceName
    }
    /// The table as JSON text (`{}` when the route gave none).
    public let json: String
    /// The scope for work that outlives a request (timers, HTTP calls, processes).
    public let scope: Scope
    /// The directory of the gateway's config file (ABI 1.2; the working directory on older hosts).
    public var directory: String { scope.configDirectory ?? FileManager.default.currentDirectoryPath }

    /// A path from the config table, made absolute against the config file's directory, the way
    /// the gateway resolves its own paths.
    public func resolve(_ path: String) -> String {
        path.hasPrefix("/") ? path : URL(fileURLWithPath: path, relativeTo: URL(fileURLWithPath: directory + "/")).standardizedFileURL.path
    }

    /// The error to throw from `init(configuration:)`; its message reaches the user.
    public struct Invalid: Error, CustomStringConvertible {
        /// What is wrong and what to change.
        public var description: String
        /// A rejection with this message.
        public init(_ description: String) { self.description = description }
    }

    /// Decodes the table into a `Decodable` type (keys as written in TOML).
    public func decode<T: Decodable>(_ type: T.Type = T.self) throws -> T {
        do {
            return try JSONDecoder().decode(T.self, from: Data(json.utf8))
        } catch let DecodingError.keyNotFound(key, _) {
            throw Invalid("missing key '\(key.stringValue)'")
        } catch let DecodingError.typeMismatch(_, context) {
            throw Invalid("wrong type at '\(context.codingPath.map(\.stringValue).joined(separator: "."))': \(context.debugDescription)")
        } catch {
            throw Invalid("cannot read the config: \(error)")
        }
    }

    /// The table as a dictionary.
    public var dictionary: [String: Any] {
        (try? JSONSerialization.jsonObject(with: Data(json.utf8))) as? [String: Any] ?? [:]
    }

    /// The string at a top-level key of the table, nil when absent or not a string.
    public func string(forKey key: String) -> String? { dictionary[key] as? String }
}

