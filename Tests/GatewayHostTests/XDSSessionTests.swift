@testable import GatewayHost
import SwiftProtobuf
import XCTest
import XDSProto

/// The xDS protocol without a stream: subscriptions, responses to candidates, ACKs and NACKs.
final class XDSSessionTests: XCTestCase {
    private let node: Envoy_Config_Core_V3_Node = {
        var node = Envoy_Config_Core_V3_Node()
        node.id = "gw-1"
        return node
    }()

    private func route(_ name: String, prefix: String = "/api", config: [String: String] = ["value": "v"]) throws -> Google_Protobuf_Any {
        var route = Agentgateway_Config_V1_Route()
        route.name = name
        route.match.pathPrefix = prefix
        var filter = Agentgateway_Config_V1_Filter()
        filter.plugin = "stamp"
        filter.config = Google_Protobuf_Struct(fields: config.mapValues { Google_Protobuf_Value(stringValue: $0) })
        route.filters = [filter]
        route.backend.urls = ["http://127.0.0.1:9000"]
        return try Google_Protobuf_Any(message: route)
    }

    private func deltaResponse(_ resources: [(String, Google_Protobuf_Any)], removed: [String] = [], nonce: String = "n1") -> Envoy_Service_Discovery_V3_DeltaDiscoveryResponse {
        var response = Envoy_Service_Discovery_V3_DeltaDiscoveryResponse()
        response.typeURL = XDSResourceType.route.rawValue
        response.nonce = nonce
        response.resources = resources.map { name, any in
            var resource = Envoy_Service_Discovery_V3_Resource()
            resource.name = name
            resource.version = "\(name)-1"
            resource.resource = any
            return resource
        }
        response.removedResources = removed
        return response
    }

    func testDeltaSubscribesToEveryTypeAndNamesWhatItHasOnReconnect() throws {
        var session = XDSSession(mode: .delta, node: node)
        let opening = session.openingRequests()
        XCTAssertEqual(opening.count, 3)
        for case .delta(let request) in opening {
            XCTAssertEqual(request.resourceNamesSubscribe, ["*"])
            XCTAssertEqual(request.node.id, "gw-1")
            XCTAssertTrue(request.initialResourceVersions.isEmpty)
        }
        let pending = try session.read(deltaResponse([("api", route("api"))])).get()
        let candidate = session.candidate(with: [pending])
        XCTAssertEqual(candidate.routes["api"]?.route.filters.first?.configJSON.filter { !$0.isWhitespace }, #"{"value":"v"}"#)
        guard case .delta(let ack) = session.accept([pending]).first else { return XCTFail("a delta ACK") }
        XCTAssertEqual(ack.responseNonce, "n1")
        XCTAssertFalse(ack.hasErrorDetail)
        let reopened = session.openingRequests().compactMap { if case .delta(let r) = $0, r.typeURL == XDSResourceType.route.rawValue { return r } else { return nil } }
        XCTAssertEqual(reopened.first?.initialResourceVersions, ["api": "api-1"])
    }

    func testDeltaRemovalsAndUpdatesApplyToWhatWasAccepted() throws {
        var session = XDSSession(mode: .delta, node: node)
        _ = session.accept([try session.read(deltaResponse([("a", route("a")), ("b", route("b", prefix: "/b"))])).get()])
        let next = try session.read(deltaResponse([("c", route("c", prefix: "/c"))], removed: ["a"], nonce: "n2")).get()
        XCTAssertEqual(Set(session.candidate(with: [next]).routes.keys), ["b", "c"])
        XCTAssertEqual(Set(session.accepted.routes.keys), ["a", "b"], "nothing changes before the verdict")
    }

    func testAnUndecodableResourceIsRefusedByName() throws {
        let session = XDSSession(mode: .delta, node: node)
        var plugin = Agentgateway_Config_V1_Plugin()
        plugin.name = "x"
        let wrong = try Google_Protobuf_Any(message: plugin)
        guard case .failure(let refusal) = session.read(deltaResponse([("x", wrong)])) else { return XCTFail("refused") }
        XCTAssertTrue(refusal.message.hasPrefix("Route 'x': the resource is a type.googleapis.com/agentgateway.config.v1.Plugin"), refusal.message)
        guard case .delta(let nack) = session.reject(refusal) else { return XCTFail("a delta NACK") }
        XCTAssertEqual(nack.errorDetail.code, 3)
        XCTAssertEqual(nack.responseNonce, "n1")
        guard case .failure(let bad) = session.read(deltaResponse([("api", try route("api", prefix: "api"))])) else { return XCTFail("refused") }
        XCTAssertEqual(bad.message, "Route 'api': match.path_prefix: must start with '/'")
    }

    func testStateOfTheWorldNacksNameTheLastAcceptedVersion() throws {
        var session = XDSSession(mode: .stateOfTheWorld, node: node)
        var response = Envoy_Service_Discovery_V3_DiscoveryResponse()
        response.typeURL = XDSResourceType.route.rawValue
        response.versionInfo = "7"
        response.nonce = "a"
        response.resources = [try route("api")]
        _ = session.accept([try session.read(response).get()])
        response.versionInfo = "8"
        response.nonce = "b"
        response.resources = [try route("api"), try route("other", prefix: "/o")]
        let pending = try session.read(response).get()
        XCTAssertEqual(Set(session.candidate(with: [pending]).routes.keys), ["api", "other"])
        guard case .stateOfTheWorld(let nack) = session.reject([pending], message: "no").first else { return XCTFail("a NACK") }
        XCTAssertEqual(nack.versionInfo, "7")
        XCTAssertEqual(nack.responseNonce, "b")
        XCTAssertEqual(nack.errorDetail.message, "no")
        guard case .stateOfTheWorld(let ack) = session.accept([pending]).first else { return XCTFail("an ACK") }
        XCTAssertEqual(ack.versionInfo, "8")
    }

    func testTheFileWinsOnNameConflictsAndXDSRoutesComeAfterItsOwnByOrder() throws {
        var file = GatewayConfig()
        file.listeners = [ListenerConfig(name: "main", address: SocketAddressSpec(host: "127.0.0.1", port: 0))]
        file.routes = [RouteConfig(name: "api", terminal: .backend(BackendConfig(urls: ["http://a"])))]
        var snapshot = XDSSnapshot()
        for (name, order) in [("api", 0), ("z", 1), ("b", 5), ("a", 5)] {
            snapshot.routes[name] = .init(order: order, route: RouteConfig(name: name, terminal: .backend(BackendConfig(urls: ["http://x"]))))
        }
        snapshot.listeners["main"] = ListenerConfig(name: "main", address: SocketAddressSpec(host: "0.0.0.0", port: 80))
        let (merged, shadowed, origins) = file.merging(snapshot)
        XCTAssertEqual(merged.routes.map(\.name), ["api", "z", "a", "b"])
        XCTAssertEqual(merged.routes[0].terminal, .backend(BackendConfig(urls: ["http://a"])), "the file's own")
        XCTAssertEqual(merged.listeners.map(\.address.port), [0])
        XCTAssertEqual(Set(shadowed), ["Route 'api'", "Listener 'main'"])
        XCTAssertEqual(origins, [1: "z", 2: "a", 3: "b"])
    }
}
