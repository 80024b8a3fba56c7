import JSON

/// The HTTP request of one tool call.
public struct OpenAPIRequest: Sendable, Equatable {
    public var method: String
    public var url: String
    public var headers: [(name: String, value: String)]
    public var body: [UInt8]

    public static func == (a: Self, b: Self) -> Bool {
        a.method == b.method && a.url == b.url && a.body == b.body
            && a.headers.map { "\($0.name):\($0.value)" } == b.headers.map { "\($0.name):\($0.value)" }
    }
}

/// Why a call's arguments cannot become a request; the text is the tool error the model reads.
public struct ArgumentError: Error, CustomStringConvertible, Sendable, Equatable {
    public let description: String
    public init(_ description: String) { self.description = description }
}

extension OpenAPITool {
    /// Checks `arguments` (the call's `arguments` object; nil: none) and builds the request to
    /// `baseURL` (no trailing slash). Values are written as OpenAPI's `style` and `explode`
    /// say (path and header `simple`, query and cookie `form`, `label`, `matrix`,
    /// `spaceDelimited`, `pipeDelimited`, `deepObject`) and percent-encoded for where they go.
    public func request(arguments: JSONValue?, baseURL: String) throws(ArgumentError) -> OpenAPIRequest {
        let arguments = arguments ?? JSONValue(Array("{}".utf8))
        if let problem = argumentSchema.problem(arguments) {
            throw ArgumentError("Invalid arguments for tool '\(name)': \(problem).")
        }
        // The arguments object read once (its members looked up by name below).
        var given: [String: JSONValue] = [:]
        for member in arguments.members ?? [] where !ArgumentKind.isNull(member.value) { given[member.name] = member.value }
        var pathValues: [String: String] = [:]
        var query: [String] = []
        var headers: [(name: String, value: String)] = []
        var cookies: [String] = []
        for parameter in parameters {
            guard let value = given[parameter.property] else { continue }
            let item = ParameterValue(value, asJSON: parameter.isJSONContent)
            switch parameter.location {
            case .path:
                pathValues[parameter.name] = item.pathText(parameter)
            case .query:
                query += item.queryPairs(parameter)
            case .header:
                let text = item.simpleText(explode: parameter.explode, encode: { $0 })
                guard !text.utf8.contains(where: { $0 == 0x0D || $0 == 0x0A || $0 == 0 }) else {
                    throw ArgumentError("Invalid arguments for tool '\(name)': '\(parameter.property)' is a header value and may not contain line breaks.")
                }
                headers.append((parameter.name, text))
            case .cookie:
                cookies.append(parameter.name + "=" + item.simpleText(explode: false, encode: { PercentEncoding.encode($0, keeping: PercentEncoding.unreserved) }))
            }
        }
        if !cookies.isEmpty { headers.append(("cookie", cookies.joined(separator: "; "))) }
        var bytes: [UInt8] = []
        if let body, let value = given[body.property] {
            switch body.encoding {
            case .json:
                bytes = Array(value.raw)
            case .form:
                bytes = Array(FormEncoding.encode(value).utf8)
            case .text:
                bytes = Array((value.string ?? value.text).utf8)
            }
            headers.append(("content-type", body.mediaType))
        }
        headers.append(("accept", "application/json, text/plain;q=0.9, */*;q=0.8"))
        let url = baseURL + Self.expand(path, pathValues) + (query.isEmpty ? "" : "?" + query.joined(separator: "&"))
        return OpenAPIRequest(method: method, url: url, headers: headers, body: bytes)
    }

    /// `template` (`/pet/{petId}`) with each `{name}` replaced by its value (encoded already).
    static func expand(_ template: String, _ values: [String: String]) -> String {
        guard !values.isEmpty else { return template }
        let bytes = Array(template.utf8)
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count + 32)
        var index = 0
        while index < bytes.count {
            if bytes[index] == UInt8(ascii: "{"), let close = bytes[index...].firstIndex(of: UInt8(ascii: "}")),
               let value = values[String(decoding: bytes[(index + 1)..<close], as: UTF8.self)] {
                out += value.utf8
                index = close + 1
            } else {
                out.append(bytes[index])
                index += 1
            }
        }
        return String(decoding: out, as: UTF8.self)
    }
}

/// One argument's value, written the ways a parameter may ask for.
struct ParameterValue {
    enum Shape {
        case primitive(String)
        case array([String])
        case object([(String, String)])
    }

    let shape: Shape

    init(_ value: JSONValue, asJSON: Bool) {
        if asJSON {
            shape = .primitive(Self.compact(value))
            return
        }
        switch ArgumentKind.firstByte(of: value) {
        case UInt8(ascii: "{"): shape = .object((value.members ?? []).map { ($0.name, Self.scalar($0.value)) })
        case UInt8(ascii: "["): shape = .array((value.elements ?? []).map(Self.scalar))
        default: shape = .primitive(Self.scalar(value))
        }
    }

    /// A value inside a parameter: a string's text, a number or boolean as written, anything
    /// nested as JSON.
    static func scalar(_ value: JSONValue) -> String {
        switch ArgumentKind.firstByte(of: value) {
        case UInt8(ascii: "\""): value.string ?? ""
        case UInt8(ascii: "{"), UInt8(ascii: "["): compact(value)
        default: value.text.trimmingWhitespace  // a number, true, false
        }
    }

