import Foundation
import JSON
@testable import OpenAPITools
import XCTest

/// Documents become tools: the Petstore 3.0 example, and 3.0 / 3.1 documents written here for
/// the rules (nullable, names, bodies, selection); broken documents are refused with the pointer.
final class CatalogTests: XCTestCase {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/openapi")

    static func petstore(_ selection: OpenAPISelection = OpenAPISelection()) throws -> OpenAPICatalog {
        let bytes = try Array(Data(contentsOf: fixtures.appendingPathComponent("petstore3.yaml")))
        return try OpenAPICatalog.load(bytes, source: "petstore3.yaml", selection: selection)
    }

    static func tool(_ catalog: OpenAPICatalog, _ name: String) throws -> OpenAPITool {
        try XCTUnwrap(catalog.tools.first { $0.name == name }, "no tool \(name) in \(catalog.tools.map(\.name))")
    }

    static func load(_ text: String, selection: OpenAPISelection = OpenAPISelection()) throws -> OpenAPICatalog {
        try OpenAPICatalog.load(Array(text.utf8), source: "doc", selection: selection)
    }

    func refusal(_ text: String, file: StaticString = #filePath, line: UInt = #line) -> String {
        do {
            _ = try Self.load(text)
            XCTFail("the document was accepted", file: file, line: line)
            return ""
        } catch {
            return "\(error)"
        }
    }

