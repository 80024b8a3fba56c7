import Foundation
import JSON
@testable import MCPCore
import PluginKit
import XCTest

/// An OpenAPI document as an MCP target, driven through the federation: its operations are the
/// target's tools, a call is one HTTP request from the client's stream, the API's answer (or its
/// silence) is the tool result; a URL document is fetched at start; broken documents are config
/// errors.
final class OpenAPITargetTests: XCTestCase {
    static let petstore = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/openapi/petstore3.yaml").path

    static func config(spec: String = petstore, extra: String = "", options: String = "") -> String {
        #"{\#(options)"targets":[{"name":"pets","type":"openapi","spec":"\#(spec)","base_url":"http://127.0.0.1:9/api/v3"\#(extra)}]}"#
    }

    func ready(_ json: String = config()) throws -> FederationHarness {
        var harness = try FederationHarness(json)
        harness.start()
        // The federation's handshake with the target: answered by the target itself.
        harness.take(harness.federation.list(.tools, exchange: ExchangeID(1), owner: Owner(sessionID: nil, caller: nil), now: harness.now))
        return harness
    }

    func httpCalls(_ harness: FederationHarness) -> [(HTTPCallRequest, ExchangeID?)] {
        harness.log.compactMap { if case .httpCall(_, let request, let via) = $0 { return (request, via) } else { return nil } }
    }

    func result(_ harness: FederationHarness, _ exchange: UInt64) throws -> JSONValue {
        guard case .result(let bytes)? = harness.deliveries(to: ExchangeID(exchange)).last else {
            throw XCTSkip("no result: \(harness.deliveries(to: ExchangeID(exchange)).map(FederationHarness.text))")
        }
        return JSONValue(Array(bytes))
    }

