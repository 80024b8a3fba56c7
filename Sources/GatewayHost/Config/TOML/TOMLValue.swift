/// A TOML document's values (TOML 1.0), read by `TOMLParser` and written back by `tomlText`.
///
/// The gateway reads TOML with its own parser rather than TOMLKit because TOMLKit 0.6.0 never
/// frees a parsed document (its `TOMLTable` has no deinit and its key lists are `strdup`ed on
/// every access): about 9 KB per reload of a 500-byte file, for the life of the process. This is
/// a plain value tree, freed like any Swift value.
indirect enum TOMLValue: Equatable, Sendable {
    case string(String)
    case integer(Int)
    case float(Double)
    case boolean(Bool)
    /// An offset or local date-time, date or time, as written.
    case datetime(String)
    case array([TOMLValue])
    case table(TOMLTable)

    var string: String? { if case .string(let value) = self { return value } else { return nil } }
    var int: Int? { if case .integer(let value) = self { return value } else { return nil } }
    var double: Double? { if case .float(let value) = self { return value } else { return nil } }
    var bool: Bool? { if case .boolean(let value) = self { return value } else { return nil } }
    var array: [TOMLValue]? { if case .array(let value) = self { return value } else { return nil } }
    var table: TOMLTable? { if case .table(let value) = self { return value } else { return nil } }

    /// The value's kind, for error messages.
    var type: String {
        switch self {
        case .string: return "a string"
        case .integer: return "an integer"
        case .float: return "a float"
        case .boolean: return "a boolean"
        case .datetime: return "a date-time"
        case .array: return "an array"
        case .table: return "a table"
        }
    }
}

/// A table: keys in the order they were written.
struct TOMLTable: Equatable, Sendable {
    private(set) var keys: [String] = []
    private var values: [String: TOMLValue] = [:]

    init() {}

    subscript(key: String) -> TOMLValue? {
        get { values[key] }
        set {
            if values[key] == nil, newValue != nil { keys.append(key) }
            if newValue == nil { keys.removeAll { $0 == key } }
            values[key] = newValue
        }
    }

    /// Parses a document; throws `TOMLSyntaxError` with the line and column.
    init(parsing text: String) throws(TOMLSyntaxError) {
        var parser = TOMLParser(text)
        self = try parser.parse()
    }

    /// The table as compact JSON (what plugins receive as their config).
    var jsonText: String {
        var out = ""
        Self.writeJSON(.table(self), to: &out)
        return out
    }

    /// The table as a TOML document.
    var tomlText: String {
        var out = ""
        writeTOML(path: [], to: &out)
        return out
    }

    private static func writeJSON(_ value: TOMLValue, to out: inout String) {
        switch value {
        case .string(let string), .datetime(let string): writeQuoted(string, to: &out)
        case .integer(let int): out += String(int)
        case .float(let double): out += double.isFinite ? "\(double)" : "null"
        case .boolean(let bool): out += bool ? "true" : "false"
        case .array(let items):
            out += "["
            for (index, item) in items.enumerated() {
                if index > 0 { out += "," }
                writeJSON(item, to: &out)
            }
            out += "]"
        case .table(let table):
            out += "{"
            for (index, key) in table.keys.enumerated() {
                if index > 0 { out += "," }
                writeQuoted(key, to: &out)
                out += ":"
                writeJSON(table[key]!, to: &out)
            }
            out += "}"
        }
    }

    /// A JSON / TOML basic string (the escapes they share).
    static func writeQuoted(_ string: String, to out: inout String) {
        out += "\""
        for scalar in string.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20 || scalar.value == 0x7F:
                let hex = String(scalar.value, radix: 16, uppercase: true)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: out.unicodeScalars.append(scalar)
            }
        }
        out += "\""
    }

    private static func key(_ key: String) -> String {
        let bare = !key.isEmpty && key.utf8.allSatisfy { byte in
            (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A) || byte == 0x2D || byte == 0x5F
        }
        if bare { return key }
        var out = ""
        writeQuoted(key, to: &out)
        return out
    }

    private static func isArrayOfTables(_ value: TOMLValue) -> Bool {
        guard case .array(let items) = value, !items.isEmpty else { return false }
        return items.allSatisfy { $0.table != nil }
    }

    private func writeTOML(path: [String], to out: inout String) {
        for key in keys {
            let value = self[key]!
            if value.table != nil || Self.isArrayOfTables(value) { continue }
            out += Self.key(key) + " = "
            Self.writeInline(value, to: &out)
            out += "\n"
        }
        for key in keys {
            let value = self[key]!
            let header = (path + [key]).map(Self.key).joined(separator: ".")
            if let table = value.table {
                out += "\n[\(header)]\n"
                table.writeTOML(path: path + [key], to: &out)
            } else if Self.isArrayOfTables(value), let items = value.array {
                for item in items {
                    out += "\n[[\(header)]]\n"
                    item.table!.writeTOML(path: path + [key], to: &out)
                }
            }
        }
    }

    private static func writeInline(_ value: TOMLValue, to out: inout String) {
        switch value {
        case .string(let string): writeQuoted(string, to: &out)
        case .datetime(let text): out += text
        case .integer(let int): out += String(int)
        case .float(let double): out += double.isNaN ? "nan" : double.isInfinite ? (double < 0 ? "-inf" : "inf") : "\(double)"
        case .boolean(let bool): out += bool ? "true" : "false"
        case .array(let items):
            out += "["
            for (index, item) in items.enumerated() {
                if index > 0 { out += ", " }
                writeInline(item, to: &out)
            }
            out += "]"
        case .table(let table):
            out += "{"
            for (index, name) in table.keys.enumerated() {
                out += index > 0 ? ", " : " "
                out += key(name) + " = "
                writeInline(table[name]!, to: &out)
            }
            out += table.keys.isEmpty ? "}" : " }"
        }
    }
}

/// Why a TOML document could not be read, and where.
struct TOMLSyntaxError: Error, Equatable, CustomStringConvertible {
    var line: Int
    var column: Int
    var message: String
    var description: String { message }
}
