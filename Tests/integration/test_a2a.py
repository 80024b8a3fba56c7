"""The A2A plugin against an agent written with the official a2a-sdk, driven by the official
a2a-sdk clients (JSON-RPC and HTTP+JSON, 1.0 and the 0.3 compatibility clients, streaming),
which are given only the gateway's card URL: cards, the catalog, every operation, errors."""
import asyncio
import time

import httpx
import pytest
from a2a.helpers import new_text_message
from a2a.types import CancelTaskRequest, GetTaskRequest, Role, SendMessageRequest, SubscribeToTaskRequest, TaskState

from a2a_helpers import Agent, a2a_route, connect, run, send_text, texts
from conftest import request


@pytest.fixture
def agents(tmp_path):
    """A 1.0 agent (`travel`) and one that serves a 0.3 card (`old`)."""
    started = {"travel": Agent(tmp_path, "travel"), "old": Agent(tmp_path, "old", v03=True)}
    yield started
    for agent in started.values():
        agent.stop()


@pytest.fixture
def gw(gateway, agents):
    gw = gateway(a2a_route([(name, agent.url, "") for name, agent in agents.items()]))
    return gw


@pytest.mark.parametrize("agent", ["travel", "old"])
@pytest.mark.parametrize("binding", ["JSONRPC", "HTTP+JSON"])
def test_official_clients_reach_the_agent_only_through_the_gateway(gw, agents, agent, binding):
    async def scenario():
        client, seen, http = await connect(f"{gw.url}/agents/{agent}", binding)
        try:
            answer = await send_text(client, "hello there")
            counted = await send_text(client, "count 2")
        finally:
            await client.close()
            await http.aclose()
        return answer, counted, seen

    answer, counted, seen = run(scenario())
    assert texts(answer) == [f"{agent}: hello there"]
    assert texts(counted)[-1] == f"{agent} counted to 2"
    assert seen and all(url.startswith(gw.url + f"/agents/{agent}/") for url in seen), seen
    # The agent saw the calls: they went through the gateway, which the client never left.
    served = agents[agent].requests()
    assert any(line.startswith("POST") for line in served), served


def test_streaming_get_cancel_and_subscribe(gw):
    async def scenario():
        client, seen, http = await connect(f"{gw.url}/agents/travel", "JSONRPC")
        arrivals = []
        try:
            # count 5: one status update every 0.3 s; events come as the agent sends them.
            async for event in client.send_message(SendMessageRequest(message=new_text_message("count 5", role=Role.ROLE_USER))):
                arrivals.append((time.monotonic(), event))
            task_id = next(e.task.id for _, e in arrivals if e.HasField("task"))
            done = await client.get_task(GetTaskRequest(id=task_id))
            # A long task: started on one stream, watched on another, cancelled from a third call.
            slow_events = []
            slow = client.send_message(SendMessageRequest(message=new_text_message("slow", role=Role.ROLE_USER)))
            first = await slow.__anext__()
            slow_id = first.task.id
            watched = []

            async def watch():
                async for event in client.subscribe(SubscribeToTaskRequest(id=slow_id)):
                    watched.append(event)

            watcher = asyncio.create_task(watch())
            await asyncio.sleep(0.5)
            cancelled = await client.cancel_task(CancelTaskRequest(id=slow_id))
            await asyncio.wait_for(watcher, 10)
            async for event in slow:
                slow_events.append(event)
        finally:
            await client.close()
            await http.aclose()
        return arrivals, done, cancelled, watched

    arrivals, done, cancelled, watched = run(scenario())
    updates = [t for t, e in arrivals if e.HasField("status_update") and e.status_update.status.HasField("message")]
    assert len(updates) == 5
    assert updates[-1] - updates[0] > 0.9, "events arrive one by one, not all at the end"
    assert done.status.state == TaskState.TASK_STATE_COMPLETED
    assert cancelled.status.state == TaskState.TASK_STATE_CANCELED
    assert any(e.HasField("status_update") and e.status_update.status.state == TaskState.TASK_STATE_CANCELED for e in watched) \
        or any(e.HasField("task") for e in watched), watched


def test_the_first_event_reaches_the_client_before_the_agent_sends_the_last(gw):
    body = {"jsonrpc": "2.0", "id": 1, "method": "SendStreamingMessage",
            "params": {"message": {"messageId": "m", "role": "ROLE_USER", "parts": [{"text": "count 5"}]}}}
    with httpx.stream("POST", f"{gw.url}/agents/travel/jsonrpc", json=body, headers={"a2a-version": "1.0"}, timeout=30) as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        started = time.monotonic()
        times = []
        for line in response.iter_lines():
            if line.startswith("data:"):
                times.append(time.monotonic() - started)
    assert len(times) >= 7  # task, working, 5 counts, artifact, completed
    assert times[-1] - times[0] > 1.2, times


def test_cards_point_at_the_gateway_revalidate_and_the_catalog_lists_them(gw, agents):
    for name, agent in agents.items():
        resp = request(f"{gw.url}/agents/{name}/.well-known/agent-card.json")
        assert resp.status == 200
        card = resp.json()
        assert f":{agent.port}" not in resp.text, resp.text
        assert "signatures" not in card
        urls = [i["url"] for i in card.get("supportedInterfaces", [])] + [card.get("url")] \
            + [i["url"] for i in card.get("additionalInterfaces", [])]
        assert all(url is None or url.startswith(f"{gw.url}/agents/{name}/") for url in urls), urls
        etag = resp.headers["etag"]
        assert request(f"{gw.url}/agents/{name}/.well-known/agent-card.json", headers={"if-none-match": etag}).status == 304
        assert "max-age" in resp.headers["cache-control"]
    assert "supportedInterfaces" in request(f"{gw.url}/agents/travel/.well-known/agent-card.json").json()
    old = request(f"{gw.url}/agents/old/.well-known/agent.json").json()
    assert old["url"] == f"{gw.url}/agents/old/jsonrpc" and old["preferredTransport"] == "JSONRPC"
    catalog = request(f"{gw.url}/agents").json()
    assert [entry["name"] for entry in catalog["agents"]] == ["travel", "old"]
    assert catalog["agents"][0]["cardUrl"] == f"{gw.url}/agents/travel/.well-known/agent-card.json"
    assert catalog["agents"][1]["card"]["name"] == "old"
