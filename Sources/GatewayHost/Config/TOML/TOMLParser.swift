/// Reads a TOML 1.0 document into a `TOMLTable` (see `TOMLValue` for why the gateway has its
/// own): comments, bare, quoted and dotted keys, `[tables]` and `[[arrays of tables]]`, the four
/// kinds of strings with their escapes, integers (decimal, hex, octal, binary, `_`), floats
/// (`inf`, `nan`), booleans, date-times (kept as written), arrays and inline tables; a key or a
/// table defined twice is an error. Errors carry the 1-based line and column.
struct TOMLParser {
    /// A table while the document is read: whether `[header]` defined it, whether it is closed
    /// (inline tables and values cannot be extended).
    private final class Node {
        enum Entry {
            case value(TOMLValue)
            case table(Node)
            case tables([Node])
        }
        var order: [String] = []
        var entries: [String: Entry] = [:]
        var defined = false
        var closed = false

        func set(_ key: String, _ entry: Entry) {
            if entries[key] == nil { order.append(key) }
            entries[key] = entry
        }

        var value: TOMLTable {
            var table = TOMLTable()
            for key in order {
                switch entries[key]! {
                case .value(let value): table[key] = value
                case .table(let node): table[key] = .table(node.value)
                case .tables(let nodes): table[key] = .array(nodes.map { .table($0.value) })
                }
            }
            return table
        }
    }

    private let bytes: [UInt8]
    private var index = 0
    private var line = 1
    private var lineStart = 0

    init(_ text: String) { bytes = Array(text.utf8) }

    mutating func parse() throws(TOMLSyntaxError) -> TOMLTable {
        let root = Node()
        var current = root
        while true {
            skipBlank(newlines: true)
            guard let byte = peek() else { break }
            if byte == UInt8(ascii: "[") {
                current = try header(root)
            } else {
                try keyValue(into: current)
            }
            skipBlank(newlines: false)
            if let byte = peek(), byte != 0x0A, byte != 0x0D {
                throw error("expected the end of the line after a value, found '\(Character(UnicodeScalar(byte)))'")
            }
        }
        return root.value
    }

    // MARK: Structure

