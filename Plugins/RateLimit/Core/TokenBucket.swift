/// A token bucket in Envoy's terms: it holds at most `maxTokens`; every `fillInterval` it gains
/// `tokensPerFill`; each request takes one. A new bucket starts full.
public struct TokenBucket: Sendable, Equatable {
    public struct Shape: Sendable, Equatable {
        public var maxTokens: Int
        public var tokensPerFill: Int
        /// Nanoseconds.
        public var fillInterval: UInt64

        public init(maxTokens: Int, tokensPerFill: Int, fillInterval: UInt64) {
            self.maxTokens = maxTokens
            self.tokensPerFill = tokensPerFill
            self.fillInterval = fillInterval
        }
    }

    public private(set) var tokens: Int
    /// When the bucket was last filled (nanoseconds on the limiter's clock).
    public private(set) var lastFill: UInt64

    public init(shape: Shape, now: UInt64) {
        tokens = shape.maxTokens
        lastFill = now
    }

    /// What one request got.
    public struct Outcome: Sendable, Equatable {
        public var allowed: Bool
        /// Tokens left after this request.
        public var remaining: Int
        /// Nanoseconds until the next fill.
        public var resetIn: UInt64
    }

    public mutating func take(_ shape: Shape, now: UInt64) -> Outcome {
        if now > lastFill {
            let fills = (now - lastFill) / shape.fillInterval
            if fills > 0 {
                let added = fills > UInt64(shape.maxTokens) ? shape.maxTokens : Int(fills) * shape.tokensPerFill
                tokens = min(shape.maxTokens, tokens + added)
                lastFill += fills * shape.fillInterval
            }
        }
        let resetIn = lastFill + shape.fillInterval - max(now, lastFill)
        guard tokens > 0 else { return Outcome(allowed: false, remaining: 0, resetIn: resetIn) }
        tokens -= 1
        return Outcome(allowed: true, remaining: tokens, resetIn: resetIn)
    }
}
