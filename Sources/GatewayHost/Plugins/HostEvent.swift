import NIOCore
import ABIInterop
import PluginABI

/// An event for a plugin, in Swift form; turned into an `agw_event` only for the call.
struct HostEvent {
    var type: agw_event_type
    var id: UInt64
    var code: Int32 = 0
    var endOfStream = false
    var headers: [(String, String)] = []
    /// An upstream response's fields, viewed in place (instead of ``headers``).
    var upstreamHead: UpstreamHead? = nil
    var data: ByteBuffer? = nil
    var text: String? = nil

    /// Calls body with a C view of the event, valid during the call only. The payload is viewed in
    /// place (no copy); header bytes go to one temporary buffer (on the stack when small).
    func withCEvent<R>(_ body: (UnsafePointer<agw_event>) -> R) -> R {
        func call(_ payload: agw_str) -> R {
            func emit(_ headerViews: UnsafePointer<agw_header>?, count: Int) -> R {
                var event = agw_event(struct_size: UInt32(MemoryLayout<agw_event>.size), type: type, id: id, code: code,
                                      end_of_stream: endOfStream ? 1 : 0, headers: count == 0 ? nil : headerViews, header_count: count,
                                      data: payload)
                return withUnsafePointer(to: &event) { body($0) }
            }
            if let upstreamHead {
                return upstreamHead.withFields { bytes, fields in
                    withUnsafeTemporaryAllocation(of: agw_header.self, capacity: max(fields.count, 1)) { views in
                        for (index, field) in fields.enumerated() {
                            views[index] = agw_header(name: agw_str(viewing: UnsafeRawBufferPointer(rebasing: bytes[field.name])),
                                                      value: agw_str(viewing: UnsafeRawBufferPointer(rebasing: bytes[field.value])))
                        }
                        return emit(views.baseAddress, count: fields.count)
                    }
                }
            }
            return headers.withAGWHeaders { views, _ in emit(views, count: headers.count) }
        }
        if var text { return text.withUTF8 { call(agw_str(viewing: UnsafeRawBufferPointer($0))) } }
        if let data { return data.withUnsafeReadableBytes { call(agw_str(viewing: $0)) } }
        return call(agw_str(ptr: nil, len: 0))
    }
}
