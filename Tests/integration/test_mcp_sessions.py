"""The MCP plugin's sessions against official-SDK upstreams: the session cap, list changes on a
session's stream, one upstream session per client session, stateless mode, forwarded headers."""
import asyncio

import pytest
from mcp import Client

from conftest import request, wait_for
from mcp_helpers import initialize, mcp_route, post, run, stdio_target, url_target


def test_sessions_are_capped_least_recently_used_first(gateway, upstreams):
    gw = gateway(mcp_route(url_target("remote", "http", upstreams["remote"]), "max_sessions = 2"))
    url = gw.url + "/mcp"
    first, _ = initialize(url)
    second, _ = initialize(url)
    assert post(url, {"jsonrpc": "2.0", "id": 1, "method": "ping"}, first).status == 200  # first is now the most recent
    third, _ = initialize(url)
    assert post(url, {"jsonrpc": "2.0", "id": 2, "method": "ping"}, second).status == 404
    for session in (first, third):
        assert post(url, {"jsonrpc": "2.0", "id": 3, "method": "ping"}, session).status == 200


@pytest.mark.parametrize("transport", ["stdio", "http"])
def test_list_changes_fan_in_to_the_clients_session_stream(gateway, upstreams, transport):
    """A target's notifications/tools/list_changed reaches handshake-era clients on their GET stream
    (from a stdio child's stdout, or from a Streamable HTTP server's own GET stream)."""
    local = stdio_target("local") if transport == "stdio" else url_target("local", "http", upstreams["remote"], 'protocol = "2025-11-25"')
    gw = gateway(mcp_route(local + stdio_target("spare")))
    wait_for(lambda: gw.log().count("is ready") == 2, timeout=20, what="targets ready")
    seen = []

    async def on_message(message):
        seen.append(getattr(getattr(message, "root", message), "method", None) or str(message))

    async def scenario():
        async with Client(gw.url + "/mcp", mode="legacy", message_handler=on_message) as client:
            assert "local_extra" not in [t.name for t in (await client.list_tools()).tools]
            assert (await client.call_tool("local_grow", {})).content[0].text == "grown"
            for _ in range(100):
                if any("tools/list_changed" in str(item) for item in seen):
                    break
                await asyncio.sleep(0.05)
            assert any("tools/list_changed" in str(item) for item in seen), seen
            assert "local_extra" in [t.name for t in (await client.list_tools()).tools]

    run(scenario())


@pytest.mark.parametrize("transport,mode", [("http", "per-client"), ("sse", "per-client"), ("http", "shared")])
def test_each_client_session_gets_its_own_upstream_session(gateway, upstreams, tmp_path, transport, mode):
    """Handshake-era HTTP and SSE targets: every gateway session has its own upstream session
    (state on the server never leaks between clients); DELETE ends it upstream too. With
    upstream_sessions = "shared" all clients share the gateway's one upstream session."""
    url_of = upstreams["remote"] if transport == "http" else upstreams["legacy"]
    extra = 'protocol = "2025-11-25"' if transport == "http" else ""
    gw = gateway(mcp_route(url_target("up", transport, url_of, extra), f'upstream_sessions = "{mode}"'))
    url = gw.url + "/mcp"
    tag = {"jsonrpc": "2.0", "id": 9, "method": "tools/call", "params": {"name": "session_tag", "arguments": {}}}
    alice, _ = initialize(url)
    bob, _ = initialize(url)
    alice_tags = {post(url, tag, alice).json()["result"]["content"][0]["text"] for _ in range(2)}
    bob_tag = post(url, tag, bob).json()["result"]["content"][0]["text"]
    assert len(alice_tags) == 1
    if mode == "shared":
        assert alice_tags == {bob_tag}
        return
    assert bob_tag not in alice_tags
    assert request(url, "DELETE", {"mcp-session-id": alice}).status == 200
    if transport == "http":
        log = tmp_path / "remote.log"
        wait_for(lambda: "DELETE /mcp" in log.read_text(), what="the upstream session deleted")


def test_stateless_mode_issues_no_sessions(gateway, upstreams):
    gw = gateway(mcp_route(url_target("up", "http", upstreams["remote"]), "sessions = false"))
    url = gw.url + "/mcp"
    body = {"jsonrpc": "2.0", "id": 1, "method": "initialize",
            "params": {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}}
    init = post(url, body)
    assert init.status == 200 and "mcp-session-id" not in init.headers
    assert init.json()["result"]["protocolVersion"] == "2025-06-18"  # the client's version, when supported
    assert post(url, {"jsonrpc": "2.0", "id": 2, "method": "tools/call",
                      "params": {"name": "whoami", "arguments": {}}}).json()["result"]["content"][0]["text"] == "remote"
    assert post(url, {"jsonrpc": "2.0", "id": 3, "method": "logging/setLevel", "params": {"level": "debug"}}).json()["result"] == {}
    assert request(url, "GET", {"accept": "text/event-stream"}).status == 405
    assert request(url, "DELETE").status == 405


def test_client_headers_reach_a_target_only_when_configured(gateway, upstreams):
    """No client header is passed through by default (the client's token stays at the gateway);
    `forward_headers` names the ones a target may see. The target's own Host is sent."""
    gw = gateway(mcp_route(url_target("up", "http", upstreams["remote"], 'forward_headers = ["x-user"]')))
    url = gw.url + "/mcp"
    session, _ = initialize(url)

    def header(name):
        call = {"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": "header", "arguments": {"name": name}}}
        resp = post(url, call, session, headers={"x-user": "alice", "authorization": "Bearer client-token",
                                                 "mcp-protocol-version": "2025-11-25"})
        return resp.json()["result"]["content"][0]["text"]

    assert header("x-user") == "alice"
    assert header("authorization") == ""
    assert header("host") == upstreams["remote"].split("/")[2]
