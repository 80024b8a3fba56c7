import Foundation
import JWTKit

/// The keys that verify token signatures, by key id and algorithm, built from a JWKS document
/// (and an HMAC secret) with jwt-kit. Immutable: a refresh builds a new set.
public struct VerificationKeys: Sendable {
    /// kid → algorithm → verifier.
    private let byID: [String: [String: any JWTAlgorithm]]
    /// Keys without a kid, by algorithm.
    private let withoutID: [String: [any JWTAlgorithm]]
    /// The HMAC secret's verifiers, by algorithm (HS256/384/512); used whatever the token's kid.
    private let hmac: [String: any JWTAlgorithm]
    /// The key ids, for logs.
    public let keyIDs: [String]

    public static let empty = VerificationKeys(byID: [:], withoutID: [:], hmac: [:], keyIDs: [])

    /// The algorithms a JSON Web Key of this type can verify.
    private static func candidates(for jwk: JWK) -> [String] {
        if let algorithm = jwk.algorithm { return [algorithm.rawValue] }
        switch jwk.keyType {
        case .rsa: return ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512"]
        case .ecdsa:
            switch jwk.curve?.rawValue {
            case "P-256": return ["ES256"]
            case "P-384": return ["ES384"]
            case "P-521": return ["ES512"]
            default: return []
            }
        case .octetKeyPair: return ["EdDSA"]
        default: return []
        }
    }

    /// One key of a JWKS paired with an algorithm it may verify.
    public struct Candidate: @unchecked Sendable {
        // JWK is a plain value type (jwt-kit marks it Sendable).
        let jwk: JWK
        let kid: String?
        let algorithm: String
        let name: String
    }

    /// Reads a JWKS document (`{"keys": [...]}`) without building anything: each usable key with
    /// each allowed algorithm it can verify, and why the others are skipped (unknown type,
    /// encryption keys, no allowed algorithm). A document that is not a JWKS is an error.
    public static func candidates(jwks: String, algorithms: Set<String>) throws(KeyLoadError) -> (candidates: [Candidate], warnings: [String]) {
        guard let document = try? JSONSerialization.jsonObject(with: Data(jwks.utf8)) as? [String: Any],
              let entries = document["keys"] as? [Any] else {
            throw KeyLoadError("the JWKS is not a JSON object with a 'keys' array")
        }
        var found: [Candidate] = []
        var warnings: [String] = []
        for (index, entry) in entries.enumerated() {
            let name = ((entry as? [String: Any])?["kid"] as? String).map { "key '\($0)'" } ?? "key #\(index)"
            guard let data = try? JSONSerialization.data(withJSONObject: entry), var jwk = try? JSONDecoder().decode(JWK.self, from: data) else {
                warnings.append("\(name): not a key jwt-kit can read (kty must be RSA, EC or OKP); skipped")
                continue
            }
            if let use = (entry as? [String: Any])?["use"] as? String, use != "sig" {
                warnings.append("\(name): use = \"\(use)\", not a signing key; skipped")
                continue
            }
            let kid = jwk.keyIdentifier?.string
            let usable = candidates(for: jwk).filter(algorithms.contains)
            if usable.isEmpty { warnings.append("\(name): verifies none of the allowed algorithms (\(algorithms.sorted().joined(separator: ", "))); skipped") }
            for algorithm in usable {
                guard let parsed = JWK.Algorithm(rawValue: algorithm) else { continue }
                jwk.algorithm = parsed
                jwk.keyIdentifier = JWKIdentifier(string: kid ?? "#\(index)")
                found.append(Candidate(jwk: jwk, kid: kid, algorithm: algorithm, name: name))
            }
        }
        return (found, warnings)
    }

    /// Builds the set from JWKS JSON text and an optional HMAC secret, with jwt-kit (whose key
    /// collection is an actor, hence async). Keys jwt-kit refuses (bad numbers) are skipped and
    /// named in `warnings`.
    public static func make(jwks: String?, hmacSecret: String?, algorithms: Set<String>) async throws(KeyLoadError)
        -> (keys: VerificationKeys, warnings: [String]) {
        var byID: [String: [String: any JWTAlgorithm]] = [:]
        var withoutID: [String: [any JWTAlgorithm]] = [:]
        var hmac: [String: any JWTAlgorithm] = [:]
        var warnings: [String] = []
        if let jwks {
            let (candidates, skipped) = try Self.candidates(jwks: jwks, algorithms: algorithms)
            warnings = skipped
            for candidate in candidates {
                do {
                    // A collection per algorithm: jwt-kit keeps one signer per key.
                    let collection = JWTKeyCollection()
                    try await collection.add(jwk: candidate.jwk)
                    let verifier = try await collection.getKey(for: candidate.jwk.keyIdentifier, alg: candidate.algorithm)
                    guard verifier.name == candidate.algorithm else { continue }
                    if let kid = candidate.kid {
                        byID[kid, default: [:]][candidate.algorithm] = verifier
                    } else {
                        withoutID[candidate.algorithm, default: []].append(verifier)
                    }
                } catch {
                    warnings.append("\(candidate.name): cannot be used for \(candidate.algorithm) (\(error)); skipped")
                }
            }
        }
        if let hmacSecret {
            let digests: [(String, DigestAlgorithm)] = [("HS256", .sha256), ("HS384", .sha384), ("HS512", .sha512)]
            for (algorithm, digest) in digests where algorithms.contains(algorithm) {
                let collection = JWTKeyCollection()
                await collection.add(hmac: HMACKey(from: hmacSecret), digestAlgorithm: digest, kid: "hmac")
                if let verifier = try? await collection.getKey(for: "hmac") { hmac[algorithm] = verifier }
            }
        }
        return (VerificationKeys(byID: byID, withoutID: withoutID, hmac: hmac, keyIDs: byID.keys.sorted()), warnings)
    }

    private init(byID: [String: [String: any JWTAlgorithm]], withoutID: [String: [any JWTAlgorithm]],
                 hmac: [String: any JWTAlgorithm], keyIDs: [String]) {
        self.byID = byID
        self.withoutID = withoutID
        self.hmac = hmac
        self.keyIDs = keyIDs
    }

    public var isEmpty: Bool { byID.isEmpty && withoutID.isEmpty && hmac.isEmpty }

    /// The verifiers to try for a token's header.
    enum Lookup {
        case verifiers([any JWTAlgorithm])
        /// No key has this kid (a refresh may bring it).
        case unknownKey(String)
        /// The kid exists, but its key is of another type than the algorithm.
        case wrongAlgorithm(kid: String, algorithm: String, offered: [String])
    }

    func lookup(kid: String?, algorithm: String) -> Lookup {
        if algorithm.hasPrefix("HS") { return .verifiers(hmac[algorithm].map { [$0] } ?? []) }
        guard let kid else { return .verifiers(withoutID[algorithm] ?? byID.values.compactMap { $0[algorithm] }) }
        guard let keys = byID[kid] else { return .unknownKey(kid) }
        guard let verifier = keys[algorithm] else { return .wrongAlgorithm(kid: kid, algorithm: algorithm, offered: keys.keys.sorted()) }
        return .verifiers([verifier])
    }
}

/// A JWKS could not be read.
public struct KeyLoadError: Error, CustomStringConvertible, Sendable {
    public var description: String
    public init(_ description: String) { self.description = description }
}
