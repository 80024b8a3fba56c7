import NIOCore
import NIOHTTP1

/// Writes HTTP/1 head lines into a `ByteBuffer` with one capacity check and one copy per string:
/// `ByteBuffer.writeString` per piece cost ~150 instructions of bookkeeping each (uniqueness,
/// exclusivity, capacity), several times the copying.
enum HeadBytes {
    /// `name: value\r\n` for each field `keep` accepts.
    static func writeFields(_ headers: HTTPHeaders, into buffer: inout ByteBuffer, keep: (String) -> Bool) {
        var total = 0
        for (name, value) in headers { total += name.utf8.count + value.utf8.count + 4 }
        buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: total) { room in writeFields(headers, into: room, keep: keep) }
    }

    /// `name: value\r\n` for each field `keep` accepts, into `room`, which holds at least every
    /// field's size with its ": " and CRLF (the loop writes a subset of them). Returns the bytes written.
    static func writeFields(_ headers: HTTPHeaders, into room: UnsafeMutableRawBufferPointer, keep: (String) -> Bool) -> Int {
        var at = 0
        for (name, value) in headers where keep(name) { at += writeLine(name, value, to: room, at: at) }
        return at
    }

    /// `name: value\r\n` into `room` at `at`; returns how many bytes.
    @inline(__always)
    private static func writeLine(_ name: String, _ value: String, to room: UnsafeMutableRawBufferPointer, at start: Int) -> Int {
        var at = start + copy(name, to: room, at: start)
        room[at] = UInt8(ascii: ":")
        room[at + 1] = UInt8(ascii: " ")
        at += 2
        at += copy(value, to: room, at: at)
        room[at] = 0x0D
        room[at + 1] = 0x0A
        return at + 2 - start
    }

    /// `name: value\r\n`.
    static func writeField(_ name: String, _ value: String, into buffer: inout ByteBuffer) {
        let nameCount = name.utf8.count
        // Bounds: exactly the bytes written below.
        buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: nameCount + value.utf8.count + 4) { room in
            writeLine(name, value, to: room, at: 0)
        }
    }

    /// Copies `text`'s UTF-8 into `room` at `at`; returns how many bytes.
    @inline(__always)
    static func copy(_ text: String, to room: UnsafeMutableRawBufferPointer, at: Int) -> Int {
        let count = text.utf8.count
        let copied = text.utf8.withContiguousStorageIfAvailable { bytes in
            UnsafeMutableRawBufferPointer(rebasing: room[at..<(at + count)]).copyMemory(from: UnsafeRawBufferPointer(bytes))
            return true
        }
        if copied == nil {
            var index = at
            for byte in text.utf8 {
                room[index] = byte
                index += 1
            }
        }
        return count
    }

    /// Copies `bytes` into `room` at `at`; returns how many.
    @inline(__always)
    static func copy(_ bytes: UnsafeRawBufferPointer, to room: UnsafeMutableRawBufferPointer, at: Int) -> Int {
        guard let base = bytes.baseAddress, bytes.count > 0 else { return 0 }
        UnsafeMutableRawBufferPointer(rebasing: room[at..<(at + bytes.count)]).copyMemory(from: UnsafeRawBufferPointer(start: base, count: bytes.count))
        return bytes.count
    }

    /// Copies `text` into `room` at `at`; returns how many bytes.
    @inline(__always)
    static func copy(_ text: StaticString, to room: UnsafeMutableRawBufferPointer, at: Int) -> Int {
        copy(UnsafeRawBufferPointer(start: text.utf8Start, count: text.utf8CodeUnitCount), to: room, at: at)
    }

    /// Whether `name` is `lowercase` ignoring ASCII case (header names are ASCII), without allocating.
    @inline(__always)
    static func nameIs(_ name: String, _ lowercase: StaticString) -> Bool {
        guard name.utf8.count == lowercase.utf8CodeUnitCount else { return false }
        let expected = lowercase.utf8Start
        var index = 0
        for byte in name.utf8 {
            if (byte >= 0x41 && byte <= 0x5A ? byte | 0x20 : byte) != expected[index] { return false }
            index += 1
        }
        return true
    }
}
