/// A supplier of random 64-bit words for ids and tokens.
struct Randomness: RandomNumberGenerator, Sendable {
    let source: @Sendable () -> UInt64
    init(next: @escaping @Sendable () -> UInt64) { source = next }
    mutating func next() -> UInt64 { source() }
}
