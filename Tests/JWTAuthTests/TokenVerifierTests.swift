import Crypto
import CryptoExtras
import Foundation
import PluginKit
import JWTAuthCore
import JWTKit
import PolicyKit
import XCTest

/// Claims for test tokens (jwt-kit signs them; the verifier under test never sees this type).
private struct Claims: JWTPayload {
    var sub: String
    var iss: String? = "https://issuer.test"
    var aud: [String]? = ["gateway"]
    var exp: Int? = Int(Date().timeIntervalSince1970) + 600
    var nbf: Int?
    var groups: [String]? = ["dev"]
    func verify(using algorithm: some JWTAlgorithm) async throws {}
}

private func base64URL(_ data: some DataProtocol) -> String {
    Data(data).base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
        .replacingOccurrences(of: "=", with: "")
}

/// Keys of every kind, their JWKS, and signed tokens.
private struct Fixture {
    let ecdsa = ES256PrivateKey()
    let eddsa = try! EdDSA.PrivateKey(curve: .ed25519)
    let rsaBacking = try! _RSA.Signing.PrivateKey(keySize: .bits2048)
    let signer = JWTKeyCollection()

    var rsaJWK: [String: String] {
        let primitives = try! rsaBacking.publicKey.getKeyPrimitives()
        return ["kty": "RSA", "kid": "rsa-1", "n": base64URL(primitives.modulus), "e": base64URL(primitives.publicExponent)]
    }

    var jwks: String {
        let ec = ecdsa.parameters!
        let keys: [[String: String]] = [
            ["kty": "EC", "kid": "ec-1", "crv": "P-256", "x": ec.x, "y": ec.y, "use": "sig"],
            ["kty": "OKP", "kid": "ed-1", "crv": "Ed25519", "x": base64URL(eddsa.publicKey.rawRepresentation)],
            rsaJWK,
            ["kty": "RSA", "kid": "enc-1", "use": "enc", "n": rsaJWK["n"]!, "e": "AQAB"],
            ["kty": "oct", "kid": "sym", "k": "c2VjcmV0"],
        ]
        return String(decoding: try! JSONSerialization.data(withJSONObject: ["keys": keys]), as: UTF8.self)
    }

    func prepare() async throws {
        await signer.add(ecdsa: ecdsa, kid: "ec-1")
        await signer.add(eddsa: eddsa, kid: "ed-1")
        await signer.add(rsa: try Insecure.RSA.PrivateKey(pem: rsaBacking.pemRepresentation), digestAlgorithm: .sha256, kid: "rsa-1")
    }

    func token(_ claims: Claims = Claims(sub: "alice"), kid: String = "ec-1") async throws -> String {
        try await signer.sign(claims, kid: JWKIdentifier(string: kid))
    }
}

/// A token with a hand-made header and signature (for the attacks jwt-kit would not produce).
private func forged(header: [String: Any], claims: [String: Any], sign: (Data) -> Data = { _ in Data() }) -> String {
    let head = base64URL(try! JSONSerialization.data(withJSONObject: header))
    let body = base64URL(try! JSONSerialization.data(withJSONObject: claims))
    return "\(head).\(body).\(base64URL(sign(Data("\(head).\(body)".utf8))))"
}

final class TokenVerifierTests: XCTestCase {
    private var policy: TokenPolicy {
        var policy = TokenPolicy()
        policy.issuers = ["https://issuer.test"]
        policy.audiences = ["gateway"]
        return policy
    }
    private var now: Double { Date().timeIntervalSince1970 }

    private func keys(_ fixture: Fixture, secret: String? = nil, algorithms: Set<String> = TokenPolicy.asymmetricAlgorithms) async throws
        -> (VerificationKeys, [String]) {
        try await VerificationKeys.make(jwks: fixture.jwks, hmacSecret: secret, algorithms: algorithms)
    }

