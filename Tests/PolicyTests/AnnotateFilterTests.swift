@testable import AnnotatePlugin
import PluginKit
import PluginKitTesting
import XCTest

/// The `annotate` filter in the fake host: request fields when the stream ends, message fields
/// on each message, nothing for a failing expression, nothing when the request is not recorded.
final class AnnotateFilterTests: XCTestCase {
    static let config = #"""
        {"fields":{"tenant":"jwt.tenant","tool.upper":"mcp.tool.name + '!'","path":"request.path","missing":"jwt.nope.deeper"}}
        """#

    func testFieldsComeFromTheCallersClaimsTheRequestAndTheMessage() throws {
        let host = FakeHost()
        let filter = try host.configure(AnnotateFilter.self, config: Self.config)
        let stream = host.stream(filter, method: "POST", path: "/mcp")
        stream.values[IdentityKeys.jwtClaims] = Array(#"{"sub":"alice","tenant":"blue"}"#.utf8)
        XCTAssertEqual(stream.runRequestHeaders(), .continue)
        XCTAssertEqual(stream.publish(method: "tools/call", target: "add", targetKind: "tool").decision, .allow)
        XCTAssertEqual(stream.annotations["tool.upper"], "add!", "message fields on the message")
        XCTAssertNil(stream.annotations["tenant"], "request fields wait for the end")
        stream.complete()
        XCTAssertEqual(stream.annotations["tenant"], "blue")
        XCTAssertEqual(stream.annotations["path"], "/mcp")
        XCTAssertNil(stream.annotations["missing"], "a failing expression leaves its field out")
    }

    func testNothingIsEvaluatedForARequestNothingRecords() throws {
        let host = FakeHost()
        let filter = try host.configure(AnnotateFilter.self, config: Self.config)
        let stream = host.stream(filter, method: "GET", path: "/x")
        stream.recordsAnnotations = false
        stream.complete()
        XCTAssertTrue(stream.annotations.isEmpty)
    }

    func testBadConfigsSayWhatIsWrong() {
        let host = FakeHost()
        for (config, expected) in [(#"{}"#, "'fields' is required"), (#"{"fields":{"a b":"1"}}"#, "fields.a b: a field name"),
                                   (#"{"fields":{"x":"jwt.sub +"}}"#, "fields.x:"), (#"{"fields":{"x":"nope.y"}}"#, "fields.x:")] {
            XCTAssertThrowsError(try host.configure(AnnotateFilter.self, config: config)) { error in
                XCTAssertTrue("\(error)".contains(expected), "\(config): \(error)")
            }
        }
    }
}
