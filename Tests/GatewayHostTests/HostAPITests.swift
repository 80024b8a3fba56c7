@testable import GatewayHost
import PluginABI
import XCTest

/// The table's contract at its edges: out-structs written at the caller's size, NULL handles
/// refused. (Every hook test in ExchangeTests and HTTPServerHandlerTests goes through the table too.)
final class HostAPITests: XCTestCase {
    private func verdict() -> agw_rpc_verdict {
        var verdict = agw_rpc_verdict()
        verdict.decision = AGW_RPC_REJECT
        verdict.error_code = -32001
        return verdict
    }

    func testAnOutStructIsWrittenAtMostAtTheCallersSize() {
        var out = agw_rpc_verdict()
        out.error_code = 7 // beyond what this caller knows: must stay
        out.struct_size = UInt32(MemoryLayout<agw_rpc_verdict>.offset(of: \.error_code)!)
        HostAPI.write(verdict(), to: &out, callerMinor: 3)
        XCTAssertEqual(out.decision, AGW_RPC_REJECT)
        XCTAssertEqual(out.error_code, 7)
        XCTAssertEqual(Int(out.struct_size), MemoryLayout<agw_rpc_verdict>.offset(of: \.error_code)!, "it says how much it wrote")
    }

    func testACallerThatKnowsALargerStructGetsTheHostsSize() {
        var out = agw_rpc_verdict()
        out.struct_size = 4096
        HostAPI.write(verdict(), to: &out, callerMinor: 3)
        XCTAssertEqual(out.error_code, -32001)
        XCTAssertEqual(Int(out.struct_size), MemoryLayout<agw_rpc_verdict>.size)
    }

    func testCallersBefore1_3NeedNotSetTheSize() {
        var out = agw_rpc_verdict()
        out.struct_size = 2 // garbage: 1.2 callers did not have to set it
        HostAPI.write(verdict(), to: &out, callerMinor: 2)
        XCTAssertEqual(out.error_code, -32001)
        XCTAssertEqual(Int(out.struct_size), MemoryLayout<agw_rpc_verdict>.size)
    }

    func testNullHandlesAreRefusedNotFollowed() {
        let api = HostAPI.table.pointee
        XCTAssertEqual(api.resume(nil), AGW_ERR_INVALID_ARGUMENT)
        XCTAssertEqual(api.timer_cancel(nil, 1), AGW_ERR_INVALID_ARGUMENT)
        var value = agw_str()
        XCTAssertEqual(api.kv_get(nil, agw_str(ptr: nil, len: 0), &value), AGW_ERR_INVALID_ARGUMENT)
    }
}