    func testES256RS256AndEdDSATokensFromAJWKSVerify() async throws {
        let fixture = Fixture()
        try await fixture.prepare()
        let (keys, warnings) = try await keys(fixture)
        XCTAssertEqual(keys.keyIDs, ["ec-1", "ed-1", "rsa-1"])
        XCTAssertTrue(warnings.contains { $0.contains("enc-1") && $0.contains("not a signing key") }, "\(warnings)")
        XCTAssertTrue(warnings.contains { $0.contains("sym") }, "\(warnings)")
        for kid in ["ec-1", "ed-1", "rsa-1"] {
            let token = try await fixture.token(kid: kid)
            let verified = try TokenVerifier.verify(token, keys: keys, policy: policy, now: now).get()
            XCTAssertEqual(verified.subject, "alice", kid)
            XCTAssertTrue(verified.claims.contains(#""groups":["dev"]"#), verified.claims)
        }
    }

    func testAttacksAreRejectedWithTheReason() async throws {
        let fixture = Fixture()
        try await fixture.prepare()
        let (keys, _) = try await keys(fixture)
        let claims: [String: Any] = ["sub": "mallory", "iss": "https://issuer.test", "aud": "gateway", "exp": Int(now) + 600]
        func rejection(_ token: String, _ keys: VerificationKeys, _ policy: TokenPolicy? = nil) -> TokenRejection? {
            if case .failure(let reason) = TokenVerifier.verify(token, keys: keys, policy: policy ?? self.policy, now: now) { return reason }
            return nil
        }
        // alg none, in any spelling.
        XCTAssertEqual(rejection(forged(header: ["alg": "none"], claims: claims), keys), .algorithmNone)
        XCTAssertEqual(rejection(forged(header: ["alg": "NoNe"], claims: claims), keys), .algorithmNone)
        // HS256 "signed" with the RSA public key: HS256 is not accepted without a secret...
        let publicPEM = try fixture.rsaBacking.publicKey.pemRepresentation
        let confused = forged(header: ["alg": "HS256", "kid": "rsa-1"], claims: claims) { input in
            Data(HMAC<SHA256>.authenticationCode(for: input, using: SymmetricKey(data: Data(publicPEM.utf8))))
        }
        XCTAssertEqual(rejection(confused, keys), .algorithmNotAllowed("HS256"))
        // ...and with a secret configured, the public key is still not the secret.
        var withHMAC = policy
        withHMAC.algorithms.insert("HS256")
        let (hmacKeys, _) = try await self.keys(fixture, secret: String(repeating: "s", count: 32), algorithms: withHMAC.algorithms)
        XCTAssertEqual(rejection(confused, hmacKeys, withHMAC), .badSignature)
        let honest = forged(header: ["alg": "HS256"], claims: claims) { input in
            Data(HMAC<SHA256>.authenticationCode(for: input, using: SymmetricKey(data: Data(String(repeating: "s", count: 32).utf8))))
        }
        XCTAssertNil(rejection(honest, hmacKeys, withHMAC))
        // An ES256 header pointed at the RSA key.
        let ecToken = try await fixture.token()
        let swapped = forged(header: ["alg": "ES256", "kid": "rsa-1"], claims: claims) { _ in Data(repeating: 1, count: 64) }
        XCTAssertEqual(rejection(swapped, keys), .wrongKeyType(kid: "rsa-1", algorithm: "ES256", offered: ["PS256", "PS384", "PS512", "RS256", "RS384", "RS512"]))
        // A key the set does not have.
        let stranger = Fixture()
        try await stranger.prepare()
        let strangersToken = try await stranger.token(kid: "ec-1")
        XCTAssertEqual(rejection(strangersToken, keys), .badSignature)
        XCTAssertEqual(rejection(forged(header: ["alg": "ES256", "kid": "ec-9"], claims: claims), keys), .unknownKey("ec-9"))
        // A tampered payload.
        let parts = ecToken.split(separator: ".")
        let tampered = "\(parts[0]).\(base64URL(try JSONSerialization.data(withJSONObject: claims))).\(parts[2])"
        XCTAssertEqual(rejection(tampered, keys), .badSignature)
        // Malformed.
        XCTAssertEqual(rejection("abc", keys), .malformed("expected three dot-separated parts, found 1"))
        XCTAssertEqual(rejection("a.b.c", keys), .malformed("the header is not base64url JSON"))
        XCTAssertEqual(rejection("\(base64URL(Data("{\"typ\":\"JWT\"}".utf8))).e30.", keys), .malformed("the header has no alg"))
        XCTAssertEqual(rejection(forged(header: ["alg": "ES256", "kid": "ec-1", "crit": ["exp"]], claims: claims), keys), .unsupportedCritical(["exp"]))
    }

    func testTimeIssuerAndAudienceAreChecked() async throws {
        let fixture = Fixture()
        try await fixture.prepare()
        let (keys, _) = try await keys(fixture)
        func outcome(_ claims: Claims, skew: Int = 30) async throws -> TokenRejection? {
            var policy = self.policy
            policy.clockSkewSeconds = skew
            let token = try await fixture.token(claims)
            if case .failure(let reason) = TokenVerifier.verify(token, keys: keys, policy: policy, now: now) { return reason }
            return nil
        }
        var expired = Claims(sub: "a")
        expired.exp = Int(now) - 120
        guard case .expired = try await outcome(expired) else { return XCTFail("an expired token verified") }
        let withinSkew = try await outcome(expired, skew: 300)
        XCTAssertNil(withinSkew, "within the clock skew")
        var early = Claims(sub: "a")
        early.nbf = Int(now) + 120
        guard case .notYetValid = try await outcome(early) else { return XCTFail("a token before nbf verified") }
        var noExpiry = Claims(sub: "a")
        noExpiry.exp = nil
        let noExpiryOutcome = try await outcome(noExpiry)
        XCTAssertEqual(noExpiryOutcome, .missingExpiration)
        var wrongIssuer = Claims(sub: "a")
        wrongIssuer.iss = "https://evil.test"
        let wrongIssuerOutcome = try await outcome(wrongIssuer)
        XCTAssertEqual(wrongIssuerOutcome, .wrongIssuer("https://evil.test"))
        var wrongAudience = Claims(sub: "a")
        wrongAudience.aud = ["other"]
        let wrongAudienceOutcome = try await outcome(wrongAudience)
        XCTAssertEqual(wrongAudienceOutcome, .wrongAudience(["other"]))
    }

    func testAPIKeysAreFoundByTheirDigestOnly() throws {
        let digest = APIKeyStore.digest("k-123")
        XCTAssertEqual(digest, SHA256.hash(data: Data("k-123".utf8)).map { String(format: "%02x", $0) }.joined())
        let store = try APIKeyStore(keys: [(digest.uppercased(), APIKey(name: "ci", groups: ["ops"], metadata: ["team": "infra"]))])
        XCTAssertEqual(store.key(for: "k-123")?.name, "ci")
        XCTAssertNil(store.key(for: "k-124"))
        XCTAssertEqual(store.key(for: "k-123")?.json, #"{"groups":["ops"],"name":"ci","team":"infra"}"#)
        XCTAssertThrowsError(try APIKeyStore(keys: [("abc", APIKey(name: "short"))]))
    }

    func testConfigErrorsSayWhatToChange() {
        func error(_ json: String) -> String? {
            do {
                _ = try JWTAuthConfig(json: json, environment: ["SECRET": String(repeating: "x", count: 40)])
                return nil
            } catch { return error.description }
        }
        XCTAssertNil(error(#"{"jwks_url":"https://idp.test/jwks","issuer":"https://idp.test","audiences":["a"]}"#))
        XCTAssertNil(error(#"{"hmac_secret_env":"SECRET","algorithms":["HS256"]}"#))
        XCTAssertEqual(error(#"{"mode":"strict"}"#), "nothing to verify credentials with: set jwks_file, jwks_url, hmac_secret(_env) or api_keys")
        XCTAssertEqual(error(#"{"jwks_file":"a","jwks_url":"http://b"}"#), "set jwks_file or jwks_url, not both")
        XCTAssertEqual(error(#"{"jwks_file":"a","algorithms":["HS256"]}"#), "algorithms lists HS256, which needs hmac_secret or hmac_secret_env")
        XCTAssertEqual(error(#"{"jwks_file":"a","algorithms":["none"]}"#)?.hasPrefix("algorithms: \"none\" is not supported"), true)
        XCTAssertEqual(error(#"{"hmac_secret":"short"}"#)?.hasPrefix("the HMAC secret must be at least 32 bytes"), true)
        XCTAssertEqual(error(#"{"jwks_file":"a","mdoe":"strict"}"#), "unknown key 'mdoe'")
        XCTAssertEqual(error(#"{"api_keys":[{"name":"x"}]}"#)?.hasPrefix("api_keys[0] ('x'): 'sha256' is required"), true)
        XCTAssertEqual(error(#"{"jwks_file":"a","mode":"lenient"}"#), "mode = \"lenient\": use \"strict\", \"optional\" or \"permissive\"")
    }
}

/// The token cache's key: whole tokens compared, only the signature's tail hashed.
final class TokenCacheKeyTests: XCTestCase {
    func testKeysAreEqualOnlyForTheSameTokenAndFindTheirEntries() {
        let token = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhIn0.c2lnbmF0dXJlLWJ5dGVzLTAxMjM0NTY3ODk"
        let sameTail = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJiIn0.c2lnbmF0dXJlLWJ5dGVzLTAxMjM0NTY3ODk"
        XCTAssertEqual(TokenCacheKey(token), TokenCacheKey(String(token.utf8.map { Character(UnicodeScalar($0)) })))
        XCTAssertEqual(TokenCacheKey(token).hashValue, TokenCacheKey(token).hashValue)
        XCTAssertNotEqual(TokenCacheKey(token), TokenCacheKey(sameTail), "same tail, another payload: another token")
        XCTAssertNotEqual(TokenCacheKey("abc"), TokenCacheKey("abcd"))
        var cache = LRUCache<TokenCacheKey, Int>(capacity: 4)
        cache.set(1, forKey: TokenCacheKey(token))
        cache.set(2, forKey: TokenCacheKey(sameTail))
        cache.set(3, forKey: TokenCacheKey("x"))
        XCTAssertEqual(cache.value(forKey: TokenCacheKey(token)), 1)
        XCTAssertEqual(cache.value(forKey: TokenCacheKey(sameTail)), 2)
        XCTAssertEqual(cache.value(forKey: TokenCacheKey("x")), 3)
        XCTAssertNil(cache.value(forKey: TokenCacheKey(token + "x")))
    }
}
