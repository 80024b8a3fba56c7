import ABIInterop
import Foundation
import PluginABI

/// The per-stream key-value pairs filters share (`kv_set`, `kv_get`): the identity an auth
/// filter found, say. A stream holds a handful, so they are kept in order and found by
/// comparing bytes: no `String` per key and no hashing (a dictionary cost ~3,000 instructions
/// per pair set, most of it making and hashing the key).
///
/// Each pair lives in one allocation of its own (``Pair``: key and value bytes after a small
/// header), so `kv_get` hands out a view of the value with no copy: the ABI keeps such a view
/// valid until the hook returns or the same entry is set again, and setting an entry is what
/// frees its old pair.
struct StreamValues {
    /// One key and its value: `keyCount` key bytes, then the value's.
    final class Pair: ManagedBuffer<(keyCount: Int, valueCount: Int), UInt8> {
        static func make(key: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer) -> Pair {
            let pair = create(minimumCapacity: key.count + value.count) { _ in (key.count, value.count) }
            pair.withUnsafeMutablePointerToElements { start in
                if key.count > 0 { UnsafeMutableRawPointer(start).copyMemory(from: key.baseAddress!, byteCount: key.count) }
                if value.count > 0 { UnsafeMutableRawPointer(start + key.count).copyMemory(from: value.baseAddress!, byteCount: value.count) }
            }
            return unsafeDowncast(pair, to: Pair.self)
        }

        func keyIs(_ key: UnsafeRawBufferPointer) -> Bool {
            let count = header.keyCount
            guard count == key.count else { return false }
            return count == 0 || withUnsafeMutablePointerToElements { memcmp($0, key.baseAddress!, count) == 0 }
        }

        /// A view of the value, valid while this pair lives.
        var view: agw_str {
            let (keyCount, valueCount) = header
            guard valueCount > 0 else { return agw_str(ptr: nil, len: 0) }
            return withUnsafeMutablePointerToElements { start in
                agw_str(ptr: UnsafeRawPointer(start + keyCount).assumingMemoryBound(to: CChar.self), len: valueCount)
            }
        }
    }

    private var pairs: [Pair] = []

    var isEmpty: Bool { pairs.isEmpty }

    /// Sets `key` to `value`, replacing what it held.
    mutating func set(_ value: UnsafeRawBufferPointer, forKey key: UnsafeRawBufferPointer) {
        let pair = Pair.make(key: key, value: value)
        if let index = index(of: key) {
            pairs[index] = pair
        } else {
            if pairs.isEmpty { pairs.reserveCapacity(4) }
            pairs.append(pair)
        }
    }

    /// A view of the value of `key`, if set: valid until `key` is set again or the values go.
    func view(forKey key: UnsafeRawBufferPointer) -> agw_str? {
        index(of: key).map { pairs[$0].view }
    }

    /// A copy of the value of `key`, if set.
    func value(forKey key: String) -> [UInt8]? {
        var key = key
        return key.withUTF8 { key in
            index(of: UnsafeRawBufferPointer(key)).map { Array(pairs[$0].view.rawBuffer) }
        }
    }

    private func index(of key: UnsafeRawBufferPointer) -> Int? {
        pairs.firstIndex { $0.keyIs(key) }
    }
}
