import A2ACore
import JSON
import XCTest

/// Task and context ids read from answers of both versions, and ListTasks pages filtered.
final class AgentAnswerTests: XCTestCase {
    private func named(_ text: String) -> [AgentAnswer.Named] { AgentAnswer.named(in: JSONValue(Array(text.utf8))) }

    func testAnswersOfBothVersionsNameTheirTasks() {
        XCTAssertEqual(named(#"{"jsonrpc":"2.0","id":1,"result":{"task":{"id":"t","contextId":"c","status":{}}}}"#),
                       [.init(task: "t", context: "c")])
        XCTAssertEqual(named(#"{"result":{"message":{"contextId":"c","parts":[]}}}"#), [.init(task: nil, context: "c")])
        XCTAssertEqual(named(#"{"statusUpdate":{"taskId":"t","contextId":"c","status":{}}}"#), [.init(task: "t", context: "c")])
        XCTAssertEqual(named(#"{"jsonrpc":"2.0","id":1,"result":{"kind":"task","id":"t3","contextId":"c3"}}"#),
                       [.init(task: "t3", context: "c3")])
        XCTAssertEqual(named(#"{"jsonrpc":"2.0","id":1,"result":{"kind":"status-update","taskId":"t4","contextId":"c4","final":true}}"#),
                       [.init(task: "t4", context: "c4")])
        XCTAssertEqual(named(#"{"id":"t5","contextId":"c5","status":{"state":"TASK_STATE_WORKING"}}"#), [.init(task: "t5", context: "c5")])
        XCTAssertEqual(named(#"{"jsonrpc":"2.0","id":1,"error":{"code":-32001,"message":"x"}}"#), [])
    }

    func testAListOfTasksKeepsOnlyTheCallersAndSaysSoInItsTotal() throws {
        let answer = JSONValue(Array(#"{"jsonrpc":"2.0","id":2,"result":{"tasks":[{"id":"a"},{"id":"b"},{"id":"c"}],"nextPageToken":"","pageSize":3,"totalSize":3}}"#.utf8))
        let filtered = JSONValue(try XCTUnwrap(AgentAnswer.filteringTasks(answer) { $0 != "b" }))
        XCTAssertEqual(filtered["result"]?["tasks"]?.elements?.compactMap { $0["id"]?.string }, ["a", "c"])
        XCTAssertEqual(filtered["result"]?["totalSize"]?.int, 2)
        XCTAssertEqual(filtered["id"]?.int, 2)
        XCTAssertNil(AgentAnswer.filteringTasks(answer) { _ in true }, "nothing to leave out")
        let rest = JSONValue(Array(#"{"tasks":[{"id":"a"}],"nextPageToken":""}"#.utf8))
        XCTAssertEqual(JSONValue(try XCTUnwrap(AgentAnswer.filteringTasks(rest) { _ in false }))["tasks"]?.text, "[]")
    }
}
