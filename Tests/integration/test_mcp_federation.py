"""The MCP plugin federating MCP servers written with the official Python SDK (stdio, legacy SSE,
Streamable HTTP), driven by the official Python client in both protocol eras, plus the failure
cases: dead targets, a killed child, timeouts, malformed input, unknown sessions."""
import json
import os
import signal
import sys
import threading
import time
from pathlib import Path

import pytest
from mcp import Client
from mcp.shared.exceptions import MCPError
from mcp.types import ElicitResult, PromptReference

from a2a_helpers import Agent
from conftest import BUILD, ROOT, Process, free_port, refused_port, request, wait_for
from mcp_helpers import ACCEPT, initialize, mcp_route, post, run, stdio_target, url_target


@pytest.fixture
def federation(gateway, upstreams, tmp_path):
    """A gateway federating three targets, one per transport, four items per page."""
    targets = (stdio_target("local", f'env = {{ MCP_UPSTREAM_EVENTS = "{tmp_path / "events.txt"}" }}')
               + url_target("legacy", "sse", upstreams["legacy"]) + url_target("remote", "http", upstreams["remote"]))
    gw = gateway(mcp_route(targets, "page_size = 4"))
    wait_for(lambda: gw.log().count("is ready") == 3, timeout=20, what="three targets ready")
    return gw


async def all_tools(client):
    names, cursor, pages = [], None, 0
    while True:
        page = await client.list_tools(cursor=cursor)
        names += [tool.name for tool in page.tools]
        pages += 1
        cursor = page.next_cursor
        if not cursor:
            return names, pages


TOOLS = ["add", "whoami", "pid", "session_tag", "header", "count", "ask_name", "ask_later", "generate_later", "roots_later",
         "sleep", "grow"]  # the upstream's order, kept


