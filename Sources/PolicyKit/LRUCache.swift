/// A dictionary with a capacity: inserting past it evicts the least recently used entry.
/// Lookups and inserts are O(1). Not thread-safe: guard it with a lock when shared.
public struct LRUCache<Key: Hashable, Value> {
    @usableFromInline
    struct Node {
        @usableFromInline var key: Key
        @usableFromInline var value: Value
        @usableFromInline var newer: Int?
        @usableFromInline var older: Int?

        @inlinable init(key: Key, value: Value, newer: Int? = nil, older: Int? = nil) {
            self.key = key
            self.value = value
            self.newer = newer
            self.older = older
        }
    }

    public let capacity: Int
    @usableFromInline var nodes: [Node] = []
    @usableFromInline var index: [Key: Int] = [:]
    @usableFromInline var newest: Int?
    @usableFromInline var oldest: Int?

    @inlinable
    public init(capacity: Int) {
        precondition(capacity > 0, "an LRU cache needs room for one entry")
        self.capacity = capacity
    }

    @inlinable public var count: Int { index.count }

    /// The value, marked as just used.
    @inlinable
    public mutating func value(forKey key: Key) -> Value? {
        guard let slot = index[key] else { return nil }
        touch(slot)
        return nodes[slot].value
    }

    /// Inserts or replaces; returns the entry evicted to make room, if any.
    @inlinable @discardableResult
    public mutating func set(_ value: Value, forKey key: Key) -> (key: Key, value: Value)? {
        if let slot = index[key] {
            nodes[slot].value = value
            touch(slot)
            return nil
        }
        if index.count < capacity {
            nodes.append(Node(key: key, value: value))
            let slot = nodes.count - 1
            index[key] = slot
            link(slot)
            return nil
        }
        // Reuse the oldest slot.
        let slot = oldest!
        let evicted = (nodes[slot].key, nodes[slot].value)
        unlink(slot)
        index[evicted.0] = nil
        nodes[slot] = Node(key: key, value: value)
        index[key] = slot
        link(slot)
        return evicted
    }

    /// Changes a value in place without marking it used; nil when absent.
    @inlinable
    public mutating func update<R>(_ key: Key, _ body: (inout Value) -> R) -> R? {
        guard let slot = index[key] else { return nil }
        touch(slot)
        return body(&nodes[slot].value)
    }

    /// Removes an entry; returns its value, nil when absent.
    @inlinable @discardableResult
    public mutating func removeValue(forKey key: Key) -> Value? {
        guard let slot = index.removeValue(forKey: key) else { return nil }
        unlink(slot)
        let value = nodes[slot].value
        let last = nodes.count - 1
        if slot != last {
            // Keep the slots dense: the last node moves into the hole.
            let moved = nodes[last]
            nodes[slot] = moved
            index[moved.key] = slot
            if let newer = moved.newer { nodes[newer].older = slot } else { newest = slot }
            if let older = moved.older { nodes[older].newer = slot } else { oldest = slot }
        }
        nodes.removeLast()
        return value
    }

    @inlinable
    public mutating func removeAll() {
        nodes.removeAll(keepingCapacity: true)
        index.removeAll(keepingCapacity: true)
        newest = nil
        oldest = nil
    }

    @inlinable
    mutating func touch(_ slot: Int) {
        guard newest != slot else { return }
        unlink(slot)
        link(slot)
    }

    /// Makes `slot` the newest.
    @inlinable
    mutating func link(_ slot: Int) {
        nodes[slot].older = newest
        nodes[slot].newer = nil
        if let newest { nodes[newest].newer = slot }
        newest = slot
        if oldest == nil { oldest = slot }
    }

    @inlinable
    mutating func unlink(_ slot: Int) {
        let (newer, older) = (nodes[slot].newer, nodes[slot].older)
        if let newer { nodes[newer].older = older } else { newest = older }
        if let older { nodes[older].newer = newer } else { oldest = newer }
        nodes[slot].newer = nil
        nodes[slot].older = nil
    }
}

extension LRUCache: Sendable where Key: Sendable, Value: Sendable {}
extension LRUCache.Node: Sendable where Key: Sendable, Value: Sendable {}
