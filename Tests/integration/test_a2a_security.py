"""A2A through the security plugins: RBAC per method, agent and skill (skills hidden from cards
and agents from the catalog), tasks isolated between two users working at the same time, push
notification webhooks checked against the allow-list. Tokens are HS256 JWTs for jwt_auth."""
import asyncio

import httpx
import pytest
from a2a.helpers import new_text_message
from a2a.types import GetTaskRequest, ListTasksRequest, Role, SendMessageRequest

from a2a_helpers import SECRET, Agent, a2a_route, connect, run, security_plugins, texts, token
from conftest import request

JWT = f"""
    [[routes.filters]]
    plugin = "jwt_auth"
    [routes.filters.config]
    hmac_secret = "{SECRET}"
    public_paths = ["/agents", "/agents/*/.well-known/*"]
    """

RBAC = """
    [[routes.filters]]
    plugin = "rbac"
    [[routes.filters.config.rules]]
    name = "admins"
    allow = '"admins" in jwt.groups'
    [[routes.filters.config.rules]]
    name = "members use travel, but not its slow skill, and cancel nothing"
    allow = 'a2a.agent == "travel" && !(has(a2a.skill) && a2a.skill == "slow") && a2a.method != "CancelTask"'
    """


@pytest.fixture
def agents(tmp_path):
    started = {"travel": Agent(tmp_path, "travel"), "old": Agent(tmp_path, "old", v03=True)}
    yield started
    for agent in started.values():
        agent.stop()


def rpc(gw, agent, method, params, bearer=None, id=1):
    headers = {"content-type": "application/json", "a2a-version": "1.0"}
    if bearer:
        headers["authorization"] = f"Bearer {bearer}"
    return httpx.post(f"{gw.url}/agents/{agent}/jsonrpc", json={"jsonrpc": "2.0", "id": id, "method": method, "params": params},
                      headers=headers, timeout=30)


def message(text, **extra):
    return {"message": {"messageId": "m", "role": "ROLE_USER", "parts": [{"text": text}], **extra}}


def test_policies_decide_per_method_agent_and_skill(gateway, agents):
    gw = gateway(a2a_route([(n, a.url, "") for n, a in agents.items()], filters=JWT + RBAC, plugins=security_plugins()))
    bob, alice = token("bob", "members"), token("alice", "admins")
    card = lambda who, agent: request(f"{gw.url}/agents/{agent}/.well-known/agent-card.json", headers={"authorization": f"Bearer {who}"})
    assert [s["id"] for s in card(bob, "travel").json()["skills"]] == ["echo", "count"]
    assert [s["id"] for s in card(alice, "travel").json()["skills"]] == ["echo", "count", "slow"]
    assert card(bob, "old").status == 404, "an agent bob may not use does not exist for him"
    assert card(alice, "old").status == 200
    catalog = lambda who: [e["name"] for e in request(f"{gw.url}/agents", headers={"authorization": f"Bearer {who}"}).json()["agents"]]
    assert catalog(bob) == ["travel"]
    assert catalog(alice) == ["travel", "old"]
    # The card says what the gateway asks for: a bearer JWT (the agent's own security is not the client's business).
    assert card(bob, "travel").json()["securitySchemes"]["bearer"]["httpAuthSecurityScheme"]["scheme"] == "Bearer"
    assert request(f"{gw.url}/agents/travel/.well-known/agent-card.json").status == 200, "cards are public (public_paths)"

    sent = rpc(gw, "travel", "SendMessage", message("hello"), bob).json()
    assert sent["result"]["message"]["parts"][0]["text"] == "travel: hello"
    slow = rpc(gw, "travel", "SendMessage", message("slow", metadata={"skill": "slow"}), bob).json()
    assert slow["error"]["code"] == -32601, slow
    cancel = rpc(gw, "travel", "CancelTask", {"id": "t-1"}, bob).json()
    assert cancel["error"]["code"] == -32601
    assert rpc(gw, "old", "SendMessage", message("hi"), bob).json()["error"]["code"] == -32601
    assert rpc(gw, "old", "SendMessage", message("hi"), alice).json()["result"]["message"]["parts"][0]["text"] == "old: hi"
    assert rpc(gw, "travel", "SendMessage", message("hi")).status_code == 401, "requests need a token"


