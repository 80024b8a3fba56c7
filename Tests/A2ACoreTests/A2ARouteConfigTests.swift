import A2ACore
import PluginKit
import XCTest

final class A2ARouteConfigTests: XCTestCase {
    private func error(_ json: String) -> String {
        do {
            _ = try A2ARouteConfig(json: json)
            return "no error"
        } catch {
            return error.description
        }
    }

    func testReadsAgentsAndDefaults() throws {
        let config = try A2ARouteConfig(json: """
            {"agents":[{"name":"travel","url":"http://10.0.0.5:9999/","headers":{"Authorization":"Bearer s"},
                        "forward_headers":["X-User"],"push_url_prefixes":["https://hooks.test/travel/"]}],
             "push_url_prefixes":["https://hooks.test/all"],"public_url":"https://gw.test/"}
            """)
        let agent = try XCTUnwrap(config.agent(named: "travel"))
        XCTAssertEqual(agent.url, "http://10.0.0.5:9999")
        XCTAssertEqual(agent.cardURL, "http://10.0.0.5:9999/.well-known/agent-card.json")
        XCTAssertEqual(agent.headers.map(\.0), ["authorization"])
        XCTAssertEqual(agent.forwardHeaders, ["x-user"])
        XCTAssertEqual(config.publicURL, "https://gw.test")
        XCTAssertTrue(config.taskIsolation)
        XCTAssertTrue(agent.allowsPushURL("https://hooks.test/all/x"))
        XCTAssertTrue(agent.allowsPushURL("https://hooks.test/travel/y"))
        XCTAssertFalse(agent.allowsPushURL("https://hooks.test/allx"), "a prefix ends at a boundary")
        XCTAssertFalse(agent.allowsPushURL("https://hooks.test/all@evil.test/"))
        XCTAssertFalse(agent.allowsPushURL("http://169.254.169.254/latest"))
    }

    func testErrorsNameTheKey() {
        XCTAssertTrue(error("{}").hasPrefix("'agents' must list at least one A2A agent"))
        XCTAssertEqual(error(#"{"agents":[{"name":"a b","url":"http://x"}]}"#), #"agents[0].name = "a b": use 1-64 ASCII letters, digits, '-' and '_' (it is a path segment)"#)
        XCTAssertTrue(error(#"{"agents":[{"name":"a"}]}"#).hasPrefix("agents[0]: 'url' is required"))
        XCTAssertTrue(error(#"{"agents":[{"name":"a","url":"http://x"},{"name":"a","url":"http://y"}]}"#).hasPrefix("two agents are named 'a'"))
        XCTAssertTrue(error(#"{"agents":[{"name":"a","url":"http://x"}],"push_url_prefixes":["hooks"]}"#).hasPrefix("push_url_prefixes: \"hooks\""))
        XCTAssertTrue(error(#"{"agents":[{"name":"a","url":"http://x","typo":1}]}"#).contains("typo"))
    }
}