@pytest.mark.parametrize("mode", ["legacy", "auto"])
def test_official_client_sees_one_server_federated_from_three_transports(federation, mode):
    progress = []
    elicited = []

    async def on_progress(value, total, message):
        progress.append((value, total))

    async def on_elicit(context, params):
        elicited.append(params.message)
        return ElicitResult(action="accept", content={"name": "Ada"})

    async def scenario():
        async with Client(federation.url + "/mcp", mode=mode, elicitation_callback=on_elicit) as client:
            if mode == "auto":
                assert client.session.discover_result is not None  # the 2026-07-28 era was negotiated
            names, pages = await all_tools(client)
            # Prefixed (three targets, so `conditional` prefixes), colliding `add`s all kept, in target order,
            # paginated by the gateway across targets.
            assert names == [f"{t}_{n}" for t in ["local", "legacy", "remote"] for n in TOOLS]
            assert pages == -(-len(names) // 4)  # page_size = 4, pages cut across targets
            for target in ["local", "legacy", "remote"]:
                assert (await client.call_tool(f"{target}_whoami", {})).content[0].text == target
                assert (await client.call_tool(f"{target}_add", {"a": 2, "b": 3})).content[0].text == "5"
            prompts = await client.list_prompts()
            assert sorted(p.name for p in prompts.prompts) == ["legacy_greet", "local_greet", "remote_greet"]
            prompt = await client.get_prompt("legacy_greet", {"name": "Bo"})
            assert prompt.messages[0].content.text == "legacy greets Bo"
            resources = await client.list_resources()
            uris = sorted(str(r.uri) for r in resources.resources)
            assert uris == ["legacy+legacy://info", "local+local://info", "remote+remote://info"]
            # completion/complete routes by the prompt reference, prefix stripped.
            completed = await client.complete(PromptReference(type="ref/prompt", name="legacy_greet"), {"name": "name", "value": "Ad"})
            assert completed.completion.values == ["Ad-legacy"]
            read = await client.read_resource("remote+remote://info")
            assert read.contents[0].text == "info from remote" and str(read.contents[0].uri) == "remote+remote://info"
            counted = await client.call_tool("local_count", {"n": 3}, progress_callback=on_progress)
            assert counted.content[0].text == "local counted to 3"
            with pytest.raises(MCPError) as unknown:
                await client.call_tool("nobody_add", {"a": 1, "b": 1})
            assert "Unknown tool: nobody_add" in str(unknown.value)
            # Elicitation from each upstream reaches the client: relayed on the response stream
            # (handshake era) or as an InputRequiredResult answered by a retry (2026-07-28).
            for target in ["local", "legacy", "remote"]:
                asked = await client.call_tool(f"{target}_ask_name", {})
                assert asked.content[0].text == f"hello Ada from {target}"

    run(scenario())
    # The Streamable HTTP target was probed and spoken to in 2026-07-28 (so a handshake-era client's
    # elicitation went through the InputRequiredResult bridge); stdio and SSE targets use the handshake.
    assert "target 'remote' is ready (server 'remote', protocol 2026-07-28)" in federation.log()
    assert "target 'local' is ready (server 'local', protocol 2025-11-25)" in federation.log()
    assert progress == [(1, 3), (2, 3), (3, 3)]
    assert elicited == ["What is your name?"] * 3


def test_cancellation_reaches_the_upstream_and_ends_the_call(federation, tmp_path):
    url = federation.url + "/mcp"
    session, _ = initialize(url)
    outcome = {}

    def long_call():
        outcome["resp"] = post(url, {"jsonrpc": "2.0", "id": "slow-1", "method": "tools/call",
                                     "params": {"name": "local_sleep", "arguments": {"seconds": 20}}}, session, timeout=30)

    caller = threading.Thread(target=long_call)
    caller.start()
    events = tmp_path / "events.txt"
    # The session's own child starts first (a Python server: a second or more); cancel once the call runs.
    wait_for(lambda: events.exists() and "local sleeping" in events.read_text(), what="the call reached the upstream")
    cancel = post(url, {"jsonrpc": "2.0", "method": "notifications/cancelled",
                        "params": {"requestId": "slow-1", "reason": "user gave up"}}, session)
    assert cancel.status == 202
    caller.join(10)
    assert not caller.is_alive()
    assert outcome["resp"].json()["error"]["code"] == -32800
    wait_for(lambda: events.exists() and "local cancelled" in events.read_text(), what="upstream saw the cancellation")


def test_sessions_expire_on_delete_and_bad_requests_get_clear_errors(federation):
    url = federation.url + "/mcp"
    session, init = initialize(url)
    assert init["result"]["serverInfo"]["name"] == "agentgateway"
    assert set(init["result"]["capabilities"]) >= {"tools", "prompts", "resources"}
    ping = post(url, {"jsonrpc": "2.0", "id": 2, "method": "ping"}, session)
    assert ping.json() == {"jsonrpc": "2.0", "id": 2, "result": {}}
    # Malformed JSON, a batch, a missing Accept, no session, an unknown session, an unknown method.
    broken = post(url, '{"jsonrpc":"2.0","id":3,"method":', session)
    assert broken.status == 400 and broken.json()["error"]["code"] == -32700
    batch = post(url, '[{"jsonrpc":"2.0","id":3,"method":"ping"}]', session)
    assert batch.status == 400 and batch.json()["error"]["code"] == -32600
    no_accept = request(url, "POST", {"content-type": "application/json", "mcp-session-id": session},
                        json.dumps({"jsonrpc": "2.0", "id": 4, "method": "ping"}))
    assert no_accept.status == 406
    assert post(url, {"jsonrpc": "2.0", "id": 5, "method": "ping"}).status == 400
    assert post(url, {"jsonrpc": "2.0", "id": 6, "method": "ping"}, "0" * 32).status == 404
    unknown = post(url, {"jsonrpc": "2.0", "id": 7, "method": "tools/frobnicate"}, session)
    assert unknown.json()["error"]["code"] == -32601
    # DELETE ends the session; it is then unknown (404), and the client initializes again.
    assert request(url, "DELETE", {"mcp-session-id": session}).status == 200
    assert post(url, {"jsonrpc": "2.0", "id": 8, "method": "ping"}, session).status == 404
    assert request(url, "DELETE", {"mcp-session-id": session}).status == 404
    again, _ = initialize(url)
    assert again != session


def test_modern_era_requires_matching_headers(federation):
    url = federation.url + "/mcp"
    meta = {"io.modelcontextprotocol/protocolVersion": "2026-07-28", "io.modelcontextprotocol/clientCapabilities": {}}
    call = {"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": "remote_add", "arguments": {"a": 1, "b": 1}, "_meta": meta}}
    good = {"mcp-protocol-version": "2026-07-28", "mcp-method": "tools/call", "mcp-name": "remote_add"}
    ok = post(url, call, headers=good)
    assert ok.status == 200 and ok.json()["result"]["content"][0]["text"] == "2" and ok.json()["result"]["resultType"] == "complete"
    wrong_name = post(url, call, headers={**good, "mcp-name": "local_add"})
    assert wrong_name.status == 400 and wrong_name.json()["error"]["code"] == -32020
    wrong_method = post(url, call, headers={**good, "mcp-method": "tools/list"})
    assert wrong_method.status == 400 and wrong_method.json()["error"]["code"] == -32020
    old = post(url, {**call, "params": {**call["params"], "_meta": {**meta, "io.modelcontextprotocol/protocolVersion": "1900-01-01"}}},
               headers={**good, "mcp-protocol-version": "1900-01-01"})
    assert old.status == 400 and old.json()["error"]["code"] == -32022
    assert "2026-07-28" in old.json()["error"]["data"]["supported"]


