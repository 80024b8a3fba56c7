import Foundation
import JSON
import OpenAPIKit

/// Maps one resolved operation to an ``OpenAPITool``: its name, description, input and output
/// schemas (JSON Schema 2020-12, as OpenAPIKit writes a 3.1 schema: a 3.0 `nullable` is a
/// `"null"` type), annotations, and what its calls need.
struct ToolBuilder {
    /// The operation cannot be a tool; the catalog lists it with the reason.
    struct Skip: Error { let reason: String }

    let endpoint: ResolvedEndpoint
    let method: String
    let path: String

    func build() throws -> OpenAPITool {
        var properties: [(String, [UInt8])] = []
        var required: [String] = []
        var parameters: [OpenAPITool.Parameter] = []
        // The spec ignores these header parameters (the request's own headers say them).
        let ignored: Set<String> = ["accept", "content-type", "authorization"]
        let kept = endpoint.parameters.filter { !($0.location == .header && ignored.contains($0.name.lowercased())) }
        let counts = Dictionary(grouping: kept, by: \.name).mapValues(\.count)
        var used = Set<String>()
        for parameter in kept {
            let location: OpenAPITool.Location
            switch parameter.location {
            case .query: location = .query
            case .header: location = .header
            case .path: location = .path
            case .cookie: location = .cookie
            case .querystring: throw Skip(reason: "its '\(parameter.name)' parameter is a whole query string (OpenAPI 3.2 'querystring'), which the gateway does not build")
            }
            var property = parameter.name
            if counts[parameter.name, default: 0] > 1 || used.contains(property) { property = "\(location.rawValue)_\(parameter.name)" }
            used.insert(property)
            var schema: [UInt8]
            var style = Self.defaultStyle(location)
            var explode = style == .form
            var allowReserved = false
            var isJSONContent = false
            switch parameter.schemaOrContent {
            case .a(let context):
                schema = try Self.encode(context.schema.jsonSchema)
                style = Self.style(context.underlyingSchemaContext.style)
                explode = context.underlyingSchemaContext.explode
                allowReserved = context.underlyingSchemaContext.allowReserved
            case .b(let content):
                schema = try content.first?.value.schema.map { try Self.encode($0.jsonSchema) } ?? Array("{}".utf8)
                isJSONContent = true
            }
            if let description = parameter.underlyingParameter.description { schema = Self.describe(schema, description) }
            properties.append((property, schema))
            let isRequired = parameter.location == .path || parameter.required
            if isRequired { required.append(property) }
            parameters.append(OpenAPITool.Parameter(name: parameter.name, property: property, location: location, required: isRequired,
                                                    style: style, explode: explode, allowReserved: allowReserved, isJSONContent: isJSONContent))
        }
        var body: OpenAPITool.Body?
        if let request = endpoint.requestBody, !request.content.isEmpty {
            let property = used.contains("body") ? "request_body" : "body"
            let chosen = try Self.chooseBody(request.content)
            var schema = try chosen.content.schema.map { try Self.encode($0.jsonSchema) } ?? Array("{}".utf8)
            if let description = request.underlyingRequest.description { schema = Self.describe(schema, description) }
            properties.append((property, schema))
            if request.underlyingRequest.required { required.append(property) }
            body = OpenAPITool.Body(property: property, mediaType: chosen.mediaType, encoding: chosen.encoding, required: request.underlyingRequest.required)
        }
        let input = JSONText.object([
            ("type", Array("\"object\"".utf8)),
            ("properties", JSONText.object(properties)),
            ("required", JSONText.array(required.map { Array(JSONText.quoted($0).utf8) })),
            ("additionalProperties", Array("false".utf8)),
        ])
        let output = try outputSchema()
        let name = endpoint.operationId.map { ToolName.sanitized($0) }.flatMap { $0.isEmpty ? nil : $0 }
            ?? ToolName.forOperation(method: method, path: path)
        var members: [(String, [UInt8])] = [("name", Array(JSONText.quoted(name).utf8))]
        if let summary = endpoint.endpointSummary ?? endpoint.routeSummary { members.append(("title", Array(JSONText.quoted(summary).utf8))) }
        members.append(("description", Array(JSONText.quoted(description()).utf8)))
        members.append(("inputSchema", input))
        if let output { members.append(("outputSchema", output.schema)) }
        members.append(("annotations", annotations()))
        return OpenAPITool(name: name, method: method, path: path, operationID: endpoint.operationId, parameters: parameters, body: body,
                           json: JSONText.object(members), inputSchema: input, wrapsResult: output?.wraps ?? false,
                           hasOutputSchema: output != nil)
    }

