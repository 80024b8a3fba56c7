import NIOCore
import PluginABI

/// An event for a plugin, in Swift form; turned into an `agw_event` only for the call.
struct HostEvent {
    var type: agw_event_type
    var id: UInt64
    var code: Int32 = 0
    var endOfStream = false
    var headers: [(String, String)] = []
    var data: ByteBuffer? = nil
    var text: String? = nil

    /// Calls body with a C view of the event, valid during the call only. The payload is viewed in
    /// place (no copy); header bytes go to one temporary buffer (on the stack when small).
    func withCEvent<R>(_ body: (UnsafePointer<agw_event>) -> R) -> R {
        func call(_ payload: agw_str) -> R {
            func emit(_ headerViews: UnsafePointer<agw_header>?) -> R {
                var event = agw_event(struct_size: UInt32(MemoryLayout<agw_event>.size), type: type, id: id, code: code,
                                      end_of_stream: endOfStream ? 1 : 0, headers: headerViews, header_count: headers.count,
                                      data: payload)
                return withUnsafePointer(to: &event) { body($0) }
            }
            guard !headers.isEmpty else { return emit(nil) }
            let total = headers.reduce(0) { $0 + $1.0.utf8.count + $1.1.utf8.count }
            return withUnsafeTemporaryAllocation(byteCount: max(total, 1), alignment: 1) { storage in
                withUnsafeTemporaryAllocation(of: agw_header.self, capacity: headers.count) { views in
                    var offset = 0
                    func store(_ text: String) -> agw_str {
                        var text = text
                        return text.withUTF8 { bytes in
                            let start = storage.baseAddress! + offset
                            if let source = bytes.baseAddress { start.copyMemory(from: source, byteCount: bytes.count) }
                            offset += bytes.count
                            return agw_str(ptr: UnsafeRawPointer(start).assumingMemoryBound(to: CChar.self), len: bytes.count)
                        }
                    }
                    for (index, (name, value)) in headers.enumerated() {
                        views[index] = agw_header(name: store(name), value: store(value))
                    }
                    return emit(UnsafePointer(views.baseAddress))
                }
            }
        }
        func view(_ bytes: UnsafeRawBufferPointer) -> agw_str {
            agw_str(ptr: bytes.baseAddress?.assumingMemoryBound(to: CChar.self), len: bytes.count)
        }
        if var text { return text.withUTF8 { call(view(UnsafeRawBufferPointer($0))) } }
        if let data { return data.withUnsafeReadableBytes { call(view($0)) } }
        return call(agw_str(ptr: nil, len: 0))
    }
}
