/// Names the gateway hands to one client for state it holds on that client's behalf — the ids of
/// server→client requests it relays, the `requestState` of a question it asked — each carrying
/// 128 random bits and bound to the ``Owner`` that received it.
///
/// A token is redeemed only by its owner: anyone else gets exactly what an unknown token gets
/// (nil), and the owner's entry stays in place. A value type: the federation keeps it under its
/// lock, tests drive it directly.
public struct OwnedTokens<Entry> {
    /// Every token starts with this, so a handler can tell the gateway's tokens from an
    /// upstream's (an upstream's own `requestState` passes through untouched).
    public static var prefix: String { "agw-" }

    private var entries: [String: (owner: Owner, entry: Entry)] = [:]

    public init() {}

    /// A fresh token for `entry`, owned by `owner`: the prefix and 32 hex digits (128 bits from
    /// `generator`, the system's CSPRNG unless a test passes its own).
    public mutating func issue(_ entry: Entry, to owner: Owner, using generator: inout some RandomNumberGenerator) -> String {
        var token: String
        repeat {
            token = Self.prefix + Self.hex(generator.next()) + Self.hex(generator.next())
        } while entries[token] != nil
        entries[token] = (owner, entry)
        return token
    }

    /// ``issue(_:to:using:)`` with the system's random number generator.
    public mutating func issue(_ entry: Entry, to owner: Owner) -> String {
        var generator = SystemRandomNumberGenerator()
        return issue(entry, to: owner, using: &generator)
    }

    /// The entry, removed, when `owner` owns the token; nil (and nothing changes) otherwise.
    public mutating func redeem(_ token: String, by owner: Owner) -> Entry? {
        guard let held = entries[token], held.owner == owner else { return nil }
        entries[token] = nil
        return held.entry
    }

    /// The entry when `owner` owns the token, left in place.
    public func entry(_ token: String, for owner: Owner) -> Entry? {
        guard let held = entries[token], held.owner == owner else { return nil }
        return held.entry
    }

    /// Removes a token whoever owns it (the gateway itself gives up the state).
    @discardableResult
    public mutating func remove(_ token: String) -> Entry? { entries.removeValue(forKey: token)?.entry }

    /// Removes every token that matches; returns them.
    public mutating func removeAll(where matches: (Owner, Entry) -> Bool) -> [(token: String, entry: Entry)] {
        let removed = entries.filter { matches($0.value.owner, $0.value.entry) }
        for token in removed.keys { entries[token] = nil }
        return removed.map { ($0.key, $0.value.entry) }
    }

    /// The first token whose entry matches, with its entry.
    public func first(where matches: (Entry) -> Bool) -> (token: String, entry: Entry)? {
        entries.first { matches($0.value.entry) }.map { ($0.key, $0.value.entry) }
    }

    public var count: Int { entries.count }

    private static func hex(_ value: UInt64) -> String {
        let digits = String(value, radix: 16)
        return String(repeating: "0", count: 16 - digits.count) + digits
    }
}

extension OwnedTokens: Sendable where Entry: Sendable {}
