@testable import GatewayHost
import PluginABI
import Prometheus
import XCTest

/// The catalog stands between callers and the Prometheus registry: conflicting definitions are
/// errors (the registry would stop the process), label sets are capped, ids resolve to series.
final class MetricCatalogTests: XCTestCase {
    func testAConflictingDefinitionIsAnErrorAndTheSameOneIsShared() throws {
        let catalog = MetricCatalog(registry: PrometheusCollectorRegistry())
        let first = try catalog.define(.counter, name: "x_total", help: "x", labels: ["route"])
        XCTAssertEqual(try catalog.define(.counter, name: "x_total", help: "other help", labels: ["route"]), first)
        XCTAssertThrowsError(try catalog.define(.gauge, name: "x_total", help: "x", labels: ["route"]))
        XCTAssertThrowsError(try catalog.define(.counter, name: "x_total", help: "x", labels: ["route", "tool"]))
        XCTAssertThrowsError(try catalog.define(.counter, name: "x_total", help: "x"))
        XCTAssertThrowsError(try catalog.define(.counter, name: "9x", help: "x"))
        XCTAssertThrowsError(try catalog.define(.counter, name: "y", help: "x", labels: ["__reserved"]))
        XCTAssertThrowsError(try catalog.define(.counter, name: "y", help: "x", labels: ["a", "a"]))
    }

    func testLabelSetsPastTheCapFoldIntoOther() throws {
        let registry = PrometheusCollectorRegistry()
        let catalog = MetricCatalog(registry: registry, maxSeries: 3)
        let family = try catalog.define(.counter, name: "calls_total", help: "calls", labels: ["tool"])
        var ids: [UInt32] = []
        for tool in ["a", "b", "c", "d", "e"] {
            let (id, _) = try XCTUnwrap(catalog.series(family, values: [tool]))
            XCTAssertEqual(catalog.add(id: id, delta: 1), AGW_OK)
            ids.append(id)
        }
        XCTAssertEqual(try XCTUnwrap(catalog.series(family, values: ["a"])).id, ids[0], "a known label set keeps its series")
        XCTAssertEqual(ids[3], ids[4], "d and e both went to other")
        let text = registry.emitToString()
        XCTAssertTrue(text.contains(#"calls_total{tool="other"} 2"#), text)
        XCTAssertTrue(text.contains(#"calls_total{tool="c"} 1"#), text)
        XCTAssertFalse(text.contains(#"tool="d""#), text)
        XCTAssertNil(catalog.series(family, values: []), "the label count must match")
    }

    func testRecordingByIdChecksTheKind() throws {
        let catalog = MetricCatalog(registry: PrometheusCollectorRegistry())
        let counter = try XCTUnwrap(catalog.series(try catalog.define(.counter, name: "c_total", help: ""), values: [])).id
        let histogram = try XCTUnwrap(catalog.series(try catalog.define(.histogram, name: "h_seconds", help: ""), values: [])).id
        XCTAssertEqual(catalog.add(id: counter, delta: -1), AGW_ERR_INVALID_ARGUMENT, "counters only go up")
        XCTAssertEqual(catalog.record(id: counter, value: 1), AGW_ERR_INVALID_ARGUMENT)
        XCTAssertEqual(catalog.add(id: histogram, delta: 1), AGW_ERR_INVALID_ARGUMENT)
        XCTAssertEqual(catalog.record(id: histogram, value: 0.002), AGW_OK)
        XCTAssertEqual(catalog.add(id: 70_000, delta: 1), AGW_ERR_NOT_FOUND)
    }

    func testSeriesIdsResolveAcrossChunksFromManyThreads() throws {
        let catalog = MetricCatalog(registry: PrometheusCollectorRegistry(), maxSeries: 2000)
        let family = try catalog.define(.counter, name: "many_total", help: "", labels: ["n"])
        let ids = (0..<600).map { catalog.series(family, values: [String($0)])!.id }
        XCTAssertEqual(Set(ids).count, 600)
        DispatchQueue.concurrentPerform(iterations: 8) { _ in
            for id in ids { XCTAssertEqual(catalog.add(id: id, delta: 1), AGW_OK) }
        }
        let text = catalog.registry.emitToString()
        XCTAssertTrue(text.contains(#"many_total{n="599"} 8"#))
        XCTAssertTrue(text.contains(#"many_total{n="0"} 8"#))
    }

    func testHistogramsAreRecordedWithAtomicsAndWrittenInTheTextFormat() throws {
        let catalog = MetricCatalog(registry: PrometheusCollectorRegistry())
        let family = try catalog.define(.histogram, name: "t_seconds", help: "time", labels: ["route"], buckets: [0.1, 1])
        let histogram = catalog.histogram(family, "a\"b")
        DispatchQueue.concurrentPerform(iterations: 8) { _ in
            for _ in 0..<1000 { histogram.record(0.5) }
        }
        histogram.record(0.05)
        histogram.record(5)
        var bytes: [UInt8] = []
        catalog.emitHistograms(into: &bytes)
        let text = String(decoding: bytes, as: UTF8.self)
        XCTAssertEqual(text, """
            # HELP t_seconds time
            # TYPE t_seconds histogram
            t_seconds_bucket{route="a\\"b",le="0.1"} 1
            t_seconds_bucket{route="a\\"b",le="1.0"} 8001
            t_seconds_bucket{route="a\\"b",le="+Inf"} 8002
            t_seconds_sum{route="a\\"b"} 4005.05
            t_seconds_count{route="a\\"b"} 8002

            """)
    }
}
