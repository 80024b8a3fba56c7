import PluginABI

/// The per-stream key-value pairs filters share (`kv_set`, `kv_get`): the identity an auth
/// filter found, say. A stream holds a handful, so they are kept in order and found by
/// comparing bytes: no `String` per key and no hashing (a dictionary cost ~3,000 instructions
/// per pair set, most of it making and hashing the key).
struct StreamValues {
    private var pairs: [(key: [UInt8], value: [UInt8])] = []

    var isEmpty: Bool { pairs.isEmpty }

    /// Sets `key` to `value`, replacing what it held.
    mutating func set(_ value: UnsafeRawBufferPointer, forKey key: UnsafeRawBufferPointer) {
        if let index = index(of: key) {
            pairs[index].value = Array(value)
        } else {
            if pairs.isEmpty { pairs.reserveCapacity(4) }
            pairs.append((Array(key), Array(value)))
        }
    }

    /// The value of `key`, if set.
    func value(forKey key: UnsafeRawBufferPointer) -> [UInt8]? {
        index(of: key).map { pairs[$0].value }
    }

    /// The value of `key`, if set.
    func value(forKey key: String) -> [UInt8]? {
        var key = key
        return key.withUTF8 { value(forKey: UnsafeRawBufferPointer($0)) }
    }

    private func index(of key: UnsafeRawBufferPointer) -> Int? {
        pairs.firstIndex { pair in pair.key.count == key.count && pair.key.withUnsafeBytes { $0.elementsEqual(key) } }
    }
}
