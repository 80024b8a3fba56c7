import PluginABI
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

    /// `kv_get` hands out a view of the stored value: it stays put while other keys are set (the
    /// list of pairs grows and moves), and an empty value is a view of nothing.
    func testAViewOfAValueStaysValidWhileOtherKeysAreSet() {
        var values = StreamValues()
        func set(_ key: String, _ value: String) {
            Array(key.utf8).withUnsafeBytes { key in Array(value.utf8).withUnsafeBytes { values.set($0, forKey: key) } }
        }
        func view(_ key: String) -> agw_str? { Array(key.utf8).withUnsafeBytes { values.view(forKey: $0) } }
        func text(_ view: agw_str?) -> String? {
            view.map { String(decoding: UnsafeRawBufferPointer(start: $0.ptr, count: $0.len), as: UTF8.self) }
        }
        set("agw.jwt.claims", #"{"sub":"alice"}"#)
        let claims = view("agw.jwt.claims")
        for index in 0..<20 { set("key\(index)", String(repeating: "v", count: index)) }
        XCTAssertEqual(text(claims), #"{"sub":"alice"}"#)
        XCTAssertEqual(text(view("key7")), "vvvvvvv")
        set("empty", "")
        XCTAssertEqual(view("empty")?.len, 0)
        XCTAssertNil(view("missing"))
    }
}
