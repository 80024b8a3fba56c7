import A2ACore
import JSON
import XCTest

/// Cards point every client at the gateway: interfaces of both versions, security of the
/// gateway's route, no stale signatures, only the skills a caller may use.
final class CardRewriterTests: XCTestCase {
    let v1Card = JSONValue(Array("""
        {"name":"travel","description":"d","supportedInterfaces":[
          {"url":"http://10.0.0.5:9999/","protocolBinding":"JSONRPC","protocolVersion":"1.0"},
          {"url":"http://10.0.0.5:9999/rest","protocolBinding":"HTTP+JSON","protocolVersion":"1.0","tenant":"t1"},
          {"url":"10.0.0.5:50051","protocolBinding":"GRPC","protocolVersion":"1.0"}],
         "version":"1","capabilities":{"streaming":true},
         "securitySchemes":{"upstream":{"httpAuthSecurityScheme":{"scheme":"Bearer"}}},
         "securityRequirements":[{"schemes":{"upstream":{"list":[]}}}],
         "skills":[{"id":"book","name":"Book"},{"id":"cancel","name":"Cancel"}],
         "signatures":[{"protected":"e30","signature":"c2ln"}]}
        """.utf8))

    let v03Card = JSONValue(Array("""
        {"name":"old","url":"http://10.0.0.6/a2a","preferredTransport":"JSONRPC","protocolVersion":"0.3.0",
         "additionalInterfaces":[{"url":"http://10.0.0.6/a2a","transport":"JSONRPC"},{"url":"http://10.0.0.6/rest","transport":"HTTP+JSON"},
                                 {"url":"10.0.0.6:1","transport":"GRPC"}],
         "securitySchemes":{"upstream":{"type":"http","scheme":"bearer"}},"security":[{"upstream":[]}],
         "skills":[{"id":"s","name":"S"}]}
        """.utf8))

    let bearer = JSONValue(Array(#"{"bearer":{"type":"http","scheme":"bearer","bearerFormat":"JWT"},"apiKey":{"type":"apiKey","in":"header","name":"x-api-key"}}"#.utf8))

    func testInterfacesGetSlugsAndGRPCIsLeftOut() {
        let interfaces = AgentInterfaces(card: v1Card)
        XCTAssertEqual(interfaces.interfaces.map(\.slug), ["jsonrpc", "rest"])
        XCTAssertEqual(interfaces.skipped, ["GRPC at 10.0.0.5:50051"])
        let legacy = AgentInterfaces(card: v03Card)
        XCTAssertEqual(legacy.interfaces.map(\.slug), ["jsonrpc", "rest"])
        XCTAssertEqual(legacy.interfaces.map(\.version), [.v0_3, .v0_3])
        XCTAssertEqual(legacy.route("/rest/v1/message:send", version: .v0_3)?.suffix, "/v1/message:send")
        XCTAssertEqual(legacy.route("", version: .v0_3)?.0.slug, "jsonrpc")
        XCTAssertNil(legacy.route("/grpc", version: .v0_3))
    }

    func testAMixedCardGetsAQualifiedSlugForTheSecondVersion() {
        let card = JSONValue(Array("""
            {"supportedInterfaces":[{"url":"http://a/","protocolBinding":"JSONRPC","protocolVersion":"1.0"}],
             "url":"http://a/","preferredTransport":"JSONRPC","protocolVersion":"0.3"}
            """.utf8))
        let interfaces = AgentInterfaces(card: card)
        XCTAssertEqual(interfaces.interfaces.map(\.slug), ["jsonrpc", "jsonrpc-0.3"])
        XCTAssertEqual(interfaces.jsonRPC(for: .v0_3)?.slug, "jsonrpc-0.3")
        XCTAssertEqual(interfaces.jsonRPC(for: .v1_0)?.slug, "jsonrpc")
    }

    func testAV1CardPointsAtTheGatewayWithTheGatewaysSecurity() throws {
        let rewriter = CardRewriter(agentBaseURL: "https://gw.test/agents/travel", interfaces: AgentInterfaces(card: v1Card),
                                    securitySchemes: bearer, keepsSkill: { $0["id"]?.string != "cancel" })
        let card = JSONValue(try XCTUnwrap(rewriter.rewrite(v1Card)))
        let interfaces = try XCTUnwrap(card["supportedInterfaces"]?.elements)
        XCTAssertEqual(interfaces.compactMap { $0["url"]?.string }, ["https://gw.test/agents/travel/jsonrpc", "https://gw.test/agents/travel/rest"])
        XCTAssertEqual(interfaces[1]["tenant"]?.string, "t1", "the rest of an interface stays")
        XCTAssertFalse(card.text.contains("10.0.0.5"), card.text)
        XCTAssertNil(card["signatures"])
        XCTAssertEqual(card["securitySchemes"]?["bearer"]?["httpAuthSecurityScheme"]?["scheme"]?.string, "Bearer")
        XCTAssertEqual(card["securitySchemes"]?["apiKey"]?["apiKeySecurityScheme"]?["name"]?.string, "x-api-key")
        XCTAssertNil(card["securitySchemes"]?["upstream"])
        XCTAssertEqual(card["securityRequirements"]?.elements?.count, 2)
        XCTAssertEqual(card["skills"]?.elements?.compactMap { $0["id"]?.string }, ["book"])
        XCTAssertEqual(card["capabilities"]?["streaming"]?.text, "true")
        XCTAssertEqual(card.members?.map(\.name), ["name", "description", "supportedInterfaces", "version", "capabilities",
                                                   "securitySchemes", "securityRequirements", "skills"])
    }

    func testAV03CardPointsAtTheGatewayAndARouteWithoutAuthAsksForNone() throws {
        let rewriter = CardRewriter(agentBaseURL: "http://gw/agents/old", interfaces: AgentInterfaces(card: v03Card), securitySchemes: nil)
        let card = JSONValue(try XCTUnwrap(rewriter.rewrite(v03Card)))
        XCTAssertEqual(card["url"]?.string, "http://gw/agents/old/jsonrpc")
        XCTAssertEqual(card["additionalInterfaces"]?.elements?.compactMap { $0["url"]?.string },
                       ["http://gw/agents/old/jsonrpc", "http://gw/agents/old/rest"])
        XCTAssertNil(card["securitySchemes"])
        XCTAssertNil(card["security"])
        let secured = JSONValue(try XCTUnwrap(CardRewriter(agentBaseURL: "http://gw/agents/old", interfaces: AgentInterfaces(card: v03Card),
                                                           securitySchemes: bearer).rewrite(v03Card)))
        XCTAssertEqual(secured["securitySchemes"]?["bearer"]?["scheme"]?.string, "bearer", "0.3 keeps the OpenAPI form")
        XCTAssertEqual(secured["security"]?.text, #"[{"bearer":[]},{"apiKey":[]}]"#)
    }

    func testETagsChangeWithTheBodyAndIfNoneMatchCompares() {
        let one = CardRewriter.etag(Array("a".utf8)), two = CardRewriter.etag(Array("b".utf8))
        XCTAssertNotEqual(one, two)
        XCTAssertEqual(one, CardRewriter.etag(Array("a".utf8)))
        XCTAssertTrue(CardRewriter.matches(ifNoneMatch: "W/\"x\", \(one)", etag: one))
        XCTAssertTrue(CardRewriter.matches(ifNoneMatch: "*", etag: one))
        XCTAssertFalse(CardRewriter.matches(ifNoneMatch: two, etag: one))
    }
}
