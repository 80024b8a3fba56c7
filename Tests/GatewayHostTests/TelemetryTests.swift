@testable import GatewayHost
import JSON
import NIOHTTP1
import XCTest

/// The I/O-free parts of observability: access-log lines and policies, W3C traceparent parsing.
final class TelemetryTests: XCTestCase {
    /// A record whose annotations were set as the host sets them: each kept for the line when
    /// `policy` logs its key.
    private func record(uri: String = "/mcp?api_key=secret", annotations pairs: [(key: String, value: String)] = [],
                        policy: AccessLogPolicy) -> AccessLogRecord {
        var annotations = Annotations()
        for (key, value) in pairs {
            var bytes = Array(key.utf8)
            let logged = bytes.withUnsafeMutableBytes { policy.logs(annotation: UnsafeRawBufferPointer($0)) }
            annotations.set(key, value, logged: logged)
        }
        return AccessLogRecord(unixNanoseconds: 1_764_640_801_123_456_789, requestID: 0xabc, traceID: nil, spanID: nil, listener: "main",
                        route: "mcp", httpVersion: "HTTP/1.1", method: "POST", uri: uri, status: 200, durationNanoseconds: 1_500_000,
                        requestBytes: 10, responseBytes: 20, peer: "127.0.0.1:5000", userAgent: "t\"\n\u{1}", subject: Array("alice".utf8),
                        authMethod: Array("jwt".utf8), upstream: nil, decidedBy: nil, annotations: annotations)
    }

    func testALineIsOneJSONObjectWithTheQueryAndArgumentsLeftOutUnlessIncluded() throws {
        let policy = try XCTUnwrap(AccessLogPolicy(global: AccessLogConfig(), route: nil))
        let bytes = AccessLogFormat.line(record(annotations: [("mcp.method.name", "tools/call"), ("mcp.request.arguments", "{}"),
                                                              ("status", "spoofed")], policy: policy), policy: policy)
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
        let line = JSONValue(Array(AccessLogFormat.line(record(annotations: [("mcp.request.arguments", #"{"a":1}"#)], policy: policy), policy: policy).dropLast()))
        XCTAssertEqual(line["query"]?.string, "api_key=secret")
        XCTAssertEqual(line["mcp.request.arguments"]?.string, #"{"a":1}"#)
        XCTAssertNil(line["peer"])
        XCTAssertFalse((0..<100).contains { policy.samples(requestID: $0) }, "sample = 0 logs nothing")
        route.enabled = false
        XCTAssertNil(AccessLogPolicy(global: global, route: route))
        XCTAssertNil(AccessLogPolicy(global: nil, route: AccessLogConfig()), "no [access_log]: no lines")
    }

    func testAnnotationsKeepTheLastValueOfAKeyRepairInvalidUTF8AndLogOnlyWhatTheyWereSetFor() throws {
        var annotations = Annotations()
        annotations.set("mcp.method.name", "tools/list", logged: true)
        annotations.set("agw.mcp.target", "a", logged: true)
        annotations.set("mcp.method.name", "tools/call", logged: true)
        annotations.set("mcp.request.arguments", "{}", logged: false)
        [UInt8(ascii: "x"), 0xFF].withUnsafeBytes { value in
            Array("bad.utf8".utf8).withUnsafeBytes { annotations.set(key: $0, value: value, logged: true) }
        }
        XCTAssertEqual(annotations.value("mcp.method.name"), "tools/call")
        XCTAssertEqual(annotations.pairs.map(\.key), ["mcp.method.name", "agw.mcp.target", "mcp.request.arguments", "bad.utf8"])
        var global = AccessLogConfig()
        global.exclude = AccessLogPolicy.hostFields
        let policy = try XCTUnwrap(AccessLogPolicy(global: global, route: nil))
        var record = record(policy: policy)
        record.annotations = annotations
        let line = JSONValue(Array(AccessLogFormat.line(record, policy: policy).dropLast()))
        XCTAssertEqual(line.members?.map(\.name), ["mcp.method.name", "agw.mcp.target", "bad.utf8"],
                       "only the annotations, the opt-in one kept for the span only")
        XCTAssertEqual(line["mcp.method.name"]?.string, "tools/call")
        XCTAssertEqual(line["bad.utf8"]?.string, "x\u{FFFD}")
    }

    func testNumbersAndTimesAreWrittenAsTheirTextForms() {
        XCTAssertEqual(AccessLogFormat.timestamp(1_709_164_800_000_000_000 + 86_399_999_000_000), "2024-02-29T23:59:59.999Z", "a leap day")
        XCTAssertEqual(AccessLogFormat.timestamp(951_782_400_000_000_000), "2000-02-29T00:00:00.000Z")
        XCTAssertEqual(AccessLogFormat.timestamp(4_102_444_800_000_000_000), "2100-01-01T00:00:00.000Z")
        XCTAssertEqual(Set(AccessLogPolicy.optInFields.map(\.utf8.count)), [5, 21], "isOptIn(_:) checks these lengths first")
        for field in AccessLogPolicy.optInFields {
            XCTAssertTrue(Array(field.utf8).withUnsafeBytes { AccessLogPolicy.isOptIn($0) })
        }
        XCTAssertFalse(Array("mcp.request.argument!".utf8).withUnsafeBytes { AccessLogPolicy.isOptIn($0) })
        XCTAssertEqual(AccessLogFormat.milliseconds(0), "0.000")
        XCTAssertEqual(AccessLogFormat.milliseconds(999), "0.001")
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

    /// A request's method names its series: each listed method its own, any other `other`.
    func testRequestSeriesAreChosenByMethod() {
        for (index, method) in RequestMetrics.methods.enumerated() { XCTAssertEqual(RequestMetrics.index(of: method), index, method.rawValue) }
        for other: HTTPMethod in [.RAW(value: "PROPFIND"), .RAW(value: "get"), .PURGE, .MKCOL] {
            XCTAssertEqual(RequestMetrics.index(of: other), RequestMetrics.methods.count, other.rawValue)
        }
    }
}