    private mutating func header(_ root: Node) throws(TOMLSyntaxError) -> Node {
        let start = position
        advance()
        let isArray = peek() == UInt8(ascii: "[")
        if isArray { advance() }
        skipBlank(newlines: false)
        let path = try key()
        skipBlank(newlines: false)
        guard consume("]"), !isArray || consume("]") else { throw error("expected '\(isArray ? "]]" : "]")' to close the table header") }
        var node = root
        for part in path.dropLast() {
            node = try open(part, in: node, at: start)
        }
        let last = path.last!
        let name = path.joined(separator: ".")
        switch node.entries[last] {
        case nil:
            let table = Node()
            table.defined = true
            node.set(last, isArray ? .tables([table]) : .table(table))
            return table
        case .table(let table)?:
            guard !isArray, !table.defined, !table.closed else { throw error("table [\(name)] is defined twice", at: start) }
            table.defined = true
            return table
        case .tables(var tables)?:
            guard isArray else { throw error("[\(name)] is an array of tables ([[\(name)]]), not a table", at: start) }
            let table = Node()
            table.defined = true
            tables.append(table)
            node.set(last, .tables(tables))
            return table
        case .value?:
            throw error("'\(name)' is a value already, not a table", at: start)
        }
    }

    /// The table `key` of `node` (the last of an array of tables), created if absent.
    private func open(_ key: String, in node: Node, at start: (Int, Int)) throws(TOMLSyntaxError) -> Node {
        switch node.entries[key] {
        case nil:
            let table = Node()
            node.set(key, .table(table))
            return table
        case .table(let table)?:
            guard !table.closed else { throw error("'\(key)' is an inline table and cannot be extended", at: start) }
            return table
        case .tables(let tables)?:
            return tables.last!
        case .value?:
            throw error("'\(key)' is a value already, not a table", at: start)
        }
    }

    private mutating func keyValue(into node: Node) throws(TOMLSyntaxError) {
        let start = position
        let path = try key()
        skipBlank(newlines: false)
        guard consume("=") else { throw error("expected '=' after the key '\(path.joined(separator: "."))'") }
        skipBlank(newlines: false)
        let value = try self.value()
        var target = node
        for part in path.dropLast() { target = try open(part, in: target, at: start) }
        guard target.entries[path.last!] == nil else {
            throw error("the key '\(path.joined(separator: "."))' is defined twice", at: start)
        }
        target.set(path.last!, value)
    }

    /// `a.b."c d"`: bare or quoted parts.
    private mutating func key() throws(TOMLSyntaxError) -> [String] {
        var parts: [String] = []
        repeat {
            skipBlank(newlines: false)
            guard let byte = peek() else { throw error("expected a key") }
            if byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "'") {
                guard case .value(.string(let text)) = try string() else { throw error("expected a key") }
                parts.append(text)
            } else {
                let start = index
                while let byte = peek(), Self.isBare(byte) { advance() }
                guard index > start else { throw error("expected a key, found '\(Character(UnicodeScalar(byte)))'") }
                parts.append(String(decoding: bytes[start..<index], as: UTF8.self))
            }
            skipBlank(newlines: false)
        } while consume(".")
        return parts
    }

    // MARK: Values

    private mutating func value() throws(TOMLSyntaxError) -> Node.Entry {
        guard let byte = peek() else { throw error("expected a value") }
        switch byte {
        case UInt8(ascii: "\""), UInt8(ascii: "'"): return try string()
        case UInt8(ascii: "["): return .value(try array())
        case UInt8(ascii: "{"): return try inlineTable()
        default:
            let start = index
            while let byte = peek(), Self.isScalar(byte) || (byte == 0x20 && isDateTimeSpace(from: start)) { advance() }
            let token = String(decoding: bytes[start..<index], as: UTF8.self)
            guard !token.isEmpty else { throw error("expected a value, found '\(Character(UnicodeScalar(byte)))'") }
            if let value = Self.scalar(token) { return .value(value) }
            throw error("'\(token)' is not a TOML value (strings need quotes)", at: (line, start - lineStart + 1))
        }
    }

    private mutating func array() throws(TOMLSyntaxError) -> TOMLValue {
        let start = position
        advance()
        var items: [TOMLValue] = []
        while true {
            skipBlank(newlines: true)
            guard let byte = peek() else { throw error("the array never closes (expected ']')", at: start) }
            if byte == UInt8(ascii: "]") {
                advance()
                return .array(items)
            }
            switch try value() {
            case .value(let value): items.append(value)
            case .table(let node): items.append(.table(node.value))
            case .tables: throw error("expected a value")
            }
            skipBlank(newlines: true)
            if consume(",") { continue }
            guard peek() == UInt8(ascii: "]") else {
                throw peek() == nil ? error("the array never closes (expected ']')", at: start) : error("expected ',' or ']' in the array")
            }
        }
    }

    private mutating func inlineTable() throws(TOMLSyntaxError) -> Node.Entry {
        advance()
        let node = Node()
        skipBlank(newlines: false)
        if consume("}") {
            node.closed = true
            return .table(node)
        }
        while true {
            skipBlank(newlines: false)
            try keyValue(into: node)
            skipBlank(newlines: false)
            if consume("}") { break }
            guard consume(",") else { throw error("expected ',' or '}' in the inline table") }
        }
        func close(_ node: Node) {
            node.closed = true
            for case .table(let child) in node.entries.values { close(child) }
        }
        close(node)
        return .table(node)
    }

    private mutating func string() throws(TOMLSyntaxError) -> Node.Entry {
        let start = position
        let quote = peek()!
        let literal = quote == UInt8(ascii: "'")
        let multiline = index + 2 < bytes.count && bytes[index + 1] == quote && bytes[index + 2] == quote
        advance(multiline ? 3 : 1)
        if multiline, peek() == 0x0A { newline() } else if multiline, peek() == 0x0D, index + 1 < bytes.count, bytes[index + 1] == 0x0A { advance(); newline() }
        var out: [UInt8] = []
        while true {
            guard let byte = peek() else { throw error("the string never closes", at: start) }
            if byte == quote {
                if !multiline {
                    advance()
                    break
                }
                var run = 0
                while index + run < bytes.count, bytes[index + run] == quote { run += 1 }
                if run >= 3 {
                    // Up to two quotes before the closing three belong to the string.
                    guard run <= 5 else { throw error("too many quotes at the end of a multi-line string") }
                    out.append(contentsOf: repeatElement(quote, count: run - 3))
                    advance(run)
                    break
                }
                out.append(contentsOf: repeatElement(quote, count: run))
                advance(run)
            } else if byte == 0x0A {
                guard multiline else { throw error("a newline in a single-line string", at: start) }
                out.append(byte)
                newline()
            } else if byte == UInt8(ascii: "\\"), !literal {
                advance()
                try escape(into: &out, multiline: multiline)
            } else {
                out.append(byte)
                advance()
            }
        }
        return .value(.string(String(decoding: out, as: UTF8.self)))
    }

    private mutating func escape(into out: inout [UInt8], multiline: Bool) throws(TOMLSyntaxError) {
        guard let byte = peek() else { throw error("the string never closes") }
        advance()
        switch byte {
        case UInt8(ascii: "b"): out.append(0x08)
        case UInt8(ascii: "t"): out.append(0x09)
        case UInt8(ascii: "n"): out.append(0x0A)
        case UInt8(ascii: "f"): out.append(0x0C)
        case UInt8(ascii: "r"): out.append(0x0D)
        case UInt8(ascii: "e"): out.append(0x1B)
        case UInt8(ascii: "\""): out.append(0x22)
        case UInt8(ascii: "\\"): out.append(0x5C)
        case UInt8(ascii: "u"), UInt8(ascii: "U"):
            let count = byte == UInt8(ascii: "u") ? 4 : 8
            guard index + count <= bytes.count, let code = UInt32(String(decoding: bytes[index..<index + count], as: UTF8.self), radix: 16),
                  let scalar = Unicode.Scalar(code) else { throw error("an invalid \\\(Character(UnicodeScalar(byte))) escape") }
            out.append(contentsOf: Array(String(Character(scalar)).utf8))
            advance(count)
        case 0x20, 0x09, 0x0A, 0x0D:
            // A line-ending backslash: the newline and the whitespace after it are dropped.
            guard multiline else { throw error("an invalid escape in a single-line string") }
            index -= 1
            while let next = peek(), next == 0x20 || next == 0x09 { advance() }
            guard let next = peek(), next == 0x0A || next == 0x0D else { throw error("an invalid escape '\\ '") }
            while let next = peek(), [0x20, 0x09, 0x0A, 0x0D].contains(next) {
                if next == 0x0A { newline() } else { advance() }
            }
        default:
            throw error("an invalid escape '\\\(Character(UnicodeScalar(byte)))'")
        }
    }

    /// A number, boolean or date-time token.
    private static func scalar(_ token: String) -> TOMLValue? {
        switch token {
        case "true": return .boolean(true)
        case "false": return .boolean(false)
        case "inf", "+inf": return .float(.infinity)
        case "-inf": return .float(-.infinity)
        case "nan", "+nan", "-nan": return .float(.nan)
        default: break
        }
        let utf8 = Array(token.utf8)
        let looksLikeDate = utf8.count >= 10 && utf8[4] == UInt8(ascii: "-") && utf8[7] == UInt8(ascii: "-")
        let looksLikeTime = utf8.count >= 8 && utf8[2] == UInt8(ascii: ":") && utf8[5] == UInt8(ascii: ":")
        if looksLikeDate || looksLikeTime { return .datetime(token) }
        guard Self.validUnderscores(token) else { return nil }
        let plain = token.replacingOccurrences(of: "_", with: "")
        for (prefix, radix) in [("0x", 16), ("0o", 8), ("0b", 2)] where plain.hasPrefix(prefix) {
            return Int(plain.dropFirst(2), radix: radix).map(TOMLValue.integer)
        }
        let unsigned = plain.hasPrefix("+") || plain.hasPrefix("-") ? String(plain.dropFirst()) : plain
        if unsigned.count > 1, unsigned.hasPrefix("0"), unsigned.allSatisfy(\.isNumber) { return nil }  // leading zeros
        if unsigned.allSatisfy(\.isNumber), !unsigned.isEmpty { return Int(plain).map(TOMLValue.integer) }
        let isFloat = unsigned.contains(".") || unsigned.contains("e") || unsigned.contains("E")
        guard isFloat, let first = unsigned.first, first.isNumber, !unsigned.hasSuffix("."), !unsigned.contains(".e"), !unsigned.contains(".E") else { return nil }
        return Double(plain).map(TOMLValue.float)
    }

    private static func validUnderscores(_ token: String) -> Bool {
        let chars = Array(token)
        for (index, char) in chars.enumerated() where char == "_" {
            guard index > 0, index + 1 < chars.count, chars[index - 1].isHexDigit, chars[index + 1].isHexDigit else { return false }
        }
        return true
    }

    // MARK: Bytes

    private var position: (Int, Int) { (line, index - lineStart + 1) }
    private func peek() -> UInt8? { index < bytes.count ? bytes[index] : nil }
    private mutating func advance(_ count: Int = 1) { index += count }
    private mutating func newline() {
        index += 1
        line += 1
        lineStart = index
    }

    private mutating func consume(_ character: Unicode.Scalar) -> Bool {
        guard peek() == UInt8(ascii: character) else { return false }
        advance()
        return true
    }

    /// Spaces, tabs and comments; and newlines when `newlines`.
    private mutating func skipBlank(newlines: Bool) {
        while let byte = peek() {
            switch byte {
            case 0x20, 0x09: advance()
            case UInt8(ascii: "#"):
                while let next = peek(), next != 0x0A { advance() }
            case 0x0D where newlines: advance()
            case 0x0A where newlines: newline()
            default: return
            }
        }
    }

    /// A space inside a date-time (`1979-05-27 07:32:00`): after a full date, before a digit.
    private func isDateTimeSpace(from start: Int) -> Bool {
        index - start == 10 && bytes[start + 4] == UInt8(ascii: "-") && index + 1 < bytes.count && (0x30...0x39).contains(bytes[index + 1])
    }

    private static func isBare(_ byte: UInt8) -> Bool {
        (0x30...0x39).contains(byte) || (0x41...0x5A).contains(byte) || (0x61...0x7A).contains(byte) || byte == 0x2D || byte == 0x5F
    }

    private static func isScalar(_ byte: UInt8) -> Bool {
        isBare(byte) || byte == UInt8(ascii: "+") || byte == UInt8(ascii: ".") || byte == UInt8(ascii: ":")
    }

    private func error(_ message: String, at place: (Int, Int)? = nil) -> TOMLSyntaxError {
        let (line, column) = place ?? position
        return TOMLSyntaxError(line: line, column: column, message: message)
    }
}
