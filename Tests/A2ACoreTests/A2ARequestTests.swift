import A2ACore
import JSON
import XCTest

/// Reading requests in both bindings and both versions: what they name, and the errors for
/// what is not an A2A request.
final class A2ARequestTests: XCTestCase {
    private func jsonRPC(_ text: String, version: A2AVersion = .v1_0) throws -> A2ARequest {
        try A2ARequest.jsonRPC(Array(text.utf8), version: version)
    }

    private func error(_ body: () throws -> Any) -> A2AError? {
        do {
            _ = try body()
            return nil
        } catch let error as A2AError {
            return error
        } catch {
            return nil
        }
    }

    func testASendMessageNamesItsTaskContextReferencesSkillAndWebhook() throws {
        let request = try jsonRPC("""
            {"jsonrpc":"2.0","id":"r-1","method":"SendMessage","params":{"message":{"messageId":"m","role":"ROLE_USER",
            "taskId":"t-1","contextId":"c-1","referenceTaskIds":["t-0"],"metadata":{"skill":"book"},"parts":[{"text":"hi"}]},
            "configuration":{"taskPushNotificationConfig":{"url":"https://hooks.test/a"}}}}
            """)
        XCTAssertEqual(request.method, .sendMessage)
        XCTAssertEqual(request.id, "\"r-1\"")
        XCTAssertEqual(request.taskID, "t-1")
        XCTAssertEqual(request.contextID, "c-1")
        XCTAssertEqual(request.referenceTaskIDs, ["t-0"])
        XCTAssertEqual(request.skill, "book")
        XCTAssertEqual(request.pushURL, "https://hooks.test/a")
    }

