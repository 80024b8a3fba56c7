import JSON
@testable import OpenAPITools
import XCTest

/// Answers become tool results: JSON as text and structured content, text, binary as a resource,
/// errors with their status.
final class ToolResultTests: XCTestCase {
    let catalog = try! CatalogTests.petstore()

    func result(_ tool: String, _ status: Int, _ type: String?, _ body: String) throws -> JSONValue {
        let tool = try CatalogTests.tool(catalog, tool)
        return JSONValue(ToolResult.answer(tool, status: status, contentType: type, body: Array(body.utf8), url: "http://api/pet/1"))
    }

    func testJSONObjectsAreStructuredArraysWrapped() throws {
        let pet = #"{"id":1,"name":"doggie","photoUrls":[]}"#
        let get = try result("getPetById", 200, "application/json; charset=utf-8", pet)
        XCTAssertEqual(get["isError"]?.text, "false")
        XCTAssertEqual(get["content"]?.elements?.first?["text"]?.string, pet)
        XCTAssertEqual(get["structuredContent"]?.text, pet)
        let list = try result("findPetsByStatus", 200, "application/json", "[\(pet)]")
        XCTAssertEqual(list["structuredContent"]?.text, #"{"result":[\#(pet)]}"#)
        // Media types are case-insensitive and may carry parameters and spaces.
        let typed = try result("getPetById", 200, " Application/Problem+JSON ;charset=utf-8", pet)
        XCTAssertEqual(typed["structuredContent"]?.text, pet)
        XCTAssertEqual(ToolResult.mediaType("Text/HTML; charset=x"), "text/html")
        // Text that needs escapes inside the text content stays the same JSON once decoded.
        let escaped = #"{"name":"a \"quoted\"\nline","path":"C:\\tmp"}"#
        XCTAssertEqual(try result("getPetById", 200, "application/json", escaped)["content"]?.elements?.first?["text"]?.string, escaped)
        let login = try result("loginUser", 200, nil, #""session:1""#)
        XCTAssertEqual(login["structuredContent"]?.text, #"{"result":"session:1"}"#)
    }

    func testTextBinaryAndEmptyAnswers() throws {
        let text = try result("logoutUser", 200, "text/plain", "bye")
        XCTAssertEqual(text["content"]?.elements?.first?["text"]?.string, "bye")
        XCTAssertNil(text["structuredContent"])
        let empty = try result("deletePet", 200, nil, "")
        XCTAssertEqual(empty["content"]?.elements?.first?["text"]?.string, "HTTP 200 OK (no content)")
        let tool = try CatalogTests.tool(catalog, "getInventory")
        let binary = JSONValue(ToolResult.answer(tool, status: 200, contentType: "image/png", body: [0x89, 0x50, 0, 255], url: "http://api/x"))
        let resource = binary["content"]?.elements?.first
        XCTAssertEqual(resource?["type"]?.string, "resource")
        XCTAssertEqual(resource?["resource"]?["mimeType"]?.string, "image/png")
        XCTAssertEqual(resource?["resource"]?["blob"]?.string, "iVAA/w==")
        XCTAssertEqual(resource?["resource"]?["uri"]?.string, "http://api/x")
    }

    func testOtherStatusesAreToolErrors() throws {
        let missing = try result("getPetById", 404, "application/json", #"{"message":"Pet not found"}"#)
        XCTAssertEqual(missing["isError"]?.text, "true")
        XCTAssertEqual(missing["content"]?.elements?.first?["text"]?.string, #"GET /pet/{petId} answered HTTP 404 Not Found: {"message":"Pet not found"}"#)
        XCTAssertNil(missing["structuredContent"])
        let big = try result("getPetById", 500, "text/plain", String(repeating: "x", count: 5000))
        XCTAssertTrue(big["content"]?.elements?.first?["text"]?.string?.hasSuffix(" … (5000 bytes)") == true)
    }
}
