import CEL
import PolicyKit
import Synchronization

/// The buckets of one `ratelimit` instance, shared by every event loop behind one lock, at most
/// `maxKeys` of them (least recently used evicted). Time comes from `clock` (nanoseconds), so tests
/// drive refills without sleeping.
public final class RateLimiter: Sendable {
    public let config: RateLimitConfig
    private let buckets: Mutex<LRUCache<String, TokenBucket>>
    private let clock: @Sendable () -> UInt64

    public init(config: RateLimitConfig, clock: @escaping @Sendable () -> UInt64) {
        self.config = config
        buckets = Mutex(LRUCache(capacity: config.maxKeys))
        self.clock = clock
    }

    /// A request over a limit: which one, and when to come back.
    public struct Refusal: Sendable, Equatable {
        public var limit: String
        public var maxTokens: Int
        /// Seconds until the next token, rounded up (for `Retry-After`).
        public var retryAfterSeconds: Int

        public init(limit: String, maxTokens: Int, retryAfterSeconds: Int) {
            self.limit = limit
            self.maxTokens = maxTokens
            self.retryAfterSeconds = retryAfterSeconds
        }
    }

    /// What is left of the tightest limit that let a request through (for `RateLimit-*` headers).
    public struct Quota: Sendable, Equatable {
        public var limit: String
        public var maxTokens: Int
        public var remaining: Int
        /// Seconds until the next token, rounded up.
        public var resetSeconds: Int

        public init(limit: String, maxTokens: Int, remaining: Int, resetSeconds: Int) {
            self.limit = limit
            self.maxTokens = maxTokens
            self.remaining = remaining
            self.resetSeconds = resetSeconds
        }
    }

    /// Takes a token from every limit that applies (`perMessage` selects HTTP-request or message
    /// limits); the first limit without one refuses. Limits checked before it keep their token
    /// taken, like Envoy's local rate limit.
    public func admit(perMessage: Bool, _ activation: some Activation) -> Refusal? {
        if case .refused(let refusal) = check(perMessage: perMessage, activation) { return refusal }
        return nil
    }

    public enum Decision: Sendable, Equatable {
        /// Admitted; the quota of the limit with the fewest tokens left (nil: no limit applied).
        case admitted(Quota?)
        case refused(Refusal)
    }

    /// Like ``admit(perMessage:_:)``, and says what is left when it admits.
    public func check(perMessage: Bool, _ activation: some Activation) -> Decision {
        var tightest: Quota?
        for (index, limit) in config.limits.enumerated() where limit.perMessage == perMessage {
            if let when = limit.when {
                guard (try? when.isSatisfied(by: activation)) == true else { continue }
            }
            let key = Self.bucketKey(index, limit, activation)
            let now = clock()
            let outcome = buckets.withLock { buckets in
                if let outcome = buckets.update(key, { $0.take(limit.shape, now: now) }) { return outcome }
                var bucket = TokenBucket(shape: limit.shape, now: now)
                let outcome = bucket.take(limit.shape, now: now)
                buckets.set(bucket, forKey: key)
                return outcome
            }
            let seconds = max(1, Int((outcome.resetIn + 999_999_999) / 1_000_000_000))
            if !outcome.allowed {
                return .refused(Refusal(limit: limit.name, maxTokens: limit.shape.maxTokens, retryAfterSeconds: seconds))
            }
            if tightest.map({ outcome.remaining < $0.remaining }) ?? true {
                tightest = Quota(limit: limit.name, maxTokens: limit.shape.maxTokens, remaining: outcome.remaining, resetSeconds: seconds)
            }
        }
        return .admitted(tightest)
    }

    /// The limit's index and its key values; a value an expression cannot produce (no token, so
    /// no `jwt.sub`) is `∅`, so such requests share one bucket rather than escape the limit.
    static func bucketKey(_ index: Int, _ limit: RateLimitConfig.Limit, _ activation: some Activation) -> String {
        var key = String(index)
        for part in limit.key {
            key.append("\u{1F}")
            key.append((try? part.evaluate(activation)).map(describe) ?? "∅")
        }
        return key
    }

    /// A value as key text: scalars as written, lists and maps spelled out (keys sorted).
    private static func describe(_ value: Value) -> String {
        if let text = value.text { return text }
        if case .list(let items) = value { return "[" + items.map(describe).joined(separator: ",") + "]" }
        let fields = value.fields ?? [:]
        return "{" + fields.keys.sorted().map { "\($0)=\(describe(fields[$0]!))" }.joined(separator: ",") + "}"
    }

    public var trackedKeys: Int { buckets.withLock { $0.count } }
}
