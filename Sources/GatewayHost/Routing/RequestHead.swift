import HTTP1
import NIOCore
import NIOHTTP1

/// A request's head as an exchange keeps it: the method, version and target, and the header
/// fields as bytes (``RequestFields``). An HTTP/1 request's fields are the bytes the codec read,
/// copied once; nothing makes a `String` per field unless it asks for one.
struct RequestHead {
    var method: HTTPMethod
    var version: HTTPVersion
    var uri: String
    var headers: RequestFields

    init(method: HTTPMethod, version: HTTPVersion = .http1_1, uri: String, headers: RequestFields) {
        self.method = method
        self.version = version
        self.uri = uri
        self.headers = headers
    }

    /// A head NIO decoded (HTTP/2 streams, tests).
    init(_ head: HTTPRequestHead) {
        self.init(method: head.method, version: head.version, uri: head.uri, headers: RequestFields(head.headers))
    }

    /// The head the HTTP/1 codec read from `bytes` (the head's bytes, which `head`'s ranges index).
    init(_ head: HTTP1Head, in bytes: UnsafeRawBufferPointer) {
        self.init(method: HTTPMethodBytes.method(UnsafeRawBufferPointer(rebasing: bytes[head.method])),
                  version: head.minorVersion == 1 ? .http1_1 : .http1_0,
                  uri: String(decoding: UnsafeRawBufferPointer(rebasing: bytes[head.target]), as: UTF8.self),
                  headers: RequestFields(bytes: Array(bytes), fields: head.fields))
    }
}

/// Header fields held as one byte array and the ranges of each name and value in it: the head's
/// bytes as read, then the bytes of any field added since. Names compare ASCII
/// case-insensitively, as bytes. Iterating makes a `String` per name and value; the byte
/// readers (``value(named:at:_:)``, ``withField(at:_:)``) make none.
struct RequestFields: Sequence {
    private var bytes: [UInt8]
    private var fields: [HTTP1Field]

    init(bytes: [UInt8], fields: [HTTP1Field]) {
        self.bytes = bytes
        self.fields = fields
    }

    init(_ pairs: some Sequence<(String, String)>) {
        bytes = []
        fields = []
        for (name, value) in pairs { add(name: name, value: value) }
    }

    init(_ headers: HTTPHeaders) {
        self.init(headers.lazy.map { ($0.name, $0.value) })
    }

    var count: Int { fields.count }

    /// The `index`-th field's name and value as bytes (valid inside `body` only).
    func withField<Result>(at index: Int, _ body: (_ name: UnsafeRawBufferPointer, _ value: UnsafeRawBufferPointer) -> Result) -> Result {
        let field = fields[index]
        return bytes.withUnsafeBytes { all in
            body(UnsafeRawBufferPointer(rebasing: all[field.name]), UnsafeRawBufferPointer(rebasing: all[field.value]))
        }
    }

    /// The value of the `index`-th field named `name` (given as bytes, any case), as bytes, or nil.
    func value<Result>(named name: UnsafeRawBufferPointer, at index: Int, _ body: (UnsafeRawBufferPointer) -> Result) -> Result? {
        bytes.withUnsafeBytes { all in
            var remaining = index
            for field in fields where FieldName.bytes(UnsafeRawBufferPointer(rebasing: all[field.name]), equal: name) {
                if remaining == 0 { return body(UnsafeRawBufferPointer(rebasing: all[field.value])) }
                remaining -= 1
            }
            return nil
        }
    }

    /// The first value of `name` (any case).
    func first(name: String) -> String? {
        var name = name
        return name.withUTF8 { wanted in value(named: UnsafeRawBufferPointer(wanted), at: 0) { String(decoding: $0, as: UTF8.self) } }
    }

    /// Every value of `name` (any case), in order.
    subscript(name: String) -> [String] {
        var name = name
        return name.withUTF8 { wanted in
            bytes.withUnsafeBytes { all in
                fields.compactMap { field in
                    FieldName.bytes(UnsafeRawBufferPointer(rebasing: all[field.name]), equal: UnsafeRawBufferPointer(wanted))
                        ? String(decoding: UnsafeRawBufferPointer(rebasing: all[field.value]), as: UTF8.self) : nil
                }
            }
        }
    }

