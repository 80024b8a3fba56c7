import CPluginLoader
import XCTest
@testable import PluginKit

final class FilterConfigurationTests: XCTestCase {
    private struct Config: Decodable {
        var header: String
        var limit: Int?
    }

    private func configuration(_ json: String) -> FilterConfiguration {
        FilterConfiguration(instanceName: "r/f#0", json: json, scope: Scope(host: UnsafePointer(bitPattern: 8)!, handle: nil))
    }

    func testDecodesTheTable() throws {
        let config = try configuration(#"{"header":"x-api-key","limit":3}"#).decode(Config.self)
        XCTAssertEqual(config.header, "x-api-key")
        XCTAssertEqual(config.limit, 3)
    }

    func testMissingKeyAndWrongTypeSayWhere() {
        XCTAssertThrowsError(try configuration("{}").decode(Config.self)) { error in
            XCTAssertEqual("\(error)", "missing key 'header'")
        }
        XCTAssertThrowsError(try configuration(#"{"header":"h","limit":"many"}"#).decode(Config.self)) { error in
            XCTAssertTrue("\(error)".hasPrefix("wrong type at 'limit'"), "\(error)")
        }
    }

    /// The host refuses Swift plugins whose runtime identity differs from its own; the SDK and the
    /// loader must compute it the same way for plugins built by the same toolchain.
    func testSDKRuntimeIdentityMatchesTheLoaders() {
        XCTAssertEqual(PluginExport.runtimeIdentity, String(cString: agw_loader_host_runtime()))
        XCTAssertTrue(PluginExport.runtimeIdentity.hasPrefix("swift:"))
    }
}