    /// Summary, then description, then a deprecation note; the method and path when there is none.
    private func description() -> String {
        var parts = [endpoint.endpointSummary, endpoint.endpointDescription ?? endpoint.routeDescription].compactMap { $0 }.filter { !$0.isEmpty }
        if parts.count == 2, parts[0] == parts[1] || parts[1].hasPrefix(parts[0]) { parts.removeFirst() }
        if parts.isEmpty { parts = ["\(method) \(path)"] }
        if endpoint.deprecated { parts.append("(Deprecated.)") }
        return parts.joined(separator: "\n\n")
    }

    /// MCP's hints from the method: GET and HEAD only read; DELETE destroys; PUT and DELETE are
    /// idempotent. Every tool reaches an API outside the gateway.
    private func annotations() -> [UInt8] {
        var members: [(String, [UInt8])] = []
        if let summary = endpoint.endpointSummary { members.append(("title", Array(JSONText.quoted(summary).utf8))) }
        let readOnly = ["GET", "HEAD", "OPTIONS"].contains(method)
        members.append(("readOnlyHint", Array((readOnly ? "true" : "false").utf8)))
        if !readOnly {
            members.append(("destructiveHint", Array((method == "DELETE" ? "true" : "false").utf8)))
            members.append(("idempotentHint", Array((["PUT", "DELETE"].contains(method) ? "true" : "false").utf8)))
        }
        members.append(("openWorldHint", Array("true".utf8)))
        return JSONText.object(members)
    }

    /// The first 2xx answer's JSON schema; one that is not an object is wrapped as `result`.
    private func outputSchema() throws -> (schema: [UInt8], wraps: Bool)? {
        for (status, response) in endpoint.responses where status.isSuccess {
            guard let (_, content) = response.content.first(where: { Self.isJSON($0.key.typeAndSubtype) }), let schema = content.schema else { continue }
            let encoded = try Self.encode(schema.jsonSchema)
            let value = JSONValue(encoded)
            // `{}` (FastAPI without a response model) says nothing: no output schema.
            let meaningful = ["type", "properties", "anyOf", "oneOf", "allOf", "enum", "const", "items"]
            guard value.members?.contains(where: { meaningful.contains($0.name) }) == true else { continue }
            if Self.isObject(value) {
                // MCP's `outputSchema` must say `"type": "object"` itself (clients check it), which
                // a composition of objects (`allOf: [...]`) does not.
                let typed = value["type"] == nil ? JSONText.addingMembers([("type", "\"object\"")], to: encoded) : encoded
                return (typed, false)
            }
            let wrapped = JSONText.object([("type", Array("\"object\"".utf8)), ("properties", JSONText.object([("result", encoded)])),
                                           ("required", Array("[\"result\"]".utf8))])
            return (wrapped, true)
        }
        return nil
    }

    /// Whether every value the schema accepts is an object: `type: object`, properties without
    /// a type, an `allOf` with an object branch, an `anyOf` / `oneOf` of objects only.
    static func isObject(_ schema: JSONValue) -> Bool {
        if let type = schema["type"] { return type.string == "object" }
        if let branches = schema["allOf"]?.elements, branches.contains(where: isObject) { return true }
        for keyword in ["anyOf", "oneOf"] {
            if let branches = schema[keyword]?.elements { return !branches.isEmpty && branches.allSatisfy(isObject) }
        }
        return schema["properties"] != nil
    }