    func testPetstoreOperationsBecomeToolsWithTheirSchemas() throws {
        let catalog = try Self.petstore()
        XCTAssertEqual(catalog.title, "Swagger Petstore - OpenAPI 3.0")
        XCTAssertEqual(catalog.serverURL, "https://petstore3.swagger.io/api/v3")
        XCTAssertEqual(catalog.tools.count, 18, catalog.tools.map(\.name).description)
        XCTAssertEqual(catalog.skipped, ["POST /pet/{petId}/uploadImage: its request body is offered only as application/octet-stream; the gateway sends JSON, form-urlencoded or text bodies"])

        let get = try Self.tool(catalog, "getPetById")
        XCTAssertEqual(get.label, "GET /pet/{petId}")
        let json = JSONValue(get.json)
        XCTAssertEqual(json["title"]?.string, "Find pet by ID.")
        XCTAssertEqual(json["description"]?.string, "Find pet by ID.\n\nReturns a single pet.")
        XCTAssertEqual(json["inputSchema"]?["required"]?.text, #"["petId"]"#)
        XCTAssertEqual(json["inputSchema"]?["properties"]?["petId"]?["type"]?.string, "integer")
        XCTAssertEqual(json["inputSchema"]?["properties"]?["petId"]?["description"]?.string, "ID of pet to return")
        // The Pet schema, its $refs (Category, Tag) inlined.
        let output = try XCTUnwrap(json["outputSchema"])
        XCTAssertEqual(output["required"]?.elements?.compactMap(\.string).sorted(), ["name", "photoUrls"])
        XCTAssertEqual(output["properties"]?["category"]?["properties"]?["name"]?["type"]?.string, "string")
        XCTAssertEqual(output["properties"]?["status"]?["enum"]?.elements?.compactMap(\.string), ["available", "pending", "sold"])
        XCTAssertFalse(get.wrapsResult)
        XCTAssertEqual(json["annotations"]?["readOnlyHint"]?.text, "true")

        let delete = JSONValue(try Self.tool(catalog, "deletePet").json)
        XCTAssertEqual(delete["annotations"]?["destructiveHint"]?.text, "true")
        XCTAssertEqual(delete["annotations"]?["readOnlyHint"]?.text, "false")
        XCTAssertNil(delete["outputSchema"])
        XCTAssertNotNil(delete["inputSchema"]?["properties"]?["api_key"], "the header parameter is an argument")

        // JSON is chosen among JSON, XML and form bodies.
        let add = try Self.tool(catalog, "addPet")
        XCTAssertEqual(add.body, OpenAPITool.Body(property: "body", mediaType: "application/json", encoding: .json, required: true))
        XCTAssertEqual(JSONValue(add.json)["inputSchema"]?["properties"]?["body"]?["required"]?.elements?.compactMap(\.string).sorted(), ["name", "photoUrls"])

        // An array answer is wrapped: MCP output schemas are objects.
        let find = try Self.tool(catalog, "findPetsByStatus")
        XCTAssertTrue(find.wrapsResult)
        XCTAssertEqual(JSONValue(find.json)["outputSchema"]?["properties"]?["result"]?["type"]?.string, "array")
        let byTags = try Self.tool(catalog, "findPetsByTags")
        XCTAssertEqual(byTags.parameters.first?.style, .form)
        XCTAssertEqual(byTags.parameters.first?.explode, true)
    }

    func testIncludeAndExcludeByTagOperationIDAndPath() throws {
        let chosen = try Self.petstore(OpenAPISelection(include: ["tag:pet", "getInventory", "GET /user/login"], exclude: ["deletePet"]))
        let names = Set(chosen.tools.map(\.name))
        XCTAssertTrue(names.isSuperset(of: ["getPetById", "addPet", "getInventory", "loginUser"]))
        XCTAssertFalse(names.contains("deletePet"))
        XCTAssertFalse(names.contains("createUser"))
        XCTAssertEqual(chosen.tools.count, 8)
        XCTAssertThrowsError(try Self.petstore(OpenAPISelection(exclude: ["deletePets"]))) { error in
            XCTAssertTrue("\(error)".contains("'deletePets' in include/exclude matches no operation"), "\(error)")
        }
    }

    static let doc31 = """
        openapi: 3.1.0
        info: {title: Notes, version: "1"}
        servers: [{url: "https://{region}.notes.test/v{major}", variables: {region: {default: eu}, major: {default: "2"}}}]
        paths:
          /notes/{id}:
            parameters:
              - {name: id, in: path, required: true, schema: {type: string}}
            get:
              summary: Read a note
              parameters:
                - {name: id, in: header, schema: {type: string}}
                - {name: body, in: query, schema: {type: [string, "null"]}}
                - {name: Accept, in: header, schema: {type: string}}
              responses:
                "200":
                  description: the note
                  content: {application/json: {schema: {$ref: "#/components/schemas/Note"}}}
            put:
              requestBody:
                content: {application/x-www-form-urlencoded: {schema: {type: object, properties: {text: {type: string}}}}}
              responses: {"204": {description: done}}
          /notes:
            get:
              responses: {"200": {description: all, content: {text/plain: {}}}}
        components:
          schemas:
            Note:
              type: object
              properties:
                text: {type: string}
                author: {$ref: "#/components/schemas/Author"}
            Author: {type: [object, "null"], properties: {name: {type: string}}}
        """

    func testNamesLocationsAndBodiesOfA31Document() throws {
        let catalog = try Self.load(Self.doc31)
        XCTAssertEqual(catalog.serverURL, "https://eu.notes.test/v2")
        XCTAssertEqual(catalog.tools.map(\.name), ["get_notes_id", "put_notes_id", "get_notes"])
        let get = try Self.tool(catalog, "get_notes_id")
        // A name used in two locations is told apart; "body" is taken, so the body (none here) would be request_body.
        XCTAssertEqual(get.parameters.map(\.property), ["header_id", "body", "path_id"])
        XCTAssertEqual(get.parameters.map(\.name), ["id", "body", "id"])
        let schema = JSONValue(get.inputSchema)
        XCTAssertEqual(schema["required"]?.text, #"["path_id"]"#)
        XCTAssertEqual(schema["additionalProperties"]?.text, "false")
        XCTAssertNil(schema["properties"]?["Accept"], "Accept, Content-Type and Authorization header parameters are ignored")
        XCTAssertEqual(schema["properties"]?["body"]?["type"]?.text, #"["string","null"]"#)
        let author = JSONValue(get.json)["outputSchema"]?["properties"]?["author"]
        XCTAssertEqual(author?["type"]?.text, #"["object","null"]"#)
        let put = try Self.tool(catalog, "put_notes_id")
        XCTAssertEqual(put.body?.encoding, .form)
        XCTAssertEqual(put.body?.required, false)
        XCTAssertEqual(JSONValue(put.json)["annotations"]?["idempotentHint"]?.text, "true")
        XCTAssertEqual(catalog.baseURL(override: nil, documentURL: nil), "https://eu.notes.test/v2")
        XCTAssertEqual(catalog.baseURL(override: "http://127.0.0.1:9/api/", documentURL: nil), "http://127.0.0.1:9/api")
    }

    func testA30NullableBecomesANullType() throws {
        let catalog = try Self.load("""
            {"openapi": "3.0.3", "info": {"title": "T", "version": "1"},
             "paths": {"/a": {"post": {"operationId": "make a/thing!",
               "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object", "required": ["n"],
                 "properties": {"n": {"type": "integer", "nullable": true}, "s": {"type": "string", "enum": ["x", "y"]},
                                "r": {"nullable": true, "allOf": [{"type": "object", "properties": {"k": {"type": "string"}}}]}}}}}},
               "responses": {"201": {"description": "ok", "content": {"application/json": {"schema": {"type": "string"}}}}}}}}}
            """)
        let tool = try Self.tool(catalog, "make_a_thing_")
        let body = JSONValue(tool.inputSchema)["properties"]?["body"]
        XCTAssertEqual(body?["properties"]?["n"]?["type"]?.text, #"["integer","null"]"#)
        XCTAssertNil(body?["properties"]?["n"]?["nullable"])
        // A nullable composition: the composition, or null.
        XCTAssertEqual(body?["properties"]?["r"]?.text, #"{"anyOf":[{"allOf":[{"minProperties":0,"properties":{"k":{"type":"string"}},"type":"object"}]},{"type":"null"}]}"#)
        XCTAssertTrue(tool.wrapsResult)
        // No servers: the API is where the document came from.
        XCTAssertNil(catalog.serverURL)
        XCTAssertEqual(catalog.baseURL(override: nil, documentURL: "http://127.0.0.1:8000/openapi.json"), "http://127.0.0.1:8000")
        XCTAssertNil(catalog.baseURL(override: nil, documentURL: nil))
    }

    func testACompositionOfObjectsIsAnObjectResultAndAnythingElseIsWrapped() throws {
        func wraps(_ schema: String) throws -> Bool {
            let catalog = try Self.load("""
                {"openapi": "3.1.0", "info": {"title": "T", "version": "1"}, "servers": [{"url": "http://127.0.0.1:9"}],
                 "components": {"schemas": {"Base": {"type": "object", "properties": {"title": {"type": "string"}}}}},
                 "paths": {"/a": {"get": {"operationId": "a", "responses": {"200": {"description": "ok",
                   "content": {"application/json": {"schema": \(schema)}}}}}}}}
                """)
            let tool = try Self.tool(catalog, "a")
            // MCP clients require the output schema itself to say `"type": "object"`.
            XCTAssertEqual(JSONValue(tool.json)["outputSchema"]?["type"]?.string, "object", schema)
            return tool.wrapsResult
        }
        XCTAssertFalse(try wraps(##"{"allOf": [{"$ref": "#/components/schemas/Base"}, {"type": "object", "required": ["id"], "properties": {"id": {"type": "integer"}}}]}"##))
        XCTAssertFalse(try wraps(##"{"oneOf": [{"$ref": "#/components/schemas/Base"}, {"properties": {"id": {"type": "integer"}}}]}"##))
        XCTAssertTrue(try wraps(##"{"anyOf": [{"$ref": "#/components/schemas/Base"}, {"type": "string"}]}"##))
        XCTAssertTrue(try wraps(##"{"type": "array", "items": {"$ref": "#/components/schemas/Base"}}"##))
    }

    func testBrokenDocumentsAreRefusedWithThePointer() {
        XCTAssertEqual(refusal("openapi: [unclosed"), "doc is not valid YAML: 2:1: error: parser: while parsing a flow sequence in line 1, column 10")
        XCTAssertTrue(refusal("{\"openapi\": ").hasPrefix("doc is not valid JSON"))
        XCTAssertEqual(refusal("swagger: '2.0'\ninfo: {title: x, version: '1'}\npaths: {}"),
                       "doc is a Swagger 2.0 document; convert it to OpenAPI 3.0 or 3.1 first")
        XCTAssertEqual(refusal("info: {title: x}"), "doc is not an OpenAPI document: it has no 'openapi' version field")
        XCTAssertTrue(refusal("openapi: 3.1.0\ninfo: {version: '1'}\npaths: {}").contains("is not a valid OpenAPI 3.1.0 document"))

        let missing = refusal("""
            openapi: 3.1.0
            info: {title: x, version: '1'}
            paths:
              /a:
                get:
                  responses: {"200": {description: ok, content: {application/json: {schema: {$ref: "#/components/schemas/Nope"}}}}}
            """)
        XCTAssertEqual(missing, "doc: the $ref at #/paths/~1a/get/responses/200/content/application~1json/schema points to #/components/schemas/Nope, which does not exist")

        let external = refusal("""
            openapi: 3.0.0
            info: {title: x, version: '1'}
            paths:
              /a: {get: {responses: {"200": {$ref: "common.yaml#/responses/ok"}}}}
            """)
        XCTAssertTrue(external.hasPrefix("doc: the $ref at #/paths/~1a/get/responses/200 points outside the document ('common.yaml#/responses/ok')"), external)

        let cycle = refusal("""
            openapi: 3.1.0
            info: {title: x, version: '1'}
            paths:
              /a: {get: {responses: {"200": {description: ok, content: {application/json: {schema: {$ref: "#/components/schemas/Node"}}}}}}}
            components:
              schemas:
                Node: {type: object, properties: {children: {type: array, items: {$ref: "#/components/schemas/Child"}}}}
                Child: {type: object, properties: {node: {$ref: "#/components/schemas/Node"}}}
            """)
        XCTAssertTrue(cycle.hasPrefix("doc: $ref cycle #/components/schemas/Node -> #/components/schemas/Child -> #/components/schemas/Node; "), cycle)
    }

    func testOperationsThatBecomeTheSameToolAreReported() {
        let clash = refusal("""
            openapi: 3.1.0
            info: {title: x, version: '1'}
            paths:
              /a: {get: {operationId: "list items", responses: {"200": {description: ok}}}}
              /b: {get: {operationId: "list-items!", responses: {"200": {description: ok}}}}
              /c: {get: {operationId: "list_items", responses: {"200": {description: ok}}}}
            """)
        XCTAssertEqual(clash, "doc: the operations GET /a and GET /c both become the tool 'list_items'; exclude one of them (exclude = [\"GET /c\"])")
    }
}
