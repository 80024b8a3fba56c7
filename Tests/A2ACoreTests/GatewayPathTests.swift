import A2ACore
import XCTest

final class GatewayPathTests: XCTestCase {
    func testPathsUnderThePrefix() {
        XCTAssertEqual(GatewayPath(path: "/agents", prefix: "/agents"), .catalog)
        XCTAssertEqual(GatewayPath(path: "/agents/?x=1", prefix: "/agents"), .catalog)
        XCTAssertEqual(GatewayPath(path: "/agents/travel/.well-known/agent-card.json", prefix: "/agents"), .card(agent: "travel"))
        XCTAssertEqual(GatewayPath(path: "/agents/travel/.well-known/agent.json", prefix: "/agents"), .card(agent: "travel"))
        XCTAssertEqual(GatewayPath(path: "/agents/travel", prefix: "/agents"), .agent("travel", rest: ""))
        XCTAssertEqual(GatewayPath(path: "/agents/travel/rest/tasks/t?x=1", prefix: "/agents"), .agent("travel", rest: "/rest/tasks/t?x=1"))
        XCTAssertEqual(GatewayPath(path: "/agentsx/travel", prefix: "/agents"), .outside)
        XCTAssertEqual(GatewayPath(path: "/travel/", prefix: "/"), .agent("travel", rest: "/"))
    }
}
