import JSON

/// One REST operation as an MCP tool: what `tools/list` shows of it, and what a `tools/call`
/// needs to build its HTTP request and read its answer.
///
/// Its `inputSchema` is an object with one property per parameter (path, query, header,
/// cookie), named as the document names it, and the request body, if any, as the property
/// `body`. A name used twice (a path `id` and a header `id`) is told apart by its location
/// (`header_id`); `body` is `request_body` when a parameter is already called `body`.
public struct OpenAPITool: Sendable, Equatable {
    public let name: String
    /// `GET`, `POST`, …
    public let method: String
    /// The path as the document writes it, `/pet/{petId}`.
    public let path: String
    public let operationID: String?
    public let parameters: [Parameter]
    public let body: Body?
    /// The `tools/list` entry.
    public let json: [UInt8]
    /// The input schema alone.
    public let inputSchema: [UInt8]
    /// The input schema as a call's arguments are checked against it.
    public let argumentSchema: ArgumentSchema
    /// Whether the 2xx JSON answer is not an object and sits under `result` in `structuredContent`
    /// (MCP's output schemas and structured content are objects).
    public let wrapsResult: Bool
    /// Whether the tool declares an output schema (a 2xx JSON answer then must be structured).
    public let hasOutputSchema: Bool

    public enum Location: String, Sendable, Equatable {
        case path, query, header, cookie
    }

    /// How a parameter's value is written (OpenAPI's `style` and `explode`).
    public enum Style: String, Sendable, Equatable {
        case simple, form, label, matrix, spaceDelimited, pipeDelimited, deepObject
    }

    public struct Parameter: Sendable, Equatable {
        /// The name in the request (`petId`, `X-Request-ID`).
        public let name: String
        /// The name in the tool's arguments.
        public let property: String
        public let location: Location
        public let required: Bool
        public let style: Style
        public let explode: Bool
        /// Query values keep reserved characters (`:/?#[]@!$&'()*+,;=`) unencoded.
        public let allowReserved: Bool
        /// The parameter is described by `content` (a JSON value sent as text), not a schema.
        public let isJSONContent: Bool
    }

    public struct Body: Sendable, Equatable {
        public enum Encoding: Sendable, Equatable {
            case json
            /// `application/x-www-form-urlencoded`: an object's members as `name=value` pairs.
            case form
            /// A `text/*` body sent as the string given.
            case text
        }
        public let property: String
        /// The media type sent as `Content-Type`.
        public let mediaType: String
        public let encoding: Encoding
        public let required: Bool
    }

    public init(name: String, method: String, path: String, operationID: String?, parameters: [Parameter], body: Body?,
                json: [UInt8], inputSchema: [UInt8], wrapsResult: Bool, hasOutputSchema: Bool) {
        self.name = name
        self.method = method
        self.path = path
        self.operationID = operationID
        self.parameters = parameters
        self.body = body
        self.json = json
        self.inputSchema = inputSchema
        argumentSchema = ArgumentSchema(JSONValue(inputSchema))
        self.wrapsResult = wrapsResult
        self.hasOutputSchema = hasOutputSchema
    }

    /// `GET /pet/{petId}`, as errors and logs name an operation.
    public var label: String { "\(method) \(path)" }
}

/// MCP tool names: 1-128 of ASCII letters, digits, `_`, `-` and `.`.
public enum ToolName {
    /// `text` with every other character replaced by `_`, cut to `limit` characters.
    public static func sanitized(_ text: String, limit: Int = 128) -> String {
        let name = String(text.unicodeScalars.map { scalar -> Character in
            scalar.isASCII && (scalar.properties.isAlphabetic || ("0"..."9").contains(scalar) || "_-.".unicodeScalars.contains(scalar))
                ? Character(scalar) : "_"
        })
        return String(name.prefix(limit))
    }

    /// A tool name for an operation without `operationId`: `get_pet_petId` for `GET /pet/{petId}`.
    public static func forOperation(method: String, path: String) -> String {
        let parts = [method.lowercased()] + path.split(separator: "/").map { part in
            part.hasPrefix("{") && part.hasSuffix("}") ? String(part.dropFirst().dropLast()) : String(part)
        }
        var name = sanitized(parts.joined(separator: "_"))
        while name.contains("__") { name = name.replacingOccurrences(of: "__", with: "_") }
        return name.hasSuffix("_") && name.count > 1 ? String(name.dropLast()) : name
    }
}
