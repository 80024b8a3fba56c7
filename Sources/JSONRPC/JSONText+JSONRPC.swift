import JSON

/// JSON-RPC 2.0 envelopes written by hand (responses, errors, requests), around raw JSON.
extension JSONText {
    /// A JSON-RPC response carrying `result` (raw JSON) for the request with `id` (raw JSON).
    @inlinable // specialized where it is called: a generic call costs a witness dispatch and copies
    public static func response(id: String, result: some Collection<UInt8>) -> [UInt8] {
        if let out = result.withContiguousStorageIfAvailable({ response(id: id, result: UnsafeRawBufferPointer($0)) }) { return out }
        return response(id: id, result: Array(result))
    }

    /// The same over contiguous bytes: one allocation of the exact size, each piece copied once
    /// (a short answer twice: see ``Swift/Array/init(writingUpTo:_:)``).
    public static func response(id: String, result: UnsafeRawBufferPointer) -> [UInt8] {
        let head: StaticString = "{\"jsonrpc\":\"2.0\",\"id\":", middle: StaticString = ",\"result\":"
        var id = id
        return id.withUTF8 { id in
            let count = head.utf8CodeUnitCount + id.count + middle.utf8CodeUnitCount + result.count + 1
            return [UInt8](writingUpTo: count) { out in
                // Bounds: the pieces written add up to `count`, the capacity.
                var at = 0
                func put(_ bytes: UnsafeRawBufferPointer) {
                    guard let source = bytes.baseAddress, bytes.count > 0 else { return }
                    (out + at).copyMemory(from: source, byteCount: bytes.count)
                    at += bytes.count
                }
                put(UnsafeRawBufferPointer(start: head.utf8Start, count: head.utf8CodeUnitCount))
                put(UnsafeRawBufferPointer(id))
                put(UnsafeRawBufferPointer(start: middle.utf8Start, count: middle.utf8CodeUnitCount))
                put(result)
                out.storeBytes(of: UInt8(ascii: "}"), toByteOffset: at, as: UInt8.self)
                return at + 1
            }
        }
    }

    /// What precedes the result in ``response(id:result:)`` (for a response sent in parts).
    public static func responseHead(id: String) -> [UInt8] {
        Array("{\"jsonrpc\":\"2.0\",\"id\":\(id),\"result\":".utf8)
    }

    /// What follows the result in ``response(id:result:)``.
    public static let responseTail: [UInt8] = [UInt8(ascii: "}")]

    /// A JSON-RPC error response; `data` is raw JSON.
    public static func errorResponse(id: String?, code: Int, message: String, data: String? = nil) -> [UInt8] {
        var error = "{\"code\":\(code),\"message\":\(quoted(message))"
        if let data { error += ",\"data\":\(data)" }
        error += "}"
        return errorResponse(id: id, error: Array(error.utf8))
    }

    /// A JSON-RPC error response carrying an error object (raw JSON) as an upstream sent it.
    public static func errorResponse(id: String?, error: some Collection<UInt8>) -> [UInt8] {
        var out = Array("{\"jsonrpc\":\"2.0\",\"id\":\(id ?? "null"),\"error\":".utf8)
        out.append(contentsOf: error)
        out.append(UInt8(ascii: "}"))
        return out
    }

    /// A request or notification (`id` nil) with raw JSON params.
    @inlinable
    public static func request(id: String?, method: String, params: (some Collection<UInt8>)?) -> [UInt8] {
        guard let params else { return request(id: id, method: method, params: UnsafeRawBufferPointer?.none) }
        if let out = params.withContiguousStorageIfAvailable({ request(id: id, method: method, params: UnsafeRawBufferPointer($0)) }) { return out }
        return Array(params).withUnsafeBytes { request(id: id, method: method, params: $0) }
    }

    /// The same over contiguous bytes: one allocation (room for the method fully escaped), each
    /// piece copied once.
    public static func request(id: String?, method: String, params: UnsafeRawBufferPointer?) -> [UInt8] {
        let head: StaticString = "{\"jsonrpc\":\"2.0\",", idKey: StaticString = "\"id\":", methodKey: StaticString = "\"method\":"
        let paramsKey: StaticString = ",\"params\":"
        var id = id ?? "", method = method
        let hasID = !id.isEmpty
        return id.withUTF8 { id in
            method.withUTF8 { method in
                let capacity = head.utf8CodeUnitCount + (hasID ? idKey.utf8CodeUnitCount + id.count + 1 : 0) + methodKey.utf8CodeUnitCount
                    + quotedCapacity(method.count) + (params.map { paramsKey.utf8CodeUnitCount + $0.count } ?? 0) + 1
                return [UInt8](writingUpTo: capacity) { base in
                    // Bounds: every piece below is counted in `capacity` (the method at its most
                    // escaped size).
                    var at = 0
                    func put(_ bytes: UnsafeRawBufferPointer) {
                        guard let source = bytes.baseAddress, bytes.count > 0 else { return }
                        (base + at).copyMemory(from: source, byteCount: bytes.count)
                        at += bytes.count
                    }
                    func put(_ text: StaticString) { put(UnsafeRawBufferPointer(start: text.utf8Start, count: text.utf8CodeUnitCount)) }
                    put(head)
                    if hasID {
                        put(idKey)
                        put(UnsafeRawBufferPointer(id))
                        base.storeBytes(of: UInt8(ascii: ","), toByteOffset: at, as: UInt8.self)
                        at += 1
                    }
                    put(methodKey)
                    at += writeQuoted(bytes: UnsafeRawBufferPointer(method), to: base + at)
                    if let params {
                        put(paramsKey)
                        put(params)
                    }
                    base.storeBytes(of: UInt8(ascii: "}"), toByteOffset: at, as: UInt8.self)
                    return at + 1
                }
            }
        }
    }
}
