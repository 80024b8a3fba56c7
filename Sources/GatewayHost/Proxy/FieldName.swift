/// Header field names compared as bytes (ASCII case-insensitive), where a `String` per name would
/// cost more than the comparison.
enum FieldName {
    /// Whether `bytes` is `lowercase` in any case.
    @inline(__always)
    static func bytes(_ bytes: UnsafeRawBufferPointer, are lowercase: StaticString) -> Bool {
        guard bytes.count == lowercase.utf8CodeUnitCount else { return false }
        let expected = lowercase.utf8Start
        for index in 0..<bytes.count {
            let byte = bytes[index]
            if (byte >= 0x41 && byte <= 0x5A ? byte | 0x20 : byte) != expected[index] { return false }
        }
        return true
    }

    /// Whether two names are the same in any ASCII case.
    @inline(__always)
    static func bytes(_ name: UnsafeRawBufferPointer, equal other: UnsafeRawBufferPointer) -> Bool {
        guard name.count == other.count else { return false }
        for index in 0..<name.count {
            let left = name[index], right = other[index]
            if left != right, left | 0x20 != right | 0x20 || !(0x61...0x7A).contains(left | 0x20) { return false }
        }
        return true
    }

    /// Whether `name` (a field name held as a `String`) is `bytes` in any ASCII case, without
    /// building a `String` for `bytes`.
    @inline(__always)
    static func string(_ name: String, equals bytes: UnsafeRawBufferPointer) -> Bool {
        var name = name
        return name.withUTF8 { Self.bytes(UnsafeRawBufferPointer($0), equal: bytes) }
    }

    /// Hop-by-hop fields (RFC 9110 §7.6.1): never forwarded.
    static func isHopByHop(_ name: UnsafeRawBufferPointer) -> Bool {
        switch name.count {
        case 2: bytes(name, are: "te")
        case 7: bytes(name, are: "trailer") || bytes(name, are: "upgrade")
        case 10: bytes(name, are: "connection") || bytes(name, are: "keep-alive")
        case 16: bytes(name, are: "proxy-connection")
        case 17: bytes(name, are: "transfer-encoding")
        default: false
        }
    }
}
