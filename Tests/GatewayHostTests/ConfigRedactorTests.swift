@testable import GatewayHost
import XCTest

/// `GET /config` shows the running TOML without its secrets.
final class ConfigRedactorTests: XCTestCase {
    func testSecretsInPluginTablesHeadersAndEnvAreReplaced() throws {
        let text = """
        [plugins.jwt_auth]
        [plugins.a2a]
        [[listeners]]
        name = "main"
        address = "127.0.0.1:8080"
        [[routes]]
        name = "team"
        [[routes.filters]]
        plugin = "jwt_auth"
        [routes.filters.config]
        hmac_secret = "s3cr3t-s3cr3t-s3cr3t-s3cr3t-s3cr3t"
        hmac_secret_env = "JWT_SECRET"
        api_key_header = "x-api-key"
        [[routes.filters.config.api_keys]]
        name = "ci"
        sha256 = "e230221e"
        [routes.handler]
        plugin = "a2a"
        [[routes.handler.config.agents]]
        name = "travel"
        url = "http://10.0.0.5:9999"
        headers = { authorization = "Bearer upstream-secret", x-tenant = "acme" }
        [[routes.handler.config.targets]]
        name = "gh"
        env = { GITHUB_TOKEN = "ghp_abc" }
        """
        let redacted = ConfigRedactor.redact(text)
        for secret in ["s3cr3t", "e230221e", "upstream-secret", "acme", "ghp_abc"] {
            XCTAssertFalse(redacted.contains(secret), "\(secret) in:\n\(redacted)")
        }
        for kept in ["JWT_SECRET", "x-api-key", "http://10.0.0.5:9999", "127.0.0.1:8080", "travel", "name = \"ci\""] {
            XCTAssertTrue(redacted.contains(kept), "\(kept) missing from:\n\(redacted)")
        }
        XCTAssertNoThrow(try ConfigLoader.parse(redacted), "still a configuration")
    }

    func testWhichKeysNameSecrets() {
        for key in ["hmac_secret", "token", "api_key", "key", "password", "client_secret", "authorization"] {
            XCTAssertTrue(ConfigRedactor.isSecret(key: key), key)
        }
        for key in ["hmac_secret_env", "token_file", "api_key_header", "jwks_url", "name", "token_cache_size", "path"] {
            XCTAssertFalse(ConfigRedactor.isSecret(key: key), key)
        }
    }
}