def test_prefix_never_routes_by_lookup_and_reports_collisions(gateway, upstreams):
    gw = gateway(mcp_route(url_target("legacy", "sse", upstreams["legacy"])
                           + url_target("remote", "http", upstreams["remote"], 'protocol = "2025-11-25"'), 'prefix = "never"'))

    async def scenario():
        async with Client(gw.url + "/mcp", mode="legacy") as client:
            tools = await client.list_tools()
            assert [t.name for t in tools.tools] == TOOLS  # one of each name: the first target's
            assert (await client.call_tool("whoami", {})).content[0].text == "legacy"

    run(scenario())
    assert "tool 'add' is offered by 'legacy' and 'remote'; 'remote''s is hidden" in gw.log()
    assert "target 'remote' is ready (server 'remote', protocol 2025-11-25)" in gw.log()  # pinned: no probe


def test_failure_mode_closed_fails_and_open_serves_the_healthy_targets(gateway, upstreams):
    dead = f"http://127.0.0.1:{refused_port()}/mcp"
    targets = url_target("remote", "http", upstreams["remote"]) + url_target("gone", "http", dead)
    closed = gateway(mcp_route(targets, 'failure_mode = "closed"'))
    wait_for(lambda: "target 'gone' is down" in closed.log(), what="dead target noticed")
    refused = post(closed.url + "/mcp", {"jsonrpc": "2.0", "id": 1, "method": "initialize",
                                          "params": {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}})
    assert "MCP server 'gone' is unavailable" in refused.json()["error"]["message"]

    opened = gateway(mcp_route(targets, 'failure_mode = "open"'))
    wait_for(lambda: "target 'gone' is down" in opened.log(), what="dead target noticed")

    async def scenario():
        async with Client(opened.url + "/mcp", mode="legacy") as client:
            tools = await client.list_tools()
            assert [t.name for t in tools.tools] == [f"remote_{n}" for n in TOOLS]
            assert (await client.call_tool("remote_whoami", {})).content[0].text == "remote"
            with pytest.raises(MCPError) as down:
                await client.call_tool("gone_whoami", {})
            assert "MCP server 'gone' is unavailable" in str(down.value)

    run(scenario())
    assert "leaving out MCP server 'gone'" in opened.log()


def test_a_killed_stdio_child_fails_its_calls_and_is_restarted(gateway):
    gw = gateway(mcp_route(stdio_target("local") + stdio_target("spare")))
    wait_for(lambda: gw.log().count("is ready") == 2, timeout=20, what="targets ready")
    url = gw.url + "/mcp"
    session, _ = initialize(url)
    first_pid = int(post(url, {"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": "local_pid", "arguments": {}}},
                         session).json()["result"]["content"][0]["text"])
    outcome = {}

    def long_call():
        outcome["resp"] = post(url, {"jsonrpc": "2.0", "id": 2, "method": "tools/call",
                                     "params": {"name": "local_sleep", "arguments": {"seconds": 20}}}, session, timeout=30)

    caller = threading.Thread(target=long_call)
    caller.start()
    time.sleep(0.5)
    os.kill(first_pid, signal.SIGKILL)
    caller.join(10)
    error = outcome["resp"].json()["error"]
    assert error["code"] == -32603 and "MCP server 'local' failed" in error["message"] and "signal 9" in error["message"]
    # The other target keeps serving, and the child comes back.
    assert post(url, {"jsonrpc": "2.0", "id": 3, "method": "tools/call", "params": {"name": "spare_whoami", "arguments": {}}},
                session).json()["result"]["content"][0]["text"] == "spare"
    wait_for(lambda: gw.log().count("target 'local' is ready") == 2, timeout=20, what="restart")
    second = post(url, {"jsonrpc": "2.0", "id": 4, "method": "tools/call", "params": {"name": "local_pid", "arguments": {}}}, session)
    assert int(second.json()["result"]["content"][0]["text"]) != first_pid


