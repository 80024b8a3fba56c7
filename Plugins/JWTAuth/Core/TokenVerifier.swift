import Foundation
import JWTKit

/// What a token must satisfy besides its signature.
public struct TokenPolicy: Sendable, Equatable {
    /// Accepted `iss` values; empty accepts any.
    public var issuers: [String] = []
    /// `aud` must contain one of these; empty accepts any.
    public var audiences: [String] = []
    /// Signature algorithms accepted (`alg`). `none` is never accepted.
    public var algorithms: Set<String> = TokenPolicy.asymmetricAlgorithms
    /// Allowed difference between the issuer's clock and the gateway's, for `exp` and `nbf`.
    public var clockSkewSeconds = 30
    /// Reject tokens without `exp`.
    public var requireExpiration = true

    public static let asymmetricAlgorithms: Set<String> = ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"]
    public static let hmacAlgorithms: Set<String> = ["HS256", "HS384", "HS512"]

    public init() {}
}

/// A token whose signature and claims checked out.
public struct VerifiedToken: Sendable, Equatable {
    /// The payload's JSON text, as the issuer wrote it.
    public let claims: String
    public let subject: String?
    public let expiresAt: Double?
    public let notBefore: Double?
}

/// Why a token was refused; `description` is the log line's reason.
public enum TokenRejection: Error, Equatable, CustomStringConvertible, Sendable {
    case malformed(String)
    case algorithmNone
    case algorithmNotAllowed(String)
    case unknownKey(String)
    case noKeyFor(String)
    case wrongKeyType(kid: String, algorithm: String, offered: [String])
    case badSignature
    case expired(expiredAt: Double, now: Double)
    case notYetValid(notBefore: Double, now: Double)
    case missingExpiration
    case wrongIssuer(String?)
    case wrongAudience([String])
    case unsupportedCritical([String])

    public var description: String {
        switch self {
        case .malformed(let why): return "malformed token: \(why)"
        case .algorithmNone: return "alg \"none\" (an unsigned token) is never accepted"
        case .algorithmNotAllowed(let alg): return "alg \"\(alg)\" is not among the accepted algorithms"
        case .unknownKey(let kid): return "no key with kid \"\(kid)\" in the key set"
        case .noKeyFor(let alg): return "no key can verify \(alg) tokens"
        case .wrongKeyType(let kid, let alg, let offered):
            return "key \"\(kid)\" cannot verify \(alg) (it verifies \(offered.joined(separator: ", ")))"
        case .badSignature: return "the signature does not verify"
        case .expired(let exp, let now): return "the token expired \(Int(now - exp)) s ago"
        case .notYetValid(let nbf, let now): return "the token is not valid for another \(Int(nbf - now)) s (nbf)"
        case .missingExpiration: return "the token has no exp claim"
        case .wrongIssuer(let iss): return "iss \(iss.map { "\"\($0)\"" } ?? "(missing)") is not an accepted issuer"
        case .wrongAudience(let aud): return "aud \(aud.isEmpty ? "(missing)" : aud.joined(separator: ", ")) names none of the accepted audiences"
        case .unsupportedCritical(let names): return "crit names header parameters the gateway does not understand: \(names.joined(separator: ", "))"
        }
    }

    /// What the client is told (RFC 6750 `error_description`): the signature cases say no more.
    public var clientDescription: String {
        switch self {
        case .expired: return "the token expired"
        case .notYetValid: return "the token is not valid yet"
        case .wrongIssuer, .wrongAudience, .missingExpiration: return "the token was not issued for this resource"
        default: return "the token could not be verified"
        }
    }
}

/// Verifies compact JWS tokens: the header's algorithm against the policy, the signature with the
/// key set's jwt-kit verifiers, then `exp`, `nbf`, `iss` and `aud`.
public enum TokenVerifier {
    public static func verify(_ token: some StringProtocol, keys: VerificationKeys, policy: TokenPolicy, now: Double)
        -> Result<VerifiedToken, TokenRejection> {
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3 else { return .failure(.malformed("expected three dot-separated parts, found \(parts.count)")) }
        guard let headerData = Base64URL.decode(Substring(parts[0])),
              let header = try? JSONSerialization.jsonObject(with: headerData) as? [String: Any] else {
            return .failure(.malformed("the header is not base64url JSON"))
        }
        guard let algorithm = header["alg"] as? String else { return .failure(.malformed("the header has no alg")) }
        guard algorithm.lowercased() != "none" else { return .failure(.algorithmNone) }
        guard policy.algorithms.contains(algorithm) else { return .failure(.algorithmNotAllowed(algorithm)) }
        if let critical = header["crit"] {
            // No extension header parameters are understood (RFC 7515 §4.1.11).
            return .failure(.unsupportedCritical((critical as? [String]) ?? ["(not a list)"]))
        }
        let kid = header["kid"] as? String
        let verifiers: [any JWTAlgorithm]
        switch keys.lookup(kid: kid, algorithm: algorithm) {
        case .unknownKey(let kid): return .failure(.unknownKey(kid))
        case .wrongAlgorithm(let kid, let algorithm, let offered): return .failure(.wrongKeyType(kid: kid, algorithm: algorithm, offered: offered))
        case .verifiers(let found): verifiers = found
        }
        guard !verifiers.isEmpty else { return .failure(.noKeyFor(algorithm)) }
        guard let signature = Base64URL.decode(Substring(parts[2])) else { return .failure(.malformed("the signature is not base64url")) }
        let signingInput = Array(token.utf8.prefix(parts[0].utf8.count + 1 + parts[1].utf8.count))
        guard verifiers.prefix(16).contains(where: { (try? $0.verify(signature, signs: signingInput)) == true }) else {
            return .failure(.badSignature)
        }
        guard let payloadData = Base64URL.decode(Substring(parts[1])),
              let claims = try? JSONSerialization.jsonObject(with: payloadData) as? [String: Any] else {
            return .failure(.malformed("the payload is not a base64url JSON object"))
        }
        func number(_ name: String) -> Double? { (claims[name] as? NSNumber)?.doubleValue }
        let verified = VerifiedToken(claims: String(decoding: payloadData, as: UTF8.self), subject: claims["sub"] as? String,
                                     expiresAt: number("exp"), notBefore: number("nbf"))
        if policy.requireExpiration, verified.expiresAt == nil { return .failure(.missingExpiration) }
        if let rejection = checkTime(verified, policy: policy, now: now) { return .failure(rejection) }
        if !policy.issuers.isEmpty {
            let issuer = claims["iss"] as? String
            guard let issuer, policy.issuers.contains(issuer) else { return .failure(.wrongIssuer(issuer)) }
        }
        if !policy.audiences.isEmpty {
            let audience = (claims["aud"] as? [String]) ?? (claims["aud"] as? String).map { [$0] } ?? []
            guard audience.contains(where: policy.audiences.contains) else { return .failure(.wrongAudience(audience)) }
        }
        return .success(verified)
    }

    /// `exp` and `nbf` against the clock (also for tokens served from a cache).
    public static func checkTime(_ token: VerifiedToken, policy: TokenPolicy, now: Double) -> TokenRejection? {
        let skew = Double(policy.clockSkewSeconds)
        if let exp = token.expiresAt, now >= exp + skew { return .expired(expiredAt: exp, now: now) }
        if let nbf = token.notBefore, now + skew < nbf { return .notYetValid(notBefore: nbf, now: now) }
        return nil
    }
}
