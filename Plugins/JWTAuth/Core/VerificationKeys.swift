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

    /// Builds the set from JWKS JSON text (`{"keys": [...]}`) and an optional HMAC secret.
    /// Keys that cannot be used (unknown type, encryption keys, bad numbers) are skipped and named
    /// in `warnings`; a document that is not a JWKS is an error.
    public static func make(jwks: String?, hmacSecret: String?, algorithms: Set<String>) async throws(KeyLoadError)
        -> (keys: VerificationKeys, warnings: [String]) {
        var byID: [String: [String: any JWTAlgorithm]] = [:]
        var withoutID: [String: [any JWTAlgorithm]] = [:]
        var hmac: [String: any JWTAlgorithm] = [:]
        var warnings: [String] = []
        if let jwks {
            guard let document = try? JSONSerialization.jsonObject(with: Data(jwks.utf8)) as? [String: Any],
                  let entries = document["keys"] as? [Any] else {
                throw KeyLoadError("the JWKS is not a JSON object with a 'keys' array")
            }
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
                var usable = 0
                for algorithm in candidates(for: jwk) where algorithms.contains(algorithm) {
                    guard let parsed = JWK.Algorithm(rawValue: algorithm) else { continue }
                    jwk.algorithm = parsed
                    jwk.keyIdentifier = JWKIdentifier(string: kid ?? "#\(index)")
                    do {
                        // A collection per algorithm: jwt-kit keeps one signer per key.
                        let collection = JWTKeyCollection()
                        try await collection.add(jwk: jwk)
                        let verifier = try await collection.getKey(for: jwk.keyIdentifier, alg: algorithm)
                        guard verifier.name == algorithm else { continue }
                        if let kid { byID[kid, default: [:]][algorithm] = verifier } else { withoutID[algorithm, default: []].append(verifier) }
                        usable += 1
                    } catch {
                        warnings.append("\(name): cannot be used for \(algorithm) (\(error)); skipped")
                    }
                }
                if usable == 0 { warnings.append("\(name): verifies none of the allowed algorithms (\(algorithms.sorted().joined(separator: ", "))); skipped") }
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
