@testable import GatewayHost
import JSON
import XCTest

/// The I/O-free parts of observability: access-log lines and policies, W3C traceparent parsing.
final class TelemetryTests: XCTestCase {
    private func record(uri: String = "/mcp?api_key=secret", annotations: [(key: String, value: String)] = []) -> AccessLogRecord {
        AccessLogRecord(unixNanoseconds: 1_764_640_801_123_456_789, requestID: 0xabc, traceID: nil, spanID: nil, listener: "main",
                        route: "mcp", httpVersion: "HTTP/1.1", method: "POST", uri: uri, status: 200, durationNanoseconds: 1_500_000,
                        requestBytes: 10, responseBytes: 20, peer: "127.0.0.1:5000", userAgent: "t\"\n\u{1}", subject: "alice",
                        authMethod: "jwt", upstream: nil, decidedBy: nil, annotations: annotations)
    }

    func testALineIsOneJSONObjectWithTheQueryAndArgumentsLeftOutUnlessIncluded() throws {
        let policy = try XCTUnwrap(AccessLogPolicy(global: AccessLogConfig(), route: nil))
        let bytes = AccessLogFormat.line(record(annotations: [("mcp.method.name", "tools/call"), ("mcp.request.arguments", "{}"),
                                                              ("status", "spoofed")]), policy: policy)
        XCTAssertEqual(bytes.last, UInt8(ascii: "\n"))
        XCTAssertEqual(bytes.filter { $0 == UInt8(ascii: "\n") }.count, 1, "control characters are escaped")
        let line = JSONValue(Array(bytes.dropLast()))
        XCTAssertEqual(line["time"]?.string, "2025-12-02T02:00:01.123Z")
        XCTAssertEqual(line["request_id"]?.string, "abc")
        XCTAssertEqual(line["path"]?.string, "/mcp")
        XCTAssertNil(line["query"], "the query may carry keys")
        XCTAssertNil(line["mcp.request.arguments"], "arguments are opt-in")
        XCTAssertEqual(line["mcp.method.name"]?.string, "tools/call")
        XCTAssertEqual(line["status"]?.int, 200, "an annotation cannot replace a host field")
        XCTAssertEqual(line["user_agent"]?.string, "t\"\n\u{1}")
        XCTAssertEqual(line["duration_ms"]?.text, "1.500")
        XCTAssertNil(line["trace_id"])
    }

    func testARouteIncludesExcludesAndTurnsItsLinesOff() throws {
        var global = AccessLogConfig()
        global.exclude = ["peer"]
        var route = AccessLogConfig()
        route.include = ["query", "mcp.request.arguments"]
        route.sample = 0
        let policy = try XCTUnwrap(AccessLogPolicy(global: global, route: route))
        let line = JSONValue(Array(AccessLogFormat.line(record(annotations: [("mcp.request.arguments", #"{"a":1}"#)]), policy: policy).dropLast()))
        XCTAssertEqual(line["query"]?.string, "api_key=secret")
        XCTAssertEqual(line["mcp.request.arguments"]?.string, #"{"a":1}"#)
        XCTAssertNil(line["peer"])
        XCTAssertFalse((0..<100).contains { policy.samples(requestID: $0) }, "sample = 0 logs nothing")
        route.enabled = false
        XCTAssertNil(AccessLogPolicy(global: global, route: route))
        XCTAssertNil(AccessLogPolicy(global: nil, route: AccessLogConfig()), "no [access_log]: no lines")
    }

    func testSamplingAdmitsTheFractionAskedForAndTwoDecisionsAreIndependent() {
        let ids = UInt64(1)...UInt64(100_000)
        let logged = ids.filter { Sampling.admits($0, fraction: 0.1, salt: 7) }
        XCTAssertEqual(Double(logged.count) / Double(ids.count), 0.1, accuracy: 0.005)
        let both = logged.filter { Sampling.admits($0, fraction: 0.1, salt: 99) }
        XCTAssertEqual(Double(both.count) / Double(ids.count), 0.01, accuracy: 0.002)
        XCTAssertTrue(ids.prefix(100).allSatisfy { Sampling.admits($0, fraction: 1, salt: 7) })
        XCTAssertFalse(ids.prefix(100).contains { Sampling.admits($0, fraction: 0, salt: 7) })
        XCTAssertEqual(AccessLogFormat.milliseconds(1_500_000), "1.500")
        XCTAssertEqual(AccessLogFormat.milliseconds(12_345_678_901), "12345.679")
        XCTAssertEqual(AccessLogFormat.timestamp(0), "1970-01-01T00:00:00.000Z")
    }

    func testTraceParentIsValidatedAsW3CSays() throws {
        let valid = try XCTUnwrap(TraceParent("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"))
        XCTAssertEqual(valid.traceID, "0af7651916cd43dd8448eb211c80319c")
        XCTAssertTrue(valid.sampled)
        XCTAssertFalse(try XCTUnwrap(TraceParent("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00")).sampled)
        XCTAssertNotNil(TraceParent("01-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-03-future"), "a later version may add fields")
        for invalid in ["", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331", "00-00000000000000000000000000000000-b7ad6b7169203331-01",
                        "00-0af7651916cd43dd8448eb211c80319c-0000000000000000-01", "ff-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
                        "00-0AF7651916CD43DD8448EB211C80319C-b7ad6b7169203331-01", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01-x"] {
            XCTAssertNil(TraceParent(invalid), invalid)
        }
    }
}
