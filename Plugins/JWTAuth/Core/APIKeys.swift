import Crypto
import Foundation

/// One configured API key: only its SHA-256 is stored.
public struct APIKey: Sendable, Equatable {
    public var name: String
    public var groups: [String]
    /// Extra metadata, visible to rules as `apiKey.<name>`.
    public var metadata: [String: String]

    public init(name: String, groups: [String] = [], metadata: [String: String] = [:]) {
        self.name = name
        self.groups = groups
        self.metadata = metadata
    }

    /// The JSON object later filters read (`apiKey.name`, `apiKey.groups`, metadata).
    public var json: String {
        var object: [String: Any] = metadata
        object["name"] = name
        object["groups"] = groups
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data("{}".utf8)
        return String(decoding: data, as: UTF8.self)
    }
}

/// Finds the API key a client presented by its SHA-256 digest.
public struct APIKeyStore: Sendable {
    private let byDigest: [String: APIKey]

    /// `keys`: hex SHA-256 digest → key. A digest that is not 64 hex digits is an error.
    public init(keys: [(sha256: String, key: APIKey)]) throws(KeyLoadError) {
        var byDigest: [String: APIKey] = [:]
        for (digest, key) in keys {
            let hex = digest.lowercased()
            guard hex.utf8.count == 64, hex.utf8.allSatisfy({ (0x30...0x39).contains($0) || (0x61...0x66).contains($0) }) else {
                throw KeyLoadError("api key '\(key.name)': sha256 must be 64 hex digits (e.g. from `printf %s KEY | sha256sum`)")
            }
            guard byDigest[hex] == nil else { throw KeyLoadError("api keys '\(byDigest[hex]!.name)' and '\(key.name)' have the same sha256") }
            byDigest[hex] = key
        }
        self.byDigest = byDigest
    }

    public var isEmpty: Bool { byDigest.isEmpty }

    public func key(for presented: some StringProtocol) -> APIKey? {
        byDigest[Self.digest(presented)]
    }

    public static func digest(_ key: some StringProtocol) -> String {
        let hexDigits = Array("0123456789abcdef".utf8)
        var hex: [UInt8] = []
        hex.reserveCapacity(64)
        for byte in SHA256.hash(data: Array(key.utf8)) {
            hex.append(hexDigits[Int(byte >> 4)])
            hex.append(hexDigits[Int(byte & 0x0F)])
        }
        return String(decoding: hex, as: UTF8.self)
    }
}