    /// The comma-separated elements of every value of `name`, trimmed, empty ones skipped.
    subscript(canonicalForm name: String) -> [Substring] {
        self[name].flatMap { value in
            value.split(separator: ",").map { $0.drop { $0 == " " || $0 == "\t" } }.map { element in
                var element = element
                while let last = element.last, last == " " || last == "\t" { element.removeLast() }
                return element
            }.filter { !$0.isEmpty }
        }
    }

    func contains(name: String) -> Bool {
        var name = name
        return name.withUTF8 { wanted in value(named: UnsafeRawBufferPointer(wanted), at: 0) { _ in () } != nil }
    }

    /// Bytes of names and values (what `max_request_header_bytes` counts).
    var nameAndValueBytes: Int { fields.reduce(0) { $0 + $1.name.count + $1.value.count } }

    mutating func add(name: String, value: String) {
        let nameStart = bytes.count
        bytes.append(contentsOf: name.utf8)
        let valueStart = bytes.count
        bytes.append(contentsOf: value.utf8)
        fields.append(HTTP1Field(name: nameStart..<valueStart, value: valueStart..<bytes.count))
    }

    mutating func remove(name: String) {
        var name = name
        name.withUTF8 { wanted in
            let all = bytes
            all.withUnsafeBytes { all in
                fields.removeAll { FieldName.bytes(UnsafeRawBufferPointer(rebasing: all[$0.name]), equal: UnsafeRawBufferPointer(wanted)) }
            }
        }
    }

    /// Replaces the first field named `name` (removing the others), or adds one.
    mutating func replaceOrAdd(name: String, value: String) {
        remove(name: name)
        add(name: name, value: value)
    }

    /// Writes `name: value` CRLF for each field `keep` accepts (given its name and value bytes),
    /// into room reserved once for all of them.
    func write(into buffer: inout ByteBuffer, keep: (_ name: UnsafeRawBufferPointer, _ value: UnsafeRawBufferPointer) -> Bool) {
        let total = fields.reduce(0) { $0 + $1.name.count + $1.value.count + 4 }
        bytes.withUnsafeBytes { all in
            // Bounds: `room` holds at least `total` bytes, every field with its ": " and CRLF;
            // the loop writes a subset of them.
            buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: total) { room in
                var at = 0
                for field in fields {
                    let name = UnsafeRawBufferPointer(rebasing: all[field.name]), value = UnsafeRawBufferPointer(rebasing: all[field.value])
                    guard keep(name, value) else { continue }
                    if let base = name.baseAddress { (room.baseAddress! + at).copyMemory(from: base, byteCount: name.count) }
                    at += name.count
                    room[at] = UInt8(ascii: ":")
                    room[at + 1] = UInt8(ascii: " ")
                    at += 2
                    if let base = value.baseAddress { (room.baseAddress! + at).copyMemory(from: base, byteCount: value.count) }
                    at += value.count
                    room[at] = 0x0D
                    room[at + 1] = 0x0A
                    at += 2
                }
                return at
            }
        }
    }

    func makeIterator() -> Iterator { Iterator(fields: self, index: 0) }

    struct Iterator: IteratorProtocol {
        let fields: RequestFields
        var index: Int

        mutating func next() -> (name: String, value: String)? {
            guard index < fields.count else { return nil }
            defer { index += 1 }
            return fields.withField(at: index) { (String(decoding: $0, as: UTF8.self), String(decoding: $1, as: UTF8.self)) }
        }
    }
}

/// What `header_set`, `header_add` and `header_remove` do, to the request's fields or the
/// response's `HTTPHeaders` alike.
enum HeaderChange {
    case set(String, String)
    case add(String, String)
    case remove(String)

    func apply(to headers: inout some HeaderFieldEditing) {
        switch self {
        case .set(let name, let value): headers.replaceOrAdd(name: name, value: value)
        case .add(let name, let value): headers.add(name: name, value: value)
        case .remove(let name): headers.remove(name: name)
        }
    }
}

/// Header fields a plugin may change.
protocol HeaderFieldEditing {
    mutating func add(name: String, value: String)
    mutating func replaceOrAdd(name: String, value: String)
    mutating func remove(name: String)
}

extension RequestFields: HeaderFieldEditing {}

extension RequestFields: ExpressibleByDictionaryLiteral {
    init(dictionaryLiteral elements: (String, String)...) {
        self.init(elements)
    }
}
extension HTTPHeaders: HeaderFieldEditing {}
