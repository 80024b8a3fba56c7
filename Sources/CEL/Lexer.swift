/// One token of an expression, with the UTF-8 offset where it starts.
struct Token: Equatable {
    enum Kind: Equatable {
        case identifier(String)
        /// The magnitude: the parser applies a leading '-' (so -9223372036854775808 fits).
        case int(UInt64)
        case double(Double)
        case string(String)
        case punctuation(String)
        case end
    }
    var kind: Kind
    var offset: Int
}

/// Splits an expression into tokens (CEL's lexical grammar, without bytes and unsigned literals).
struct Lexer {
    private let bytes: [UInt8]
    private var index = 0
    let source: String

    init(_ source: String) {
        self.source = source
        bytes = Array(source.utf8)
    }

    /// 1-based column, in characters, of a UTF-8 offset.
    static func column(of offset: Int, in source: String) -> Int {
        String(decoding: Array(source.utf8).prefix(offset), as: UTF8.self).count + 1
    }

    private func error(_ message: String, at offset: Int) -> CELCompileError {
        CELCompileError(column: Lexer.column(of: offset, in: source), message: message, expression: source)
    }

    mutating func tokens() throws(CELCompileError) -> [Token] {
        var tokens: [Token] = []
        while true {
            let token = try next()
            tokens.append(token)
            if token.kind == .end { return tokens }
        }
    }

    private static let twoCharacterPunctuation: Set<String> = ["==", "!=", "<=", ">=", "&&", "||"]
    private static let punctuation: Set<UInt8> = Set("+-*/%<>!?:.,()[]{}".utf8)

