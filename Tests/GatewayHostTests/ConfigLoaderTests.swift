import XCTest
@testable import GatewayHost

final class ConfigLoaderTests: XCTestCase {
    private let minimal = """
    [[listeners]]
    name = "main"
    address = "127.0.0.1:8080"
    """

    func testExampleConfigParsesWithDefaults() throws {
        let file = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../examples/gateway.toml").path
        let config = try ConfigLoader.load(file: file)
        XCTAssertEqual(config.listeners.map(\.name), ["main"])
        XCTAssertEqual(config.listeners[0].address, SocketAddressSpec(host: "127.0.0.1", port: 8080))
        XCTAssertEqual(config.routes.map(\.name), ["mcp", "team-mcp", "oauth-metadata", "agents", "echo"])
        guard case .handler(let mcp) = config.routes[0].terminal else { return XCTFail("expected the MCP handler") }
        XCTAssertEqual(mcp.plugin, "mcp")
        XCTAssertTrue(mcp.configJSON.contains(#""DEMO_MCP_NAME""#))
        XCTAssertEqual(config.routes[1].filters.map(\.plugin), ["jwt_auth", "rbac", "ratelimit"])
        guard case .handler(let metadata) = config.routes[2].terminal else { return XCTFail("expected the metadata handler") }
        XCTAssertEqual(metadata.plugin, "jwt_auth.protected-resource")
        guard case .handler(let agents) = config.routes[3].terminal else { return XCTFail("expected the A2A handler") }
        XCTAssertEqual(agents.plugin, "a2a")
        XCTAssertTrue(agents.configJSON.contains(#""http://127.0.0.1:9100""#))
        let echo = config.routes[4]
        XCTAssertEqual(echo.filters.map(\.plugin), ["stamp", "require_header"])
        XCTAssertEqual(echo.filters[0].configJSON.filter { !$0.isWhitespace }, #"{"value":"hello-from-c"}"#)
        XCTAssertEqual(config.limits, Limits())
        // Plugin paths resolve against the config file's directory.
        XCTAssertTrue(config.plugins.first { $0.name == "stamp" }!.path!.hasSuffix("/examples/c-filter/libstamp_filter.so"))
        XCTAssertEqual(config.eventLoops, 0)
        guard case .backend(let backend) = echo.terminal else { return XCTFail("expected a backend") }
        XCTAssertEqual(backend.connectTimeoutMilliseconds, 1000)
    }

    func testSyntaxErrorHasLineAndColumn() {
        XCTAssertThrowsError(try ConfigLoader.parse(minimal + "\nbroken = [1, 2\n", file: "g.toml")) { error in
            let error = error as! ConfigError
            // minimal is 3 lines; "broken" is on line 4 and its array never closes.
            XCTAssertEqual(error.line, 4)
            XCTAssertNotNil(error.column)
            XCTAssertTrue(error.description.hasPrefix("g.toml:4:"), error.description)
        }
    }

    func testUnknownKeyIsRejectedWithItsPath() {
        // After [[listeners]] a key belongs to that listener.
        XCTAssertThrowsError(try ConfigLoader.parse(minimal + "\nlistner = 1\n")) { error in
            XCTAssertEqual((error as! ConfigError).keyPath, "listeners[0].listner")
        }
        XCTAssertThrowsError(try ConfigLoader.parse("listner = 1\n" + minimal)) { error in
            XCTAssertEqual((error as! ConfigError).keyPath, "listner")
        }
        XCTAssertThrowsError(try ConfigLoader.parse(minimal + "\n[limits]\nmax_body = 1\n")) { error in
            XCTAssertEqual((error as! ConfigError).keyPath, "limits.max_body")
        }
    }

    func testRouteNeedsExactlyOneTerminal() {
        let both = minimal + """

        [[routes]]
        name = "r"
        [routes.backend]
        urls = ["http://127.0.0.1:1"]
        [routes.handler]
        plugin = "p"
        """
        XCTAssertThrowsError(try ConfigLoader.parse(both)) { error in
            XCTAssertTrue("\(error)".contains("has both a backend and a handler"), "\(error)")
        }
    }

    func testPathAndPathPrefixAreExclusiveAndMustBeAbsolute() {
        let config = { (match: String) in self.minimal + "\n[[routes]]\nname = \"r\"\n[routes.match]\n\(match)\n[routes.backend]\nurls = [\"http://h\"]\n" }
        XCTAssertThrowsError(try ConfigLoader.parse(config("path = \"/a\"\npath_prefix = \"/b\"")))
        XCTAssertThrowsError(try ConfigLoader.parse(config("path_prefix = \"api\""))) { error in
            XCTAssertTrue("\(error)".contains("must start with '/'"))
        }
    }

    func testDuplicateNamesAndUnknownListenerAreRejected() {
        XCTAssertThrowsError(try ConfigLoader.parse(minimal + "\n" + minimal)) { error in
            XCTAssertTrue("\(error)".contains("duplicate listener name 'main'"))
        }
        let route = minimal + "\n[[routes]]\nname = \"r\"\nlisteners = [\"other\"]\n[routes.backend]\nurls = [\"http://h\"]\n"
        XCTAssertThrowsError(try ConfigLoader.parse(route)) { error in
            XCTAssertTrue("\(error)".contains("unknown listener 'other'"))
        }
    }

    func testTLSAndLimitsAreRead() throws {
        let config = try ConfigLoader.parse(minimal + """

        [listeners.tls]
        cert = "c.pem"
        key = "k.pem"
        client_ca = "ca.pem"
        http2 = false
        [limits]
        max_request_body_bytes = 42
        """)
        XCTAssertEqual(config.listeners[0].tls, TLSConfig(certificatePath: "c.pem", privateKeyPath: "k.pem", clientCAPath: "ca.pem", http2: false))
        XCTAssertEqual(config.limits.maxRequestBodyBytes, 42)
    }

    func testEventLoopsIsBounded() throws {
        XCTAssertEqual(try ConfigLoader.parse("[gateway]\nevent_loops = 1\n" + minimal).eventLoops, 1)
        XCTAssertThrowsError(try ConfigLoader.parse("[gateway]\nevent_loops = -1\n" + minimal, file: "g.toml")) { error in
            XCTAssertTrue("\(error)".contains("gateway.event_loops = -1"), "\(error)")
        }
    }
}