def test_tasks_are_isolated_between_two_users_working_at_once(gateway, agents):
    gw = gateway(a2a_route([("travel", agents["travel"].url, "")], filters=JWT, plugins=security_plugins()))
    alice, bob = token("alice"), token("bob")

    async def user(bearer, other_ids, own_ids, crossings):
        client, _, http = await connect(f"{gw.url}/agents/travel", "JSONRPC", bearer=bearer)
        try:
            for _ in range(3):
                events = []
                async for event in client.send_message(SendMessageRequest(message=new_text_message("count 2", role=Role.ROLE_USER))):
                    events.append(event)
                    if event.HasField("task") and event.task.id not in own_ids:
                        own_ids.append(event.task.id)
                    # While its own stream runs, try the other user's tasks.
                    for other in list(other_ids):
                        try:
                            await client.get_task(GetTaskRequest(id=other))
                            crossings.append(other)
                        except Exception as error:  # the client raises on a JSON-RPC error
                            assert "Task not found" in str(error) or "-32001" in str(error), error
                assert texts(events)[-1] == "travel counted to 2"
            listed = await client.list_tasks(ListTasksRequest())
            return [task.id for task in listed.tasks]
        finally:
            await client.close()
            await http.aclose()

    async def both():
        alice_ids, bob_ids, crossings = [], [], []
        listed = await asyncio.gather(user(alice, bob_ids, alice_ids, crossings), user(bob, alice_ids, bob_ids, crossings))
        return alice_ids, bob_ids, crossings, listed

    alice_ids, bob_ids, crossings, (alice_listed, bob_listed) = run(both(), timeout=90)
    assert len(alice_ids) == 3 and len(bob_ids) == 3
    assert crossings == [], "no user read another's task"
    assert set(alice_listed) == set(alice_ids) and set(bob_listed) == set(bob_ids), (alice_listed, bob_listed)
    # Every way of naming someone else's task is TaskNotFound, in both bindings.
    victim = alice_ids[0]
    for method, params in [("GetTask", {"id": victim}), ("CancelTask", {"id": victim}), ("SubscribeToTask", {"id": victim}),
                           ("ListTaskPushNotificationConfigs", {"taskId": victim}),
                           ("SendMessage", message("continue", taskId=victim))]:
        answer = rpc(gw, "travel", method, params, bob).json()
        assert answer["error"]["code"] == -32001, (method, answer)
    rest = httpx.get(f"{gw.url}/agents/travel/rest/tasks/{victim}", headers={"authorization": f"Bearer {bob}", "a2a-version": "1.0"})
    assert rest.status_code == 404 and rest.json()["error"]["status"] == "NOT_FOUND"
    assert rpc(gw, "travel", "GetTask", {"id": victim}, alice).json()["result"]["id"] == victim
    assert "by jwt:bob refused: Task not found" in gw.log()


def test_push_notification_webhooks_must_be_on_the_allow_list(gateway, agents):
    gw = gateway(a2a_route([("travel", agents["travel"].url, "")], options='push_url_prefixes = ["http://127.0.0.1:9/hooks/"]'))
    task = rpc(gw, "travel", "SendMessage", message("count 1")).json()["result"]["task"]["id"]
    refused = rpc(gw, "travel", "CreateTaskPushNotificationConfig", {"taskId": task, "url": "http://169.254.169.254/latest/meta-data"}).json()
    assert refused["error"]["code"] == -32602
    assert "does not allow push notifications to 'http://169.254.169.254/latest/meta-data'" in refused["error"]["message"]
    sneaky = rpc(gw, "travel", "CreateTaskPushNotificationConfig", {"taskId": task, "url": "http://127.0.0.1:9/hooksx"}).json()
    assert sneaky["error"]["code"] == -32602
    allowed = rpc(gw, "travel", "CreateTaskPushNotificationConfig", {"taskId": task, "url": "http://127.0.0.1:9/hooks/a"}).json()
    assert allowed["result"]["url"] == "http://127.0.0.1:9/hooks/a", allowed
    inline = rpc(gw, "travel", "SendMessage", {**message("hi"), "configuration": {"taskPushNotificationConfig": {"url": "http://10.1.2.3/x"}}}).json()
    assert inline["error"]["code"] == -32602
    assert not any("pushNotificationConfigs" in line and "169.254" in line for line in agents["travel"].requests())
