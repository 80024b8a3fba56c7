import XCTest
@testable import GatewayHost

final class StreamValuesTests: XCTestCase {
    func testSetReplaceAndReadByBytes() {
        var values = StreamValues()
        XCTAssertTrue(values.isEmpty)
        func set(_ key: String, _ value: String) {
            Array(key.utf8).withUnsafeBytes { key in Array(value.utf8).withUnsafeBytes { values.set($0, forKey: key) } }
        }
        set("agw.auth.sub", "alice")
        set("agw.auth.method", "jwt")
        set("agw.auth.sub", "bob")
        set("agw.auth.su", "prefix")
        XCTAssertEqual(values.value(forKey: "agw.auth.sub").map { String(decoding: $0, as: UTF8.self) }, "bob")
        XCTAssertEqual(values.value(forKey: "agw.auth.method").map { String(decoding: $0, as: UTF8.self) }, "jwt")
        XCTAssertEqual(values.value(forKey: "agw.auth.su").map { String(decoding: $0, as: UTF8.self) }, "prefix")
        XCTAssertNil(values.value(forKey: "agw.auth.subject"))
        XCTAssertNil(values.value(forKey: ""))
    }
}
