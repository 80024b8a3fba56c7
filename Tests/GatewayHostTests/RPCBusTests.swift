import PluginABI
import XCTest
@testable import GatewayHost

/// The publication of a JSON-RPC message to a route's filters, without a host.
final class RPCBusTests: XCTestCase {
    private func text(_ view: agw_str) -> String {
        String(decoding: UnsafeRawBufferPointer(start: view.ptr, count: view.len), as: UTF8.self)
    }

    /// The bus keeps its own copy of the message (the handler's views end with its call), each
    /// filter sees the same fields, and a filter's rewritten params reach the filters after it.
    func testAPublishedMessageIsCopiedAndARewriteReachesTheNextFilter() {
        var bus = RPCBus(subscribers: [0, 2], stageNames: ["auth", "other", "policy"])
        var scratch = ScratchArena()
        var fields: [[UInt8]]? = ["7", "tools/call", "echo", "tool", "files", "", #"{"name":"echo"}"#].map { Array($0.utf8) }
        let first: RPCBus.Action = fields!.withUnsafeBufferPointer { all in
            func view(_ index: Int) -> agw_str {
                all[index].withUnsafeBufferPointer { agw_str(ptr: UnsafeRawPointer($0.baseAddress).map { $0.assumingMemoryBound(to: CChar.self) }, len: $0.count) }
            }
            var message = agw_rpc_message()
            message.struct_size = UInt32(MemoryLayout<agw_rpc_message>.size)
            message.kind = AGW_RPC_REQUEST
            (message.id, message.method, message.target, message.target_kind) = (view(0), view(1), view(2), view(3))
            (message.upstream, message.session_id, message.params) = (view(4), view(5), view(6))
            return bus.publish(message, token: 9)
        }
        fields = nil // the handler's bytes are gone
        XCTAssertEqual(first, .callHook(stage: 0))
        let seen = bus.message(scratch: &scratch)
        XCTAssertEqual([seen.id, seen.method, seen.target, seen.target_kind, seen.upstream, seen.params].map(text),
                       ["7", "tools/call", "echo", "tool", "files", #"{"name":"echo"}"#])
        XCTAssertEqual(seen.session_id.len, 0)
        XCTAssertEqual(bus.setParams(Array(#"{"name":"echo","arguments":{}}"#.utf8), callingStage: 0), AGW_OK)
        XCTAssertEqual(bus.hookReturned(AGW_STATUS_CONTINUE), .callHook(stage: 2))
        let next = bus.message(scratch: &scratch)
        XCTAssertEqual(text(next.params), #"{"name":"echo","arguments":{}}"#)
        XCTAssertEqual(text(next.method), "tools/call")
        XCTAssertEqual(bus.hookReturned(AGW_STATUS_CONTINUE), .finished)
        XCTAssertEqual(bus.decision, AGW_RPC_ALLOW)
    }
}
