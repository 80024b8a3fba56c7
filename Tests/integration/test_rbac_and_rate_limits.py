"""rbac and ratelimit on real traffic: an RBAC matrix through the official MCP client, rate limits
under a concurrent burst, a per-tool limit that refills and answers in JSON-RPC."""
import asyncio
import concurrent.futures
import json
import time

import pytest
from mcp.shared.exceptions import MCPError

from conftest import request, wait_for
from security_helpers import ACCEPT, http_route, bearer, mcp_gateway, client


@pytest.mark.parametrize("mode", ["legacy", "auto"])
def test_rbac_matrix_through_the_official_client(gateway, tmp_path, signers, mode):
    rbac = """
    [[routes.filters]]
    plugin = "rbac"
    [[routes.filters.config.rules]]
    name = "alice does arithmetic"
    allow = 'jwt.sub == "alice" && mcp.tool.name in ["add", "whoami"]'
    [[routes.filters.config.rules]]
    name = "bob sleeps and tags"
    allow = 'jwt.sub == "bob" && mcp.tool.name.startsWith("s")'
    [[routes.filters.config.rules]]
    name = "prompts for alice"
    allow = 'jwt.sub == "alice" && has(mcp.prompt)'
    """
    gw = mcp_gateway(gateway, tmp_path, signers, rbac, extra_args=("--log-level", "debug"))
    wait_for(lambda: "is ready" in gw.log(), timeout=20, what="target ready")
    url = gw.url + "/mcp"
    expected = {"alice": ["add", "whoami"], "bob": ["session_tag", "sleep"]}

    async def scenario(user):
        async with client(url, signers["rsa"].token(user), mode) as session:
            tools = sorted(tool.name for tool in (await session.list_tools()).tools)
            assert tools == expected[user], (user, tools)
            prompts = [prompt.name for prompt in (await session.list_prompts()).prompts]
            assert prompts == (["greet"] if user == "alice" else [])
            if user == "alice":
                assert (await session.call_tool("add", {"a": 2, "b": 3})).content[0].text == "5"
            else:
                assert (await session.call_tool("session_tag", {})).content[0].text
            for hidden in ["pid", "count", "ask_name"] + [name for other, names in expected.items() if other != user for name in names]:
                with pytest.raises(MCPError) as denied:
                    await session.call_tool(hidden, {})
                with pytest.raises(MCPError) as missing:
                    await session.call_tool("no_such_tool", {})
                assert str(denied.value) == str(missing.value).replace("no_such_tool", hidden), (user, hidden)
                assert f"Unknown tool: {hidden}" in str(denied.value)

    for user in expected:
        asyncio.run(asyncio.wait_for(scenario(user), 60))
    # The decision log (debug) names the rule that decided, or says nothing allowed it.
    assert "rbac: tools/call tool 'add' of 'local' for alice: allowed by rule 'alice does arithmetic'" in gw.log()
    assert "rbac: tools/call tool 'pid' of 'local' for bob: denied by default (no rule allows it)" in gw.log()


def test_rate_limits_pass_exactly_n_of_a_burst_and_say_when_to_retry(gateway, backend):
    limits = """
    [[routes.filters]]
    plugin = "ratelimit"
    [routes.filters.config]
    response_headers = true
    [[routes.filters.config.limits]]
    name = "per-client-address"
    key = ["source.address"]
    max_tokens = 20
    tokens_per_fill = 20
    fill_interval = "1h"
    """
    gw = gateway(http_route(backend, limits))
    first = request(gw.url + "/first")
    assert first.status == 200
    assert (first.headers["ratelimit-limit"], first.headers["ratelimit-remaining"]) == ("20", "19")
    assert 3500 < int(first.headers["ratelimit-reset"]) <= 3600
    with concurrent.futures.ThreadPoolExecutor(16) as pool:
        statuses = list(pool.map(lambda i: request(gw.url + f"/burst/{i}").status, range(60)))
    assert statuses.count(200) == 19 and statuses.count(429) == 41, statuses
    refused = request(gw.url + "/again")
    assert refused.status == 429
    assert refused.headers["ratelimit-limit"] == "20" and refused.headers["ratelimit-remaining"] == "0"
    assert 3500 < int(refused.headers["retry-after"]) <= 3600 and refused.headers["ratelimit-reset"] == refused.headers["retry-after"]
    assert refused.text.startswith("Rate limit exceeded ('per-client-address')")


def test_rate_limit_on_one_tool_refills_and_answers_json_rpc(gateway, tmp_path, signers):
    limits = """
    [[routes.filters]]
    plugin = "ratelimit"
    [[routes.filters.config.limits]]
    name = "adds per user"
    when = 'mcp.method == "tools/call" && mcp.tool.name == "add"'
    key = ["jwt.sub"]
    max_tokens = 2
    tokens_per_fill = 1
    fill_interval = "1s"
    """
    gw = mcp_gateway(gateway, tmp_path, signers, limits)
    wait_for(lambda: "is ready" in gw.log(), timeout=20, what="target ready")
    url = gw.url + "/mcp"
    headers = {**ACCEPT, **bearer(signers["rsa"].token("alice"))}
    init = request(url, "POST", headers, json.dumps({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}}))
    headers["mcp-session-id"] = init.headers["mcp-session-id"]

    def call(name, call_id):
        return request(url, "POST", headers, json.dumps({"jsonrpc": "2.0", "id": call_id, "method": "tools/call",
                                                          "params": {"name": name, "arguments": {"a": 1, "b": 1} if name == "add" else {}}}))

    assert call("whoami", 0).status == 200  # the session's own child starts on its first request, outside the timed part
    assert [call("add", i).status for i in range(2)] == [200, 200]
    refused = call("add", "third")
    assert refused.status == 429 and refused.headers["retry-after"] == "1"
    body = refused.json()
    assert body["id"] == "third" and body["error"]["code"] == -32029 and "adds per user" in body["error"]["message"]
    assert call("whoami", 9).status == 200  # other tools are not limited
    bob = {**headers, **bearer(signers["rsa"].token("bob"))}
    bob.pop("mcp-session-id")
    init = request(url, "POST", bob, json.dumps({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}}))
    time.sleep(1.1)  # one fill interval: one token back
    assert call("add", 10).status == 200
    assert call("add", 11).status == 429