def test_an_upstream_timeout_becomes_a_json_rpc_error(gateway, upstreams):
    gw = gateway(mcp_route(url_target("remote", "http", upstreams["remote"], "timeout_ms = 500")))
    url = gw.url + "/mcp"
    session, _ = initialize(url)
    started = time.monotonic()
    resp = post(url, {"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": "sleep", "arguments": {"seconds": 5}}}, session)
    assert resp.json()["error"]["code"] == -32001
    assert "did not answer within 500 ms" in resp.json()["error"]["message"]
    assert time.monotonic() - started < 3
    # One target: `conditional` does not prefix.
    assert post(url, {"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {"name": "whoami", "arguments": {}}},
                session).json()["result"]["content"][0]["text"] == "remote"


def test_config_errors_name_the_key(tmp_path):
    import subprocess
    from conftest import GATEWAY
    config = tmp_path / "bad.toml"
    config.write_text(mcp_route('[[routes.handler.config.targets]]\nname = "x_y"\ntype = "stdio"\ncommand = "true"\n'))
    result = subprocess.run([str(GATEWAY), "--config", str(config), "--validate"], capture_output=True, text=True)
    assert result.returncode != 0
    assert "targets[0].name = \"x_y\"" in result.stdout + result.stderr


def test_filters_see_every_message_hide_list_items_and_reject_calls(gateway, upstreams):
    """The protocol hook: a filter on the route (tests' rpc-gate) denies `sleep` (hidden from the
    list, and calling it fails like an unknown tool) and decides on `add` asynchronously."""
    gw = gateway(mcp_route(url_target("remote", "http", upstreams["remote"]), filters="""
    [[routes.filters]]
    plugin = "tf.rpc-gate"
    config = { deny = ["sleep"], slow = ["add"] }
    """))

    async def scenario():
        async with Client(gw.url + "/mcp", mode="legacy") as client:
            tools = await client.list_tools()
            assert [t.name for t in tools.tools] == [n for n in TOOLS if n != "sleep"]
            assert (await client.call_tool("add", {"a": 20, "b": 22})).content[0].text == "42"
            with pytest.raises(MCPError) as denied:
                await client.call_tool("sleep", {"seconds": 0})
            assert str(denied.value) == "Unknown tool: sleep"

    run(scenario())


def test_the_example_config_federates_two_demo_servers(tmp_path):
    """examples/gateway.toml as scripts/run-example runs it (build dir on PATH), on free ports."""
    from conftest import Gateway
    text = (ROOT / "examples" / "gateway.toml").read_text()
    text = text.replace('"127.0.0.1:8080"', '"127.0.0.1:0"').replace('"127.0.0.1:9901"', '"127.0.0.1:0"')
    text = text.replace('path = "c-filter/', f'path = "{ROOT}/examples/c-filter/')
    agent = Agent(tmp_path, "travel")  # the demo A2A agent, as run-example starts it
    text = text.replace('"http://127.0.0.1:9100"', f'"{agent.url}"')
    todo_port = free_port()  # the demo REST API, as run-example starts it, with its token
    text = text.replace('spec = "todo-api/', f'spec = "{ROOT}/examples/todo-api/')
    text = text.replace('"http://127.0.0.1:9200"', f'"http://127.0.0.1:{todo_port}"')
    os.environ["TODO_API_TOKEN"] = "example-token"
    todo_api = Process([sys.executable, str(ROOT / "examples" / "todo-api" / "app.py"), str(todo_port)], tmp_path / "todo-api.log")
    saved_path = os.environ["PATH"]
    os.environ["PATH"] = f"{BUILD}:{saved_path}"  # the gateway inherits it, as with run-example
    (tmp_path / "example.toml").write_text(text)
    import subprocess
    subprocess.run(["cc", "-std=c99", "-shared", "-fPIC", "-I", str(ROOT / "Sources" / "PluginABI" / "include"),
                    str(ROOT / "examples" / "c-filter" / "stamp_filter.c"), "-o", str(ROOT / "examples" / "c-filter" / "libstamp_filter.so")],
                   check=True)
    try:
        gw = Gateway(text, tmp_path, name="example")
    except BaseException:
        agent.stop()
        todo_api.stop()
        raise
    try:
        url = f"http://{gw.address('main')}/mcp"

        async def scenario():
            async with Client(url, mode="legacy") as client:
                names = [t.name for t in (await client.list_tools()).tools]
                assert "alpha_add" in names and "beta_add" in names
                assert (await client.call_tool("beta_add", {"a": 1, "b": 2})).content[0].text == "3"

        run(scenario())
        # The example's access log, next to its config: the call is a line with its tool.
        wait_for(lambda: '"gen_ai.tool.name":"beta_add"' in ((tmp_path / "access.log").read_text() if (tmp_path / "access.log").exists() else ""),
                 what="the example's access-log line")
        # /agents: the demo agent behind the gateway; /mcp has its skills as tools.
        catalog = request(f"http://{gw.address('main')}/agents").json()
        assert catalog["agents"][0]["card"]["supportedInterfaces"][0]["url"].startswith(f"http://{gw.address('main')}/agents/travel/")

        async def a2a_tool():
            async with Client(url, mode="legacy") as client:
                return (await client.call_tool("travel_echo", {"message": "hi"})).content[0].text

        wait_for(lambda: "target 'travel' is ready" in gw.log(), timeout=30, what="the A2A target")
        assert run(a2a_tool()) == "travel: hi"

        def todo_api_up():  # it answers 401 without the token the gateway sends
            try:
                return request(f"http://127.0.0.1:{todo_port}/todos").status == 401
            except OSError:
                return False

        wait_for(todo_api_up, what="the to-do API")

        async def todo_tools():  # the to-do API's operations, called with the configured token
            async with Client(url, mode="legacy") as client:
                names = [t.name for t in (await client.list_tools()).tools]
                added = await client.call_tool("todo_createTodo", {"body": {"title": "ship it", "due": None}})
                assert not added.is_error, added
                done = await client.call_tool("todo_updateTodo", {"id": added.structured_content["id"], "body": {"done": True}})
                listed = await client.call_tool("todo_listTodos", {"done": True})
                return names, done.structured_content, listed.structured_content["result"]

        names, done, listed = run(todo_tools())
        assert {"todo_listTodos", "todo_createTodo", "todo_getTodo", "todo_updateTodo", "todo_deleteTodo"} <= set(names)
        assert done == {"id": 2, "title": "ship it", "due": None, "done": True}
        assert [t["title"] for t in listed] == ["ship it"]
        # /team/mcp: tokens from examples/mint-token.py, RBAC per caller, the CI's API key.
        team = f"http://{gw.address('main')}/team/mcp"
        assert request(team, "POST", ACCEPT, "{}").status == 401

        def token(*args):
            import subprocess
            return subprocess.run([sys.executable, str(ROOT / "examples" / "mint-token.py"), *args], check=True,
                                  capture_output=True, text=True).stdout.strip()

        async def tools_of(headers):
            from mcp.client.streamable_http import streamable_http_client
            from mcp.shared._httpx_utils import create_mcp_http_client
            async with Client(streamable_http_client(team, http_client=create_mcp_http_client(headers=headers))) as client:
                return sorted(t.name for t in (await client.list_tools()).tools)

        admin = run(tools_of({"authorization": "Bearer " + token("alice", "admins")}))
        assert len(admin) == 10 and "alpha_slow_count" in admin
        assert run(tools_of({"authorization": "Bearer " + token("bob")})) == [
            "alpha_echo", "alpha_word_count", "beta_echo", "beta_word_count"]
        assert run(tools_of({"x-api-key": "demo-ci-key"})) == ["alpha_current_time", "beta_current_time"]
        metadata = request(f"http://{gw.address('main')}/.well-known/oauth-protected-resource/team/mcp").json()
        assert metadata["authorization_servers"] == ["https://auth.example.com"]
    finally:
        os.environ["PATH"] = saved_path
        gw.stop()
        agent.stop()
        todo_api.stop()
        os.environ.pop("TODO_API_TOKEN", None)


def test_a_server_that_refuses_discover_is_spoken_to_with_the_handshake(gateway, tmp_path):
    """Era detection: a JSON-RPC error to `server/discover` (here -32601 with HTTP 200, from the
    minimal server in bench/) means a handshake-era server, not a dead one."""
    port = free_port()
    proc = Process([sys.executable, str(ROOT / "bench" / "mcp_backend.py"), str(port), "3"], tmp_path / "minimal.log")
    try:
        wait_for(lambda: "listening" in proc.output(), what="minimal server")
        gw = gateway(mcp_route(url_target("minimal", "http", f"http://127.0.0.1:{port}/mcp")))
        wait_for(lambda: "target 'minimal' is ready (server 'bench', protocol 2025-11-25)" in gw.log(), what="handshake fallback")
        session, _ = initialize(gw.url + "/mcp")
        listed = post(gw.url + "/mcp", {"jsonrpc": "2.0", "id": 2, "method": "tools/list"}, session).json()
        assert [t["name"] for t in listed["result"]["tools"]] == ["echo", "tool1", "tool2"]
    finally:
        proc.stop()


def test_hostile_input_gets_errors_and_the_gateway_keeps_serving(federation):
    """Malformed, mistyped and oversized JSON-RPC, in every place the handler reads: each gets a
    JSON-RPC error (or a 4xx), none crashes the gateway or the federation."""
    url = federation.url + "/mcp"
    session, _ = initialize(url)
    deep = "[" * 5000 + "]" * 5000
    bodies = [
        "", "null", "42", '"text"', "[]", "{}", '{"jsonrpc":"1.0","id":1,"method":"ping"}', '{"jsonrpc":"2.0"}',
        '{"jsonrpc":"2.0","id":{},"method":"ping"}', '{"jsonrpc":"2.0","id":1,"method":7}',
        '{"jsonrpc":"2.0","id":1,"method":"tools/call"}', '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":[]}',
        '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":5}}',
        '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"local_add","arguments":"nope"}}',
        '{"jsonrpc":"2.0","id":1,"method":"resources/read","params":{"uri":"nobody+x://y"}}',
        '{"jsonrpc":"2.0","id":1,"method":"tools/list","params":{"cursor":"forged"}}',
        '{"jsonrpc":"2.0","id":1,"method":"completion/complete","params":{"ref":{"type":"ref/prompt"}}}',
        '{"jsonrpc":"2.0","id":1,"method":"prompts/get","params":{"name":"local_greet","_meta":"x"}}',
        '{"jsonrpc":"2.0","id":"agw-999","result":{}}', '{"jsonrpc":"2.0","id":"agw-1","error":{"code":1,"message":"x"}}',
        '{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":{"a":1}}}',
        '{"jsonrpc":"2.0","id":1,"method":"ping","params":' + deep + "}", '{"jsonrpc":"2.0","id":1,"method":"\\ud800"}',
        '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"' + "x" * 100000 + '"}}',
    ]
    for body in bodies:
        resp = post(url, body, session)
        assert resp.status in (200, 202, 400, 404, 413), (body[:80], resp.status, resp.text[:200])
        if resp.status not in (202,) and resp.body:
            assert "error" in resp.json() or "result" in resp.json(), (body[:80], resp.text[:200])
    # Still serving, calls still routed.
    assert post(url, {"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {"name": "local_add", "arguments": {"a": 1, "b": 1}}},
                session).json()["result"]["content"][0]["text"] == "2"


def listening_socket_inodes(port):
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            if fields[1].endswith(f":{port:04X}") and fields[3] == "0A":  # state LISTEN
                inodes.add(fields[9])
    return inodes


def test_stdio_children_inherit_no_gateway_sockets(gateway):
    """A child gets stdin/stdout/stderr, not the gateway's listeners or client connections: a
    session's own child (started lazily, while the listener and the client's connection are open),
    and the one started after it was killed."""
    gw = gateway(mcp_route(stdio_target("local")))
    wait_for(lambda: "is ready" in gw.log(), timeout=20, what="target ready")
    url = gw.url + "/mcp"
    session, _ = initialize(url)
    pid_call = {"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": "pid", "arguments": {}}}
    listeners = listening_socket_inodes(int(gw.url.rsplit(":", 1)[1]))
    assert listeners

    def child_sockets(pid):
        return {os.readlink(f"/proc/{pid}/fd/{fd}")[8:-1] for fd in os.listdir(f"/proc/{pid}/fd")
                if os.readlink(f"/proc/{pid}/fd/{fd}").startswith("socket:[")}

    first = int(post(url, pid_call, session).json()["result"]["content"][0]["text"])
    assert not listeners & child_sockets(first)
    os.kill(first, signal.SIGKILL)

    def restarted():
        answer = post(url, pid_call, session).json()
        return "result" in answer and int(answer["result"]["content"][0]["text"])

    second = wait_for(restarted, timeout=20, what="a new child for the session")
    assert second != first and not listeners & child_sockets(second)
