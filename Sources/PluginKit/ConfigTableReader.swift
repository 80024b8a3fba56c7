import JSON

/// A configuration mistake, with a message that says what to change.
public struct ConfigTableError: Error, CustomStringConvertible, Sendable, Equatable {
    /// The message, naming the key (`targets[0].url must be a string`).
    public var description: String
    /// A mistake described by `description`.
    public init(_ description: String) { self.description = description }
}

/// Reads typed values out of a plugin's config table (JSON text of the route's TOML table) and
/// remembers which keys were read, so that a leftover (a typo) is an error naming the key.
public struct ConfigTableReader {
    let members: [String: JSONValue]
    let path: String
    private var used = Set<String>()

    /// The config table given as JSON text.
    public init(json: String) throws(ConfigTableError) {
        try self.init(table: JSONValue(Array(json.utf8)), path: "")
    }

    /// A nested table, `path` naming it in errors (`targets[0]`).
    public init(table: JSONValue, path: String) throws(ConfigTableError) {
        guard let members = table.members else { throw ConfigTableError("\(path.isEmpty ? "the config" : path) must be a table") }
        self.members = Dictionary(members.map { ($0.name, $0.value) }, uniquingKeysWith: { first, _ in first })
        self.path = path.isEmpty ? "" : path + "."
    }

    private mutating func value(_ key: String) -> JSONValue? {
        used.insert(key)
        return members[key]
    }

    private func wrong(_ key: String, _ what: String) -> ConfigTableError { ConfigTableError("\(path)\(key) must be \(what)") }

    /// The string at `key`; nil when absent; an error when it is not a string.
    public mutating func string(_ key: String) throws(ConfigTableError) -> String? {
        guard let value = value(key) else { return nil }
        guard let string = value.string else { throw wrong(key, "a string") }
        return string
    }

    /// The boolean at `key`; nil when absent; an error when it is not one.
    public mutating func bool(_ key: String) throws(ConfigTableError) -> Bool? {
        guard let value = value(key) else { return nil }
        switch value.text.trimmingWhitespace {
        case "true": return true
        case "false": return false
        default: throw wrong(key, "true or false")
        }
    }

    /// The integer at `key`, which must lie in `range`; nil when absent.
    public mutating func int(_ key: String, range: ClosedRange<Int>) throws(ConfigTableError) -> Int? {
        guard let value = value(key) else { return nil }
        guard let number = value.int else { throw wrong(key, "an integer") }
        guard range.contains(number) else { throw ConfigTableError("\(path)\(key) = \(number) is outside \(range.lowerBound)...\(range.upperBound)") }
        return number
    }

    /// The array of strings at `key`; nil when absent.
    public mutating func strings(_ key: String) throws(ConfigTableError) -> [String]? {
        guard let value = value(key) else { return nil }
        guard let strings = value.elements?.compactMap(\.string), strings.count == value.elements?.count else {
            throw wrong(key, "an array of strings")
        }
        return strings
    }

    /// The table of strings at `key` (`headers = { a = "b" }`); nil when absent.
    public mutating func stringTable(_ key: String) throws(ConfigTableError) -> [String: String]? {
        guard let value = value(key) else { return nil }
        guard let members = value.members else { throw wrong(key, "a table of strings") }
        var table: [String: String] = [:]
        for member in members {
            guard let string = member.value.string else { throw wrong(key + "." + member.name, "a string") }
            table[member.name] = string
        }
        return table
    }

    /// The nested table at `key`, to read with another reader; nil when absent.
    public mutating func table(_ key: String) throws(ConfigTableError) -> JSONValue? {
        guard let value = value(key) else { return nil }
        guard value.members != nil else { throw wrong(key, "a table") }
        return value
    }

    /// The array of tables at `key` (`[[routes.handler.config.targets]]`); nil when absent.
    public mutating func tables(_ key: String) throws(ConfigTableError) -> [JSONValue]? {
        guard let value = value(key) else { return nil }
        guard let elements = value.elements, elements.allSatisfy({ $0.members != nil }) else { throw wrong(key, "an array of tables") }
        return elements
    }

    /// Fails on the first key nobody asked for.
    public func finish() throws(ConfigTableError) {
        if let unknown = members.keys.sorted().first(where: { !used.contains($0) }) {
            throw ConfigTableError("unknown key '\(path)\(unknown)'")
        }
    }
}