    private static func chooseBody(_ content: DereferencedContent.Map) throws -> (mediaType: String, encoding: OpenAPITool.Body.Encoding, content: DereferencedContent) {
        if let (type, value) = content.first(where: { isJSON($0.key.typeAndSubtype) }) { return (type.typeAndSubtype, .json, value) }
        if let (type, value) = content.first(where: { $0.key.typeAndSubtype == "application/x-www-form-urlencoded" }) { return (type.typeAndSubtype, .form, value) }
        if let (type, value) = content.first(where: { $0.key.typeAndSubtype.hasPrefix("text/") }) { return (type.typeAndSubtype, .text, value) }
        let offered = content.keys.map(\.typeAndSubtype).joined(separator: ", ")
        throw Skip(reason: "its request body is offered only as \(offered); the gateway sends JSON, form-urlencoded or text bodies")
    }

    static func isJSON(_ mediaType: String) -> Bool {
        let type = mediaType.lowercased()
        return type == "application/json" || type.hasSuffix("+json")
    }

    private static func defaultStyle(_ location: OpenAPITool.Location) -> OpenAPITool.Style {
        location == .query || location == .cookie ? .form : .simple
    }

    private static func style(_ style: OpenAPI.Parameter.SchemaContext.Style) -> OpenAPITool.Style {
        switch style {
        case .form, .cookie: .form
        case .simple: .simple
        case .label: .label
        case .matrix: .matrix
        case .spaceDelimited: .spaceDelimited
        case .pipeDelimited: .pipeDelimited
        case .deepObject: .deepObject
        }
    }

    /// A schema as JSON text (keys sorted, so a document always gives the same tools).
    static func encode(_ schema: JSONSchema) throws -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return SchemaCleanup.rewrite(JSONValue(Array(try encoder.encode(schema))))
    }

    /// The schema with a description, unless it has its own.
    static func describe(_ schema: [UInt8], _ description: String) -> [UInt8] {
        JSONText.addingMembers([("description", JSONText.quoted(description))], to: schema)
    }
}

/// Schemas as OpenAPIKit writes them, made plain JSON Schema. It marks inlined components with
/// `x-component-name` (dropped). It writes a nullable composition (FastAPI's
/// `anyOf: [{type: string}, {type: "null"}]`, 3.0's `nullable: true` beside `allOf`) with
/// `"type": "null"` next to the composition, which JSON Schema reads as "null only". Rewritten:
/// the `type` goes when a branch already takes null; otherwise the schema becomes
/// `anyOf: [<the composition>, {"type": "null"}]`.
enum SchemaCleanup {
    static let keywords = ["anyOf", "oneOf", "allOf"]

    static func rewrite(_ value: JSONValue) -> [UInt8] {
        if let elements = value.elements { return JSONText.array(elements.map(rewrite)) }
        guard let members = value.members else { return Array(value.raw) }
        // OpenAPIKit marks inlined components with `x-component-name`: not the document's, dropped.
        var rewritten = members.filter { $0.name != "x-component-name" }.map { ($0.name, rewrite($0.value)) }
        let isNullType = value["type"]?.string == "null"
        guard isNullType, members.contains(where: { keywords.contains($0.name) }) else { return JSONText.object(rewritten) }
        rewritten.removeAll { $0.0 == "type" }
        let takesNull = ["anyOf", "oneOf"].contains { keyword in
            value[keyword]?.elements?.contains { branch in
                branch["type"]?.string == "null" || branch["type"]?.elements?.contains { $0.string == "null" } == true
            } == true
        }
        if takesNull { return JSONText.object(rewritten) }
        return JSONText.object([("anyOf", JSONText.array([JSONText.object(rewritten), Array(#"{"type":"null"}"#.utf8)]))])
    }
}
