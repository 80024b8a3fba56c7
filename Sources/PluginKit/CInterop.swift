extension agw_str {
    var string: String {
        guard let ptr, len > 0 else { return "" }
        return String(decoding: UnsafeRawBufferPointer(start: ptr, count: len), as: UTF8.self)
    }

    var bytes: [UInt8] {
        guard let ptr, len > 0 else { return [] }
        return Array(UnsafeRawBufferPointer(start: ptr, count: len))
    }
}

extension String {
    func withAGWString<R>(_ body: (agw_str) -> R) -> R {
        var copy = self
        return copy.withUTF8 { bytes in
            body(agw_str(ptr: UnsafeRawPointer(bytes.baseAddress)?.assumingMemoryBound(to: CChar.self), len: bytes.count))
        }
    }
}

extension Array where Element == UInt8 {
    func withAGWString<R>(_ body: (agw_str) -> R) -> R {
        withUnsafeBytes { bytes in
            body(agw_str(ptr: bytes.baseAddress?.assumingMemoryBound(to: CChar.self), len: bytes.count))
        }
    }
}

extension Array where Element == [UInt8] {
    /// A C array of agw_str over these byte arrays, valid during body.
    func withAGWStrings<R>(_ body: (UnsafePointer<agw_str>) -> R) -> R {
        var views: [agw_str] = []
        var storage: [UnsafeMutableRawBufferPointer] = []
        defer { storage.forEach { $0.deallocate() } }
        for bytes in self {
            let copy = UnsafeMutableRawBufferPointer.allocate(byteCount: Swift.max(bytes.count, 1), alignment: 1)
            copy.copyBytes(from: bytes)
            storage.append(copy)
            views.append(agw_str(ptr: UnsafeRawPointer(copy.baseAddress)?.assumingMemoryBound(to: CChar.self), len: bytes.count))
        }
        return views.withUnsafeBufferPointer { body($0.baseAddress!) }
    }
}

extension Array where Element == (String, String) {
    /// A C array of agw_header over these pairs, valid during body.
    func withAGWHeaders<R>(_ body: (UnsafePointer<agw_header>?, Int) -> R) -> R {
        guard !isEmpty else { return body(nil, 0) }
        let flattened: [[UInt8]] = flatMap { [[UInt8]($0.0.utf8), [UInt8]($0.1.utf8)] }
        return flattened.withAGWStrings { strings in
            let headers = (0..<count).map { agw_header(name: strings[2 * $0], value: strings[2 * $0 + 1]) }
            return headers.withUnsafeBufferPointer { body($0.baseAddress, count) }
        }
    }
}