    private mutating func next() throws(CELCompileError) -> Token {
        while index < bytes.count, [0x20, 0x09, 0x0A, 0x0D].contains(bytes[index]) { index += 1 }
        let start = index
        guard index < bytes.count else { return Token(kind: .end, offset: start) }
        let byte = bytes[index]
        if index + 1 < bytes.count {
            let pair = String(decoding: bytes[index...index + 1], as: UTF8.self)
            if Self.twoCharacterPunctuation.contains(pair) {
                index += 2
                return Token(kind: .punctuation(pair), offset: start)
            }
        }
        if byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "'") {
            return Token(kind: .string(try string(raw: false)), offset: start)
        }
        if (byte == UInt8(ascii: "r") || byte == UInt8(ascii: "R")), index + 1 < bytes.count,
           bytes[index + 1] == UInt8(ascii: "\"") || bytes[index + 1] == UInt8(ascii: "'") {
            index += 1
            return Token(kind: .string(try string(raw: true)), offset: start)
        }
        if Self.isDigit(byte) || (byte == UInt8(ascii: ".") && index + 1 < bytes.count && Self.isDigit(bytes[index + 1])) {
            return try number()
        }
        if Self.isIdentifierStart(byte) {
            while index < bytes.count, Self.isIdentifierStart(bytes[index]) || Self.isDigit(bytes[index]) { index += 1 }
            return Token(kind: .identifier(String(decoding: bytes[start..<index], as: UTF8.self)), offset: start)
        }
        if byte == UInt8(ascii: "&") || byte == UInt8(ascii: "|") || byte == UInt8(ascii: "=") {
            throw error("unexpected '\(Character(Unicode.Scalar(byte)))' (did you mean '\(Character(Unicode.Scalar(byte)))\(Character(Unicode.Scalar(byte)))'?)", at: start)
        }
        if Self.punctuation.contains(byte) {
            index += 1
            return Token(kind: .punctuation(String(Character(Unicode.Scalar(byte)))), offset: start)
        }
        let character = String(decoding: bytes[start...].prefix(4), as: UTF8.self).first.map(String.init) ?? "?"
        throw error("unexpected character '\(character)'", at: start)
    }

    private static func isDigit(_ byte: UInt8) -> Bool { (0x30...0x39).contains(byte) }
    private static func isIdentifierStart(_ byte: UInt8) -> Bool {
        (0x41...0x5A).contains(byte) || (0x61...0x7A).contains(byte) || byte == UInt8(ascii: "_")
    }

    private mutating func number() throws(CELCompileError) -> Token {
        let start = index
        if bytes[index] == UInt8(ascii: "0"), index + 1 < bytes.count, bytes[index + 1] | 0x20 == UInt8(ascii: "x") {
            index += 2
            let digits = index
            while index < bytes.count, Self.isHex(bytes[index]) { index += 1 }
            guard index > digits, let value = UInt64(String(decoding: bytes[digits..<index], as: UTF8.self), radix: 16) else {
                throw error("invalid hexadecimal literal", at: start)
            }
            return Token(kind: .int(value), offset: start)
        }
        var isDouble = false
        while index < bytes.count, Self.isDigit(bytes[index]) { index += 1 }
        if index < bytes.count, bytes[index] == UInt8(ascii: "."), index + 1 < bytes.count, Self.isDigit(bytes[index + 1]) {
            isDouble = true
            index += 1
            while index < bytes.count, Self.isDigit(bytes[index]) { index += 1 }
        }
        if index < bytes.count, bytes[index] | 0x20 == UInt8(ascii: "e") {
            isDouble = true
            index += 1
            if index < bytes.count, bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-") { index += 1 }
            let exponent = index
            while index < bytes.count, Self.isDigit(bytes[index]) { index += 1 }
            guard index > exponent else { throw error("invalid number literal", at: start) }
        }
        let text = String(decoding: bytes[start..<index], as: UTF8.self)
        if index < bytes.count, bytes[index] | 0x20 == UInt8(ascii: "u") {
            throw error("unsigned literals are not supported; write \(text)", at: start)
        }
        if isDouble {
            guard let value = Double(text) else { throw error("invalid number literal", at: start) }
            return Token(kind: .double(value), offset: start)
        }
        guard let value = UInt64(text) else { throw error("integer literal \(text) is out of range", at: start) }
        return Token(kind: .int(value), offset: start)
    }

    private static func isHex(_ byte: UInt8) -> Bool { isDigit(byte) || (0x61...0x66).contains(byte | 0x20) }

    private mutating func string(raw: Bool) throws(CELCompileError) -> String {
        let start = index
        let quote = bytes[index]
        let triple = index + 2 < bytes.count && bytes[index + 1] == quote && bytes[index + 2] == quote
        index += triple ? 3 : 1
        var utf8: [UInt8] = []
        while index < bytes.count {
            let byte = bytes[index]
            if byte == quote {
                if !triple {
                    index += 1
                    return String(decoding: utf8, as: UTF8.self)
                }
                if index + 2 < bytes.count, bytes[index + 1] == quote, bytes[index + 2] == quote {
                    index += 3
                    return String(decoding: utf8, as: UTF8.self)
                }
            }
            if !triple, byte == 0x0A || byte == 0x0D { throw error("unterminated string", at: start) }
            index += 1
            guard byte == UInt8(ascii: "\\"), !raw else {
                utf8.append(byte)
                continue
            }
            guard index < bytes.count else { break }
            let escape = bytes[index]
            index += 1
            switch escape {
            case UInt8(ascii: "n"): utf8.append(0x0A)
            case UInt8(ascii: "r"): utf8.append(0x0D)
            case UInt8(ascii: "t"): utf8.append(0x09)
            case UInt8(ascii: "a"): utf8.append(0x07)
            case UInt8(ascii: "b"): utf8.append(0x08)
            case UInt8(ascii: "f"): utf8.append(0x0C)
            case UInt8(ascii: "v"): utf8.append(0x0B)
            case UInt8(ascii: "\\"), UInt8(ascii: "\""), UInt8(ascii: "'"), UInt8(ascii: "`"), UInt8(ascii: "?"): utf8.append(escape)
            case UInt8(ascii: "u"), UInt8(ascii: "U"), UInt8(ascii: "x"):
                let length = escape == UInt8(ascii: "u") ? 4 : escape == UInt8(ascii: "U") ? 8 : 2
                guard index + length <= bytes.count,
                      let value = UInt32(String(decoding: bytes[index..<index + length], as: UTF8.self), radix: 16),
                      let scalar = Unicode.Scalar(value) else { throw error("invalid escape in string", at: index - 2) }
                index += length
                utf8 += Array(String(Character(scalar)).utf8)
            default:
                throw error("invalid escape '\\\(Character(Unicode.Scalar(escape)))' in string", at: index - 2)
            }
        }
        throw error("unterminated string", at: start)
    }
}
