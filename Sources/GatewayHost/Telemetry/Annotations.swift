import Foundation
import JSON

/// What plugins recorded about one request (`annotate`), kept as bytes: each key and value is
/// copied once into one block of memory (made at the first), and the access-log line copies them
/// out again without a `String` made for either. A span (sampled requests only) reads them as
/// strings.
///
/// The block is `Storage`'s own rather than a `ByteBuffer` or an `Array`: their writes cost
/// ~340 and ~200 instructions of bookkeeping each (runtime exclusivity checks on their storage
/// objects, uniqueness, capacity), against ~30 for a copy into memory this type owns, and an
/// MCP request is annotated with ~6 pairs (measured with `bench/callgrind.sh traced1`).
///
/// Each entry knows whether the request's log line takes it (decided when it is set, from the
/// route's log policy); the others are kept for the span. Setting a key again points it at the
/// new value (the old bytes stay unused until the request ends).
struct Annotations {
    private struct Entry {
        var key: Range<Int>
        var value: Range<Int>
        var logged: Bool
    }

    /// Memory that grows by replacement (copied, doubled), freed with its last reference.
    private final class Storage {
        let base: UnsafeMutableRawPointer
        let capacity: Int

        init(capacity: Int) {
            base = .allocate(byteCount: capacity, alignment: 1)
            self.capacity = capacity
        }

        deinit { base.deallocate() }
    }

    private var storage: Storage?
    private var used = 0
    private var entries: [Entry] = []

    /// Records `value` under `key`. Invalid UTF-8 in either is repaired (a log line and a span
    /// are UTF-8 text).
    mutating func set(key: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer, logged: Bool) {
        if entries.isEmpty { entries.reserveCapacity(8) }
        let (keyRange, valueRange) = append(key, value)
        if let index = entries.firstIndex(where: { equal($0.key, keyRange) }) {
            entries[index].value = valueRange
            entries[index].logged = logged
        } else {
            entries.append(Entry(key: keyRange, value: valueRange, logged: logged))
        }
    }

    mutating func set(_ key: String, _ value: String, logged: Bool) {
        var key = key, value = value
        key.withUTF8 { k in value.withUTF8 { v in set(key: UnsafeRawBufferPointer(k), value: UnsafeRawBufferPointer(v), logged: logged) } }
    }

    /// The value recorded under `key`.
    func value(_ key: String) -> String? {
        var key = key
        return key.withUTF8 { wanted in
            withBytes { all in
                entries.first { entry in UnsafeRawBufferPointer(rebasing: all[entry.key]).elementsEqual(wanted) }
                    .map { String(decoding: UnsafeRawBufferPointer(rebasing: all[$0.value]), as: UTF8.self) }
            }
        }
    }

    /// Every entry, as strings, in the order first set (for a span's attributes).
    var pairs: [(key: String, value: String)] {
        withBytes { all in
            entries.map { (String(decoding: UnsafeRawBufferPointer(rebasing: all[$0.key]), as: UTF8.self),
                           String(decoding: UnsafeRawBufferPointer(rebasing: all[$0.value]), as: UTF8.self)) }
        }
    }

    /// The most bytes `writeLogged` writes.
    var logLineCapacity: Int {
        var total = 0
        for entry in entries where entry.logged {
            total += 2 + JSONText.quotedCapacity(entry.key.count) + JSONText.quotedCapacity(entry.value.count)
        }
        return total
    }

    /// Writes `"key":"value"` for each entry the log line takes, after a comma unless it is
    /// the object's first member.
    func writeLogged(into line: inout LineCursor) {
        withBytes { all in
            for entry in entries where entry.logged {
                if line.count > 1 { line.byte(UInt8(ascii: ",")) } // not right after the `{`
                line.quoted(UnsafeRawBufferPointer(rebasing: all[entry.key]))
                line.byte(UInt8(ascii: ":"))
                line.quoted(UnsafeRawBufferPointer(rebasing: all[entry.value]))
            }
        }
    }

    /// Calls `body` with every byte kept (entries' ranges index into them).
    private func withBytes<Result>(_ body: (UnsafeRawBufferPointer) -> Result) -> Result {
        body(UnsafeRawBufferPointer(start: storage?.base, count: used))
    }

    private func equal(_ a: Range<Int>, _ b: Range<Int>) -> Bool {
        guard a.count == b.count else { return false }
        guard a.count > 0 else { return true }
        return memcmp(storage!.base + a.lowerBound, storage!.base + b.lowerBound, a.count) == 0
    }

    /// Copies a key and its value in; invalid UTF-8 in either is repaired.
    private mutating func append(_ key: UnsafeRawBufferPointer, _ value: UnsafeRawBufferPointer) -> (key: Range<Int>, value: Range<Int>) {
        guard Self.isASCII(key), Self.isASCII(value) else {
            let key = Array(String(decoding: key, as: UTF8.self).utf8)
            let value = Array(String(decoding: value, as: UTF8.self).utf8)
            return key.withUnsafeBytes { key in value.withUnsafeBytes { value in copy(key, value) } }
        }
        return copy(key, value)
    }

    private mutating func copy(_ key: UnsafeRawBufferPointer, _ value: UnsafeRawBufferPointer) -> (key: Range<Int>, value: Range<Int>) {
        let start = used
        reserve(key.count + value.count)
        if let source = key.baseAddress { (storage!.base + used).copyMemory(from: source, byteCount: key.count) }
        used += key.count
        if let source = value.baseAddress { (storage!.base + used).copyMemory(from: source, byteCount: value.count) }
        used += value.count
        return (start..<(start + key.count), (start + key.count)..<used)
    }

    /// Room for `count` more bytes in storage this value alone holds.
    private mutating func reserve(_ count: Int) {
        if let storage, used + count <= storage.capacity, isKnownUniquelyReferenced(&self.storage) { return }
        let grown = Storage(capacity: max(256, 2 * (used + count)))
        if let storage, used > 0 { grown.base.copyMemory(from: storage.base, byteCount: used) }
        storage = grown
    }

    /// Whether every byte is below 0x80 (then the text is valid UTF-8 as it is).
    private static func isASCII(_ text: UnsafeRawBufferPointer) -> Bool {
        var high: UInt8 = 0
        for byte in text { high |= byte }
        return high < 0x80
    }
}