    func testOperationsAreListedAndACallIsOneRequestFromTheClientsStream() throws {
        var harness = try ready(Self.config(extra: #","headers":{"api_key":"k-1"}"#))
        guard case .list(let list)? = harness.deliveries(to: ExchangeID(1)).last else { return XCTFail("no list") }
        XCTAssertEqual(list.items.count, 18)
        XCTAssertTrue(list.items.contains { $0.name == "getPetById" })
        XCTAssertTrue(httpCalls(harness).isEmpty, "a file's document needs no HTTP call")

        harness.call("getPetById", on: "pets", exchange: 5, arguments: #"{"petId": 7}"#)
        let (request, via) = try XCTUnwrap(httpCalls(harness).last)
        XCTAssertEqual(request.method, "GET")
        XCTAssertEqual(request.url, "http://127.0.0.1:9/api/v3/pet/7")
        XCTAssertTrue(request.headers.contains(HTTPHeaderPair("api_key", "k-1")))
        XCTAssertEqual(via, ExchangeID(5), "sent from the client's stream")
        harness.respond("GET", json: #"{"id":7,"name":"rex","photoUrls":[]}"#)
        let answer = try result(harness, 5)
        XCTAssertEqual(answer["structuredContent"]?["name"]?.string, "rex")
        XCTAssertEqual(answer["isError"]?.text, "false")
    }

    func testErrorsOfTheAPIAreToolErrorsAndBadArgumentsNeverLeave() throws {
        var harness = try ready()
        harness.call("getPetById", on: "pets", exchange: 5, arguments: #"{"petId": 1}"#)
        harness.respond("GET", status: 404, json: #"{"code":1,"message":"Pet not found"}"#)
        XCTAssertEqual(try result(harness, 5)["content"]?.elements?.first?["text"]?.string,
                       #"GET /pet/{petId} answered HTTP 404 Not Found: {"code":1,"message":"Pet not found"}"#)

        let before = httpCalls(harness).count
        harness.call("getPetById", on: "pets", exchange: 6, arguments: #"{"petId": "one"}"#)
        XCTAssertEqual(httpCalls(harness).count, before)
        XCTAssertEqual(try result(harness, 6)["content"]?.elements?.first?["text"]?.string,
                       "Invalid arguments for tool 'getPetById': 'petId' must be an integer, not a string (\"one\").")
        XCTAssertEqual(try result(harness, 6)["isError"]?.text, "true")

        harness.call("getPetById", on: "pets", exchange: 7, arguments: #"{"petId": 2}"#)
        let call = try XCTUnwrap(harness.openCall("GET"))
        harness.take(harness.federation.httpEvent(call.key, .failed("connection refused"), now: harness.now))
        XCTAssertEqual(try result(harness, 7)["content"]?.elements?.first?["text"]?.string, "GET /pet/{petId} failed: connection refused")

        harness.call("nope", on: "pets", exchange: 8)
        XCTAssertEqual(try result(harness, 8)["content"]?.elements?.first?["text"]?.string, "Unknown tool: nope")
    }

    func testAnAPIThatDoesNotAnswerInTimeIsAToolErrorAndItsCallIsCancelled() throws {
        var harness = try ready(Self.config(extra: #","timeout_ms":1000"#))
        harness.call("getInventory", on: "pets", exchange: 5)
        XCTAssertEqual(httpCalls(harness).last?.0.timeoutMilliseconds, 1000)
        harness.advance(seconds: 1.5)
        XCTAssertEqual(try result(harness, 5)["content"]?.elements?.first?["text"]?.string,
                       "the tool 'pets_getInventory' got no answer from the API 'pets' within 1000 ms")
        XCTAssertTrue(harness.log.contains { if case .cancelHTTPCall = $0 { return true } else { return false } })
    }

    func testAURLDocumentIsFetchedAtStartAndAFailureBringsTheTargetDown() throws {
        let text = try String(contentsOfFile: Self.petstore, encoding: .utf8)
        var harness = try FederationHarness(#"{"targets":[{"name":"pets","type":"openapi","spec":"http://127.0.0.1:9/openapi.yaml"}]}"#)
        harness.start()
        XCTAssertEqual(httpCalls(harness).first?.0.url, "http://127.0.0.1:9/openapi.yaml")
        harness.respond("GET", status: 503, json: "{}")
        XCTAssertTrue(harness.logLines.contains { $0.contains("target 'pets' is down: its OpenAPI document at http://127.0.0.1:9/openapi.yaml answered HTTP 503") },
                      harness.logLines.description)
        harness.take(harness.federation.restartDue(targetIndex: 0, now: harness.now + 1))
        guard let call = harness.openCall("GET") else { return XCTFail("not fetched again") }
        harness.take(harness.federation.httpEvent(call.key, .response(status: 200, contentType: "application/yaml", sessionID: nil, end: false), now: harness.now))
        harness.take(harness.federation.httpEvent(call.key, body: Array(text.utf8), end: true, now: harness.now))
        harness.take(harness.federation.list(.tools, exchange: ExchangeID(2), owner: Owner(sessionID: nil, caller: nil), now: harness.now))
        guard case .list(let list)? = harness.deliveries(to: ExchangeID(2)).last else { return XCTFail("no list") }
        XCTAssertEqual(list.items.count, 18)
        // The document's own server URL (no base_url).
        harness.call("getInventory", on: "pets", exchange: 5)
        XCTAssertEqual(httpCalls(harness).last?.0.url, "https://petstore3.swagger.io/api/v3/store/inventory")
    }

    func testBrokenDocumentsAndSettingsAreConfigErrors() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("openapi-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        func refusal(_ spec: String, file: String? = nil, extra: String = "") -> String {
            if let file { try? file.write(to: directory.appendingPathComponent(spec), atomically: true, encoding: .utf8) }
            do {
                _ = try MCPRouteConfig(json: Self.config(spec: spec, extra: extra), directory: directory.path, environment: ["TOKEN": "t"])
                return "accepted"
            } catch {
                return error.description
            }
        }
        XCTAssertEqual(refusal("missing.yaml"), "targets[0].spec = \"missing.yaml\": cannot read \(directory.path)/missing.yaml (no such file, or not readable)")
        XCTAssertTrue(refusal("bad.json", file: "{\"openapi\": \"3.1.0\", \"info\": ").hasPrefix("targets[0].spec: \(directory.path)/bad.json is not valid JSON"))
        let ref = refusal("ref.yaml", file: "openapi: 3.1.0\ninfo: {title: x, version: '1'}\npaths:\n  /a: {get: {responses: {'200': {$ref: '#/components/responses/Gone'}}}}\n")
        XCTAssertEqual(ref, "targets[0].spec: \(directory.path)/ref.yaml: the $ref at #/paths/~1a/get/responses/200 points to #/components/responses/Gone, which does not exist")
        let cycle = refusal("cycle.yaml", file: """
            openapi: 3.1.0
            info: {title: x, version: '1'}
            paths: {/a: {get: {responses: {'200': {description: ok, content: {application/json: {schema: {$ref: '#/components/schemas/A'}}}}}}}}
            components: {schemas: {A: {type: object, properties: {a: {$ref: '#/components/schemas/A'}}}}}
            """)
        XCTAssertTrue(cycle.hasPrefix("targets[0].spec: \(directory.path)/cycle.yaml: $ref cycle #/components/schemas/A -> #/components/schemas/A;"), cycle)
        XCTAssertEqual(refusal(Self.petstore, extra: #","headers":{"authorization":"Bearer ${NOPE}"}"#),
                       "targets[0].headers.authorization: the environment variable NOPE is not set (named as ${NOPE})")
        XCTAssertEqual(refusal(Self.petstore, extra: #","include":["tag:pet"],"exclude":["deletePets"]"#),
                       "targets[0].spec: \(Self.petstore): 'deletePets' in include/exclude matches no operation (use \"tag:NAME\", an operationId, or \"GET /path\")")
        let config = try MCPRouteConfig(json: Self.config(extra: #","headers":{"authorization":"Bearer ${TOKEN}","x-literal":"$${TOKEN}"}"#),
                                        directory: "/", environment: ["TOKEN": "s3cret"])
        XCTAssertEqual(config.targets[0].headers, ["authorization": "Bearer s3cret", "x-literal": "${TOKEN}"])
        XCTAssertThrowsError(try MCPRouteConfig(json: #"{"targets":[{"name":"p","type":"openapi"}]}"#)) { error in
            XCTAssertEqual("\(error)", "targets[0]: an openapi target needs 'spec': the OpenAPI document's file (relative to the config) or http(s) URL")
        }
    }

    func testAChangedDocumentReplacesTheToolsAndABrokenOneKeepsThem() throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("agw-doc-\(UInt32.random(in: 0 ... .max)).yaml").path
        defer { try? FileManager.default.removeItem(atPath: file) }
        func write(_ operations: [String]) throws {
            let paths = operations.map { "  /\($0): {get: {operationId: \($0), responses: {'200': {description: ok}}}}" }.joined(separator: "\n")
            try "openapi: 3.1.0\ninfo: {title: t, version: '1'}\npaths:\n\(paths)\n".write(toFile: file, atomically: true, encoding: .utf8)
        }
        try write(["one"])
        var harness = try ready(Self.config(spec: file))
        guard case .openapi(let target) = harness.federation.config.targets[0].transport else { return XCTFail("not an openapi target") }
        XCTAssertEqual(harness.federation.watchedDocuments.map(\.targetIndex), [0])
        XCTAssertNotNil(target.stamp)

        try write(["one", "two"])
        XCTAssertNotEqual(FileStamp(of: file), target.stamp, "the stamp tells the versions apart")
        harness.take(harness.federation.documentReread(targetIndex: 0, Result { () throws(ConfigTableError) in try target.reread(path: "targets[0]") }, now: harness.now))
        XCTAssertTrue(harness.logLines.contains { $0.contains("target 'pets': its OpenAPI document changed; 2 tool(s) now") }, "\(harness.logLines)")
        harness.take(harness.federation.list(.tools, exchange: ExchangeID(2), owner: Owner(sessionID: nil, caller: nil), now: harness.now))
        guard case .list(let list)? = harness.deliveries(to: ExchangeID(2)).last else { return XCTFail("no list") }
        XCTAssertEqual(list.items.map(\.name), ["one", "two"])

        try "openapi: 3.1.0\npaths: [".write(toFile: file, atomically: true, encoding: .utf8)
        harness.take(harness.federation.documentReread(targetIndex: 0, Result { () throws(ConfigTableError) in try target.reread(path: "targets[0]") }, now: harness.now))
        XCTAssertTrue(harness.logLines.contains { $0.contains("its OpenAPI document changed but cannot be used (targets[0].spec: ") && $0.hasSuffix("its tools stay as they were") },
                      "\(harness.logLines)")
        harness.take(harness.federation.list(.tools, exchange: ExchangeID(3), owner: Owner(sessionID: nil, caller: nil), now: harness.now))
        guard case .list(let kept)? = harness.deliveries(to: ExchangeID(3)).last else { return XCTFail("no list") }
        XCTAssertEqual(kept.items.map(\.name), ["one", "two"])
        harness.call("two", on: "pets", exchange: 4, arguments: "{}")
        XCTAssertEqual(httpCalls(harness).last?.0.url, "http://127.0.0.1:9/api/v3/two", "the new operation is called")
    }
}
