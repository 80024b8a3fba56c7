import JSON
@testable import OpenAPITools
import XCTest

/// Arguments become requests: path templating with percent-encoding, each query style, headers,
/// cookies, JSON, form and text bodies; bad arguments are refused naming the argument.
final class RequestTests: XCTestCase {
    static let doc = """
        openapi: 3.1.0
        info: {title: styles, version: '1'}
        paths:
          /files/{path}/v/{label}/m{matrix}:
            get:
              operationId: styles
              parameters:
                - {name: path, in: path, required: true, schema: {type: string}}
                - {name: label, in: path, required: true, style: label, explode: true, schema: {type: array, items: {type: string}}}
                - {name: matrix, in: path, required: true, style: matrix, schema: {type: array, items: {type: integer}}}
                - {name: tags, in: query, schema: {type: array, items: {type: string}}}
                - {name: ids, in: query, explode: false, schema: {type: array, items: {type: integer}}}
                - {name: filter, in: query, style: deepObject, schema: {type: object, properties: {color: {type: string}, size: {type: integer}}}}
                - {name: point, in: query, schema: {type: object}}
                - {name: words, in: query, style: spaceDelimited, explode: false, schema: {type: array}}
                - {name: pipes, in: query, style: pipeDelimited, explode: false, schema: {type: array}}
                - {name: next, in: query, allowReserved: true, schema: {type: string}}
                - {name: q, in: query, schema: {type: string, enum: [a b, "c&d"]}}
                - {name: X-Trace, in: header, schema: {type: string}}
                - {name: X-Ids, in: header, schema: {type: array, items: {type: integer}}}
                - {name: session, in: cookie, schema: {type: string}}
                - {name: json, in: query, content: {application/json: {schema: {type: object}}}}
              responses: {"200": {description: ok}}
          /pets:
            post:
              operationId: addPet
              parameters:
                - {name: dry_run, in: query, schema: {type: boolean}}
              requestBody:
                required: true
                content:
                  application/json:
                    schema:
                      type: object
                      required: [name]
                      properties:
                        name: {type: string, minLength: 1}
                        age: {type: integer, minimum: 0}
                        kind: {type: string, enum: [dog, cat]}
                        tags: {type: array, items: {type: string}, maxItems: 2}
                        owner: {anyOf: [{type: string}, {type: "null"}]}
              responses: {"200": {description: ok}}
          /login:
            post:
              operationId: login
              requestBody:
                content: {application/x-www-form-urlencoded: {schema: {type: object, properties: {user: {type: string}, scopes: {type: array}}}}}
              responses: {"200": {description: ok}}
          /note:
            put:
              operationId: note
              requestBody:
                content: {text/plain: {schema: {type: string}}}
              responses: {"200": {description: ok}}
        """

    let catalog = try! OpenAPICatalog.load(Array(doc.utf8), source: "doc")

    func request(_ tool: String, _ arguments: String) throws -> OpenAPIRequest {
        try catalog.tools.first { $0.name == tool }!.request(arguments: JSONValue(Array(arguments.utf8)), baseURL: "http://api.test/v1")
    }

    func refusal(_ tool: String, _ arguments: String, file: StaticString = #filePath, line: UInt = #line) -> String {
        do {
            let built = try request(tool, arguments)
            XCTFail("built \(built.url)", file: file, line: line)
            return ""
        } catch {
            return "\(error)"
        }
    }

    func testEveryStyleIsWrittenAndEncodedForWhereItGoes() throws {
        let built = try request("styles", """
            {"path": "a/b c?é", "label": ["x", "y"], "matrix": [1, 2], "tags": ["red", "blue green"], "ids": [3, 4],
             "filter": {"color": "red", "size": 2}, "point": {"x": 1, "y": 2}, "words": ["a", "b"], "pipes": ["c", "d"],
             "next": "/p?q=1", "q": "c&d", "X-Trace": "t-1", "X-Ids": [5, 6], "session": "s 1", "json": {"k": [1, 2]}}
            """)
        XCTAssertEqual(built.method, "GET")
        XCTAssertEqual(built.url, "http://api.test/v1/files/a%2Fb%20c%3F%C3%A9/v/.x.y/m;matrix=1,2"
            + "?tags=red&tags=blue%20green&ids=3,4&filter%5Bcolor%5D=red&filter%5Bsize%5D=2&x=1&y=2&words=a%20b&pipes=c%7Cd"
            + "&next=/p?q%3D1&q=c%26d&json=%7B%22k%22%3A%5B1%2C2%5D%7D")
        XCTAssertEqual(built.headers.filter { $0.name != "accept" }.map { "\($0.name): \($0.value)" }, ["X-Trace: t-1", "X-Ids: 5,6", "cookie: session=s%201"])
        XCTAssertEqual(built.body, [])
    }