    /// JSON text without the whitespace between tokens.
    static func compact(_ value: JSONValue) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(value.range.count)
        var inString = false
        var escaped = false
        for byte in value.raw {
            if inString {
                out.append(byte)
                if escaped { escaped = false } else if byte == UInt8(ascii: "\\") { escaped = true } else if byte == UInt8(ascii: "\"") { inString = false }
            } else if byte == UInt8(ascii: "\"") {
                inString = true
                out.append(byte)
            } else if ![0x20, 0x0A, 0x0D, 0x09].contains(byte) {
                out.append(byte)
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// `simple` style (path and header): `a,b,c`; objects `k,v,k2,v2`, or `k=v,k2=v2` exploded.
    func simpleText(explode: Bool, encode: (String) -> String) -> String {
        switch shape {
        case .primitive(let text): encode(text)
        case .array(let items): items.map(encode).joined(separator: ",")
        case .object(let members):
            members.map { explode ? encode($0.0) + "=" + encode($0.1) : encode($0.0) + "," + encode($0.1) }.joined(separator: ",")
        }
    }

    func pathText(_ parameter: OpenAPITool.Parameter) -> String {
        // A value of "." or ".." would be a dot-segment, which servers and proxies resolve
        // (`/files/..` is `/`): its dots are encoded so it stays one segment of its own path.
        let encode = { (text: String) in
            text == "." || text == ".." ? String(repeating: "%2E", count: text.count) : PercentEncoding.encode(text, keeping: PercentEncoding.unreserved)
        }
        switch parameter.style {
        case .label:
            let separator = parameter.explode ? "." : ","
            switch shape {
            case .primitive(let text): return "." + encode(text)
            case .array(let items): return "." + items.map(encode).joined(separator: separator)
            case .object(let members):
                return "." + members.map { parameter.explode ? encode($0.0) + "=" + encode($0.1) : encode($0.0) + "," + encode($0.1) }.joined(separator: separator)
            }
        case .matrix:
            let name = encode(parameter.name)
            switch shape {
            case .primitive(let text): return ";\(name)=" + encode(text)
            case .array(let items):
                return parameter.explode ? items.map { ";\(name)=" + encode($0) }.joined() : ";\(name)=" + items.map(encode).joined(separator: ",")
            case .object(let members):
                return parameter.explode ? members.map { ";" + encode($0.0) + "=" + encode($0.1) }.joined()
                    : ";\(name)=" + members.map { encode($0.0) + "," + encode($0.1) }.joined(separator: ",")
            }
        default:
            return simpleText(explode: parameter.explode, encode: encode)
        }
    }

    /// `name=value` pairs of a query parameter, encoded.
    func queryPairs(_ parameter: OpenAPITool.Parameter) -> [String] {
        let keep = parameter.allowReserved ? PercentEncoding.unreservedAndSafeReserved : PercentEncoding.unreserved
        let encode = { (text: String) in PercentEncoding.encode(text, keeping: keep) }
        let name = PercentEncoding.encode(parameter.name, keeping: PercentEncoding.unreserved)
        switch (shape, parameter.style) {
        case (.primitive(let text), _):
            return ["\(name)=" + encode(text)]
        case (.array(let items), .spaceDelimited):
            return ["\(name)=" + items.map(encode).joined(separator: "%20")]
        case (.array(let items), .pipeDelimited):
            return ["\(name)=" + items.map(encode).joined(separator: "%7C")]
        case (.array(let items), _):
            return parameter.explode ? items.map { "\(name)=" + encode($0) } : ["\(name)=" + items.map(encode).joined(separator: ",")]
        case (.object(let members), .deepObject):
            return members.map { "\(name)%5B" + encode($0.0) + "%5D=" + encode($0.1) }
        case (.object(let members), _):
            return parameter.explode ? members.map { encode($0.0) + "=" + encode($0.1) }
                : ["\(name)=" + members.map { encode($0.0) + "," + encode($0.1) }.joined(separator: ",")]
        }
    }
}

/// RFC 3986 percent-encoding of UTF-8 text.
enum PercentEncoding {
    static let unreserved: Set<UInt8> = Set(Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~".utf8))
    /// With `allowReserved`: reserved characters that do not end or split a query pair.
    static let unreservedAndSafeReserved: Set<UInt8> = unreserved.union(Array(":/?[]@!$'()*,;".utf8))

    static func encode(_ text: String, keeping: Set<UInt8>) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(text.utf8.count)
        let hex = Array("0123456789ABCDEF".utf8)
        for byte in text.utf8 {
            if keeping.contains(byte) {
                out.append(byte)
            } else {
                out += [UInt8(ascii: "%"), hex[Int(byte >> 4)], hex[Int(byte & 0x0F)]]
            }
        }
        return String(decoding: out, as: UTF8.self)
    }
}

/// `application/x-www-form-urlencoded` bodies: an object's members as pairs (an array member
/// repeats its name; anything nested is JSON text), spaces as `+`.
enum FormEncoding {
    static func encode(_ value: JSONValue) -> String {
        func field(_ text: String) -> String {
            PercentEncoding.encode(text, keeping: PercentEncoding.unreserved.union([0x20])).replacingOccurrences(of: " ", with: "+")
        }
        var pairs: [String] = []
        for member in value.members ?? [] where !ArgumentKind.isNull(member.value) {
            if let elements = member.value.elements {
                pairs += elements.map { field(member.name) + "=" + field(ParameterValue.scalar($0)) }
            } else {
                pairs.append(field(member.name) + "=" + field(ParameterValue.scalar(member.value)))
            }
        }
        return pairs.joined(separator: "&")
    }
}
