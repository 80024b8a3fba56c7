/// Reads one TOML table with typed accessors, remembering which keys were read so that
/// `finish()` can reject keys nobody understood (a typo in a key must not be ignored).
struct TOMLReader {
    let table: TOMLTable
    let path: String
    let file: String
    private var seen: Set<String> = []

    init(table: TOMLTable, path: String, file: String) {
        self.table = table
        self.path = path
        self.file = file
    }

    func error(_ key: String?, _ message: String) -> ConfigError {
        ConfigError(file: file, keyPath: key.map { path.isEmpty ? $0 : "\(path).\($0)" } ?? (path.isEmpty ? nil : path),
                    message: message)
    }

    mutating func has(_ key: String) -> Bool {
        table[key] != nil
    }

    mutating func string(_ key: String) throws -> String? {
        seen.insert(key)
        guard let value = table[key] else { return nil }
        guard let string = value.string else { throw error(key, "expected a string, found \(value.type)") }
        return string
    }

    mutating func requiredString(_ key: String) throws -> String {
        guard let value = try string(key) else { throw error(key, "is required") }
        return value
    }

    mutating func int(_ key: String) throws -> Int? {
        seen.insert(key)
        guard let value = table[key] else { return nil }
        guard let int = value.int else { throw error(key, "expected an integer, found \(value.type)") }
        return int
    }

    mutating func double(_ key: String) throws -> Double? {
        seen.insert(key)
        guard let value = table[key] else { return nil }
        if let int = value.int { return Double(int) }
        guard let double = value.double else { throw error(key, "expected a number, found \(value.type)") }
        return double
    }

    mutating func bool(_ key: String) throws -> Bool? {
        seen.insert(key)
        guard let value = table[key] else { return nil }
        guard let bool = value.bool else { throw error(key, "expected true or false, found \(value.type)") }
        return bool
    }

    mutating func strings(_ key: String) throws -> [String]? {
        seen.insert(key)
        guard let value = table[key] else { return nil }
        if let single = value.string { return [single] }
        guard let array = value.array else { throw error(key, "expected an array of strings, found \(value.type)") }
        return try array.enumerated().map { index, element in
            guard let string = element.string else { throw error("\(key)[\(index)]", "expected a string") }
            return string
        }
    }

    mutating func table(_ key: String) throws -> TOMLReader? {
        seen.insert(key)
        guard let value = table[key] else { return nil }
        guard let child = value.table else { throw error(key, "expected a table, found \(value.type)") }
        return TOMLReader(table: child, path: path.isEmpty ? key : "\(path).\(key)", file: file)
    }

    /// A table of strings (`headers = { name = "value" }`).
    mutating func stringTable(_ key: String) throws -> [String: String]? {
        guard var child = try table(key) else { return nil }
        var result: [String: String] = [:]
        for name in child.table.keys { result[name] = try child.requiredString(name) }
        return result
    }

    /// An array of tables (`[[key]]`).
    mutating func tables(_ key: String) throws -> [TOMLReader] {
        seen.insert(key)
        guard let value = table[key] else { return [] }
        guard let array = value.array else { throw error(key, "expected an array of tables ([[\(key)]]), found \(value.type)") }
        return try array.enumerated().map { index, element in
            guard let child = element.table else { throw error("\(key)[\(index)]", "expected a table") }
            return TOMLReader(table: child, path: path.isEmpty ? "\(key)[\(index)]" : "\(path).\(key)[\(index)]", file: file)
        }
    }

    /// A sub-table as a JSON document, for handing to a plugin. Absent = `{}`.
    mutating func json(_ key: String) throws -> String {
        seen.insert(key)
        guard let value = table[key] else { return "{}" }
        guard let child = value.table else { throw error(key, "expected a table, found \(value.type)") }
        return child.jsonText
    }

    /// Fails on keys that were never read.
    func finish() throws {
        let unknown = table.keys.filter { !seen.contains($0) }.sorted()
        if let first = unknown.first {
            throw error(first, "unknown key (known here: \(seen.sorted().joined(separator: ", ")))")
        }
    }
}