    func testAPathArgumentCannotClimbOutOfItsPath() throws {
        let built = try request("styles", #"{"path": "..", "label": ["."], "matrix": [1]}"#)
        XCTAssertEqual(built.url, "http://api.test/v1/files/%2E%2E/v/.%2E/m;matrix=1")
        XCTAssertEqual(try request("styles", #"{"path": "../admin", "label": ["x"], "matrix": [1]}"#).url,
                       "http://api.test/v1/files/..%2Fadmin/v/.x/m;matrix=1")
    }

    func testOptionalArgumentsLeftOutOrNullAreNotSent() throws {
        let built = try request("styles", #"{"path": "p", "label": [], "matrix": [7], "tags": null}"#)
        XCTAssertEqual(built.url, "http://api.test/v1/files/p/v/./m;matrix=7")
    }

    func testJSONFormAndTextBodies() throws {
        let add = try request("addPet", #"{"body": {"name": "Rex", "age": 3, "tags": ["a"]}, "dry_run": true}"#)
        XCTAssertEqual(add.url, "http://api.test/v1/pets?dry_run=true")
        XCTAssertEqual(String(decoding: add.body, as: UTF8.self), #"{"name": "Rex", "age": 3, "tags": ["a"]}"#)
        XCTAssertTrue(add.headers.contains { $0.name == "content-type" && $0.value == "application/json" })
        let login = try request("login", #"{"body": {"user": "a b&c", "scopes": ["read", "write"]}}"#)
        XCTAssertEqual(String(decoding: login.body, as: UTF8.self), "user=a+b%26c&scopes=read&scopes=write")
        XCTAssertTrue(login.headers.contains { $0.name == "content-type" && $0.value == "application/x-www-form-urlencoded" })
        let note = try request("note", #"{"body": "line one\nline two"}"#)
        XCTAssertEqual(String(decoding: note.body, as: UTF8.self), "line one\nline two")
        XCTAssertEqual(note.method, "PUT")
    }

    func testBadArgumentsAreRefusedNamingTheArgument() {
        XCTAssertEqual(refusal("addPet", "{}"), "Invalid arguments for tool 'addPet': the required argument 'body' is missing.")
        XCTAssertEqual(refusal("addPet", #"{"body": {}}"#), "Invalid arguments for tool 'addPet': the required argument 'body.name' is missing.")
        XCTAssertEqual(refusal("addPet", #"{"body": {"name": "Rex", "age": "three"}}"#),
                       "Invalid arguments for tool 'addPet': 'body.age' must be an integer, not a string (\"three\").")
        XCTAssertEqual(refusal("addPet", #"{"body": {"name": "Rex", "age": 2.5}}"#),
                       "Invalid arguments for tool 'addPet': 'body.age' must be an integer, not a number (2.5).")
        XCTAssertEqual(refusal("addPet", #"{"body": {"name": "Rex", "age": -1}}"#), "Invalid arguments for tool 'addPet': 'body.age' must be at least 0.")
        XCTAssertEqual(refusal("addPet", #"{"body": {"name": "Rex", "kind": "cow"}}"#),
                       "Invalid arguments for tool 'addPet': 'body.kind' must be one of \"dog\", \"cat\", not \"cow\".")
        XCTAssertEqual(refusal("addPet", #"{"body": {"name": "Rex", "tags": ["a", 1]}}"#),
                       "Invalid arguments for tool 'addPet': 'body.tags[1]' must be a string, not an integer (1).")
        XCTAssertEqual(refusal("addPet", #"{"body": {"name": "Rex", "tags": ["a", "b", "c"]}}"#),
                       "Invalid arguments for tool 'addPet': 'body.tags' takes at most 2 item(s).")
        XCTAssertEqual(refusal("addPet", #"{"body": {"name": ""}}"#), "Invalid arguments for tool 'addPet': 'body.name' must be at least 1 character(s) long.")
        XCTAssertEqual(refusal("addPet", #"{"body": {"name": "Rex", "owner": 5}}"#),
                       "Invalid arguments for tool 'addPet': 'body.owner' must be a string or null, not an integer (5).")
        XCTAssertEqual(refusal("addPet", #"{"body": {"name": "Rex"}, "dryrun": true}"#),
                       "Invalid arguments for tool 'addPet': 'dryrun' is not an argument of this tool (it takes 'dry_run', 'body').")
        XCTAssertEqual(refusal("addPet", #"[1]"#), "Invalid arguments for tool 'addPet': the arguments must be an object, not an array ([1]).")
        XCTAssertEqual(refusal("styles", #"{"path": "p", "label": [], "matrix": [1], "q": "z"}"#),
                       "Invalid arguments for tool 'styles': 'q' must be one of \"a b\", \"c&d\", not \"z\".")
        XCTAssertEqual(refusal("styles", #"{"path": "p", "label": [], "matrix": [1], "X-Trace": "a\r\nb: c"}"#),
                       "Invalid arguments for tool 'styles': 'X-Trace' is a header value and may not contain line breaks.")
        // Accepted: null for a nullable, integers as numbers, no arguments for a tool without required ones.
        XCTAssertNoThrow(try request("addPet", #"{"body": {"name": "Rex", "owner": null, "age": 4.0}}"#))
        XCTAssertNoThrow(try catalog.tools.first { $0.name == "login" }!.request(arguments: nil, baseURL: "http://x"))
    }
}
