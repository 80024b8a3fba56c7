/// A verified token as the key of the token cache: equal when the whole token is equal, hashed
/// by its length and its last 16 bytes only.
///
/// A token ends in its signature, which is uniformly random for every token that verified, and
/// only verified tokens are stored; so the tail spreads stored tokens as well as the whole text
/// would, and an attacker cannot choose it. Hashing the whole token cost ~2,300 instructions a
/// request (a 200-byte bearer token through SipHash); the tail costs a tenth of that.
public struct TokenCacheKey: Hashable, Sendable {
    /// The token as it came.
    public let token: String

    public init(_ token: String) { self.token = token }

    public static func == (lhs: Self, rhs: Self) -> Bool { lhs.token == rhs.token }

    public func hash(into hasher: inout Hasher) {
        let utf8 = token.utf8
        hasher.combine(utf8.count)
        // Native strings are contiguous; a bridged one (never here) hashes as a whole.
        let hashedTail = utf8.withContiguousStorageIfAvailable { bytes in
            hasher.combine(bytes: UnsafeRawBufferPointer(UnsafeBufferPointer(rebasing: bytes.suffix(Self.tailLength))))
        }
        if hashedTail == nil { hasher.combine(token) }
    }

    /// How many trailing bytes are hashed.
    static let tailLength = 16
}
