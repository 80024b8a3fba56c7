import PluginABI

// Swift views of the C ABI's strings and header arrays, shared by the host (GatewayHost), the SDK
// (PluginKit) and the fake host (PluginKitTesting). `package`: no plugin sees them as API.

extension agw_str {
    /// The bytes as a String (invalid UTF-8 is repaired); empty for a NULL pointer.
    @inlinable package var string: String {
        guard let ptr, len > 0 else { return "" }
        return String(decoding: UnsafeRawBufferPointer(start: ptr, count: len), as: UTF8.self)
    }

    /// A copy of the bytes; empty for a NULL pointer.
    @inlinable package var bytes: [UInt8] {
        guard let ptr, len > 0 else { return [] }
        return Array(UnsafeRawBufferPointer(start: ptr, count: len))
    }

    /// The bytes in place (valid as long as the view is).
    @inlinable package var rawBuffer: UnsafeRawBufferPointer {
        guard let ptr, len > 0 else { return UnsafeRawBufferPointer(start: nil, count: 0) }
        return UnsafeRawBufferPointer(start: ptr, count: len)
    }

    /// A view of `text`'s UTF-8 bytes copied to `cursor`, which moves past them (the caller
    /// reserved the room: `text.utf8.count`).
    @inlinable package init(copying text: String, to cursor: inout UnsafeMutableRawPointer) {
        let start = cursor
        let count = text.utf8.withContiguousStorageIfAvailable { bytes in
            if let source = bytes.baseAddress { start.copyMemory(from: source, byteCount: bytes.count) }
            return bytes.count
        } ?? {
            var copy = text
            return copy.withUTF8 { bytes in
                if let source = bytes.baseAddress { start.copyMemory(from: source, byteCount: bytes.count) }
                return bytes.count
            }
        }()
        cursor += count
        self.init(ptr: UnsafeRawPointer(start).assumingMemoryBound(to: CChar.self), len: count)
    }

    /// A view of `bytes` (valid as long as they are).
    @inlinable package init(viewing bytes: UnsafeRawBufferPointer) {
        self.init(ptr: bytes.baseAddress?.assumingMemoryBound(to: CChar.self), len: bytes.count)
    }
}

extension String {
    /// Calls body with a view of the string's UTF-8 bytes, valid during the call.
    @inlinable package func withAGWString<R>(_ body: (agw_str) -> R) -> R {
        var copy = self
        return copy.withUTF8 { body(agw_str(viewing: UnsafeRawBufferPointer($0))) }
    }
}

extension Array where Element == UInt8 {
    /// Calls body with a view of the bytes, valid during the call.
    @inlinable package func withAGWString<R>(_ body: (agw_str) -> R) -> R {
        withUnsafeBytes { body(agw_str(viewing: $0)) }
    }
}

extension Array where Element == [UInt8] {
    /// A C array of agw_str over these byte arrays, valid during body. The bytes are copied once,
    /// into one temporary buffer (on the stack when small).
    @inlinable package func withAGWStrings<R>(_ body: (UnsafePointer<agw_str>) -> R) -> R {
        let total = reduce(0) { $0 + $1.count }
        return withUnsafeTemporaryAllocation(byteCount: Swift.max(total, 1), alignment: 1) { storage in
            withUnsafeTemporaryAllocation(of: agw_str.self, capacity: Swift.max(count, 1)) { views in
                var offset = 0
                for (index, bytes) in enumerated() {
                    let start = storage.baseAddress! + offset
                    bytes.withUnsafeBytes { start.copyMemory(from: $0.baseAddress ?? UnsafeRawPointer(start), byteCount: $0.count) }
                    views[index] = agw_str(ptr: UnsafeRawPointer(start).assumingMemoryBound(to: CChar.self), len: bytes.count)
                    offset += bytes.count
                }
                return body(UnsafePointer(views.baseAddress!))
            }
        }
    }
}

extension Array where Element == (String, String) {
    /// A C array of agw_header over these pairs, valid during body (nil and 0 when empty): one
    /// temporary buffer for the bytes and one for the headers (on the stack when small), no
    /// per-header allocation.
    @inlinable package func withAGWHeaders<R>(_ body: (UnsafePointer<agw_header>?, Int) -> R) -> R {
        guard !isEmpty else { return body(nil, 0) }
        var total = 0
        for (name, value) in self { total += name.utf8.count + value.utf8.count }
        return withUnsafeTemporaryAllocation(byteCount: Swift.max(total, 1), alignment: 1) { storage in
            withUnsafeTemporaryAllocation(of: agw_header.self, capacity: count) { headers in
                var cursor = storage.baseAddress!
                for index in indices {
                    let name = agw_str(copying: self[index].0, to: &cursor)
                    headers[index] = agw_header(name: name, value: agw_str(copying: self[index].1, to: &cursor))
                }
                return body(UnsafePointer(headers.baseAddress), count)
            }
        }
    }
}