    func testTheV03NamesMeanTheSameOperations() throws {
        let send = try jsonRPC("""
            {"jsonrpc":"2.0","id":1,"method":"message/send","params":{"message":{"kind":"message","messageId":"m","role":"user",
            "parts":[{"kind":"text","text":"hi"}]},"configuration":{"pushNotificationConfig":{"url":"https://h.test/x"}}}}
            """, version: .v0_3)
        XCTAssertEqual(send.method, .sendMessage)
        XCTAssertEqual(send.pushURL, "https://h.test/x")
        XCTAssertEqual(try jsonRPC(#"{"jsonrpc":"2.0","id":1,"method":"tasks/resubscribe","params":{"id":"t-9"}}"#).method, .subscribeToTask)
        let set = try jsonRPC(#"{"jsonrpc":"2.0","id":1,"method":"tasks/pushNotificationConfig/set","params":{"taskId":"t-2","pushNotificationConfig":{"url":"https://h.test/y"}}}"#)
        XCTAssertEqual(set.method, .createPushConfig)
        XCTAssertEqual(set.taskID, "t-2")
        XCTAssertEqual(set.pushURL, "https://h.test/y")
        let get = try jsonRPC(#"{"jsonrpc":"2.0","id":1,"method":"tasks/pushNotificationConfig/get","params":{"id":"t-3","pushNotificationConfigId":"p"}}"#)
        XCTAssertEqual(get.taskID, "t-3", "0.3 names the task 'id'")
        let getV1 = try jsonRPC(#"{"jsonrpc":"2.0","id":1,"method":"GetTaskPushNotificationConfig","params":{"taskId":"t-4","id":"p"}}"#)
        XCTAssertEqual(getV1.taskID, "t-4", "1.0 names the config 'id' and the task 'taskId'")
        XCTAssertEqual(try jsonRPC(#"{"jsonrpc":"2.0","id":1,"method":"agent/getAuthenticatedExtendedCard"}"#).method, .getExtendedCard)
    }

    func testWhatIsNotAnA2ARequestGetsItsJSONRPCError() {
        XCTAssertEqual(error { try self.jsonRPC(#"{"jsonrpc":"2.0","id":1,"method":"#) }?.code, -32700)
        XCTAssertEqual(error { try self.jsonRPC(#"[{"jsonrpc":"2.0","id":1,"method":"GetTask"}]"#) }?.code, -32600)
        XCTAssertEqual(error { try self.jsonRPC(#"{"jsonrpc":"2.0","method":"GetTask","params":{"id":"t"}}"#) }?.code, -32600, "a notification")
        XCTAssertEqual(error { try self.jsonRPC(#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{}}"#) }?.message, "Method not found: tools/call")
        XCTAssertEqual(error { try self.jsonRPC(#"{"jsonrpc":"2.0","id":1,"method":"GetTask","params":{}}"#) }?.code, -32602)
        XCTAssertEqual(error { try self.jsonRPC(#"{"jsonrpc":"2.0","id":1,"method":"SendMessage","params":{"message":1}}"#) }?.code, -32602)
        XCTAssertEqual(error { try self.jsonRPC(#"{"jsonrpc":"2.0","id":1,"method":"CreateTaskPushNotificationConfig","params":{"taskId":"t"}}"#) }?.code, -32602)
    }

    func testRESTPathsNameTheirOperationAndTaskInEveryForm() throws {
        let cases: [(String, String, A2AMethod, String?)] = [
            ("POST", "/message:send", .sendMessage, nil),
            ("POST", "/message:stream", .sendStreamingMessage, nil),
            ("GET", "/tasks/t-1", .getTask, "t-1"),
            ("GET", "/tasks?contextId=c-1&pageSize=5", .listTasks, nil),
            ("POST", "/tasks/t-2:cancel", .cancelTask, "t-2"),
            ("GET", "/tasks/t-3:subscribe", .subscribeToTask, "t-3"),
            ("POST", "/tasks/t-3:subscribe", .subscribeToTask, "t-3"),
            ("POST", "/tasks/t-4/pushNotificationConfigs", .createPushConfig, "t-4"),
            ("GET", "/tasks/t-4/pushNotificationConfigs", .listPushConfigs, "t-4"),
            ("GET", "/tasks/t-4/pushNotificationConfigs/p-1", .getPushConfig, "t-4"),
            ("DELETE", "/tasks/t-4/pushNotificationConfigs/p-1", .deletePushConfig, "t-4"),
            ("GET", "/extendedAgentCard", .getExtendedCard, nil),
            ("GET", "/acme/tasks/t-5", .getTask, "t-5"),
            ("POST", "/acme/message:send", .sendMessage, nil),
            ("GET", "/v1/tasks/t-6", .getTask, "t-6"),
            ("POST", "/v1/tasks/t-7:subscribe", .subscribeToTask, "t-7"),
            ("GET", "/v1/card", .getExtendedCard, nil),
            ("GET", "/tasks/t%2F8", .getTask, "t/8"),
        ]
        for (method, path, expected, task) in cases {
            let body = method == "POST" && !path.contains(":cancel") && !path.contains(":subscribe")
                ? #"{"message":{"messageId":"m","role":"ROLE_USER","parts":[{"text":"x"}]},"url":"https://h.test/p"}"# : ""
            let request = try A2ARequest.rest(httpMethod: method, path: path, body: Array(body.utf8), version: .v1_0)
            XCTAssertEqual(request.method, expected, "\(method) \(path)")
            XCTAssertEqual(request.taskID, task, "\(method) \(path)")
        }
        XCTAssertEqual(try A2ARequest.rest(httpMethod: "GET", path: "/tasks?contextId=c%201", body: [], version: .v1_0).contextID, "c 1")
    }

    func testV03RESTBodiesUseProtoFieldNames() throws {
        let send = try A2ARequest.rest(httpMethod: "POST", path: "/v1/message:send", body: Array("""
            {"request":{"message_id":"m","task_id":"t-1","context_id":"c-1","role":"ROLE_USER","content":[{"text":"x"}]},
             "configuration":{"push_notification":{"url":"https://h.test/z"}}}
            """.utf8), version: .v0_3)
        XCTAssertEqual(send.taskID, "t-1")
        XCTAssertEqual(send.contextID, "c-1")
        XCTAssertEqual(send.pushURL, "https://h.test/z")
    }

    func testUnknownRESTPathsAndMalformedBodiesAreRefused() {
        XCTAssertEqual(error { try A2ARequest.rest(httpMethod: "PUT", path: "/tasks/t", body: [], version: .v1_0) }?.httpStatus, 404)
        XCTAssertEqual(error { try A2ARequest.rest(httpMethod: "GET", path: "/message:send", body: [], version: .v1_0) }?.code, -32601)
        XCTAssertEqual(error { try A2ARequest.rest(httpMethod: "POST", path: "/message:send", body: Array("{\"message\":".utf8), version: .v1_0) }?.code, -32700)
        XCTAssertEqual(error { try A2ARequest.rest(httpMethod: "POST", path: "/message:send", body: Array("[1]".utf8), version: .v1_0) }?.httpStatus, 400)
    }

    func testVersionsComeFromTheHeaderWhereEmptyMeans03() {
        XCTAssertEqual(A2AVersion(header: "1.0"), .v1_0)
        XCTAssertEqual(A2AVersion(header: "1.0.1"), .v1_0)
        XCTAssertEqual(A2AVersion(header: ""), .v0_3)
        XCTAssertEqual(A2AVersion(header: nil), .v0_3)
        XCTAssertEqual(A2AVersion(header: "0.3"), .v0_3)
        XCTAssertEqual(A2AVersion(header: "2.0"), .other("2.0"))
        XCTAssertEqual(A2AMethod(jsonRPCName: "message/stream"), .sendStreamingMessage)
        XCTAssertNil(A2AMethod(jsonRPCName: "sendMessage"))
    }

    func testErrorBodiesInBothBindings() {
        let error = A2AError.taskNotFound("t-1")
        XCTAssertEqual(String(decoding: error.jsonRPCBody(id: "7"), as: UTF8.self),
                       #"{"jsonrpc":"2.0","id":7,"error":{"code":-32001,"message":"Task not found: t-1"}}"#)
        let rest = JSONValue(error.restBody())
        XCTAssertEqual(rest["error"]?["code"]?.int, 404)
        XCTAssertEqual(rest["error"]?["status"]?.string, "NOT_FOUND")
        XCTAssertEqual(rest["error"]?["details"]?.elements?.first?["reason"]?.string, "TASK_NOT_FOUND")
    }
}
