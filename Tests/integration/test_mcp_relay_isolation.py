"""Relay isolation: a server→client request (elicitation, sampling, roots) reaches only the client
whose call caused it, only that client can answer it, and a session that ends lets go of what it
holds. Two concurrent official `mcp` clients (both eras) against official-SDK upstream servers over
stdio (per-client and shared), legacy SSE and Streamable HTTP (both eras)."""
import asyncio
import hashlib
import re
import socket
import threading
import time
from pathlib import Path

import pytest
from mcp import Client
from mcp.shared.exceptions import MCPError
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client
from mcp.types import CreateMessageResult, ElicitResult, ListRootsResult, Root, TextContent

from conftest import BUILD, free_port, request, wait_for
from mcp_helpers import initialize, mcp_route, post, run, serve, stdio_target, url_target

KEYS = {"alice": "alice-secret-key", "bob": "bob-secret-key"}
TOKEN = re.compile(r"^agw-[0-9a-f]{32}$")


def api_keys_filter():
    """jwt_auth with one API key per test caller: each client is an authenticated caller."""
    keys = "".join(f"""
    [[routes.filters.config.api_keys]]
    name = "{name}"
    sha256 = "{hashlib.sha256(key.encode()).hexdigest()}"
    """ for name, key in KEYS.items())
    return f"""
    [[routes.filters]]
    plugin = "jwt_auth"
    [routes.filters.config]
    {keys}
    """


def route(targets, options="", authenticated=False, admin=None):
    text = mcp_route(targets, options, filters=api_keys_filter() if authenticated else "")
    text = text.replace("[plugins.mcp]", f'[plugins.mcp]\n    [plugins.jwt_auth]\n    path = "{BUILD / "libjwt_auth.so"}"')
    if admin:
        text = f'\n    [admin]\n    address = "{admin}"\n' + text
    return text


class Asker:
    """One client's callbacks: it answers every question with its own name and records what it was asked."""

    def __init__(self, name):
        self.name = name
        self.questions = []
        self.request_ids = []
        self.before_answer = None

    async def elicit(self, context, params):
        self.questions.append(params.message)
        self.request_ids.append(context.request_id)
        if self.before_answer:
            await asyncio.to_thread(self.before_answer, context.request_id)
        return ElicitResult(action="accept", content={"name": self.name.title()})

    async def sample(self, context, params):
        self.questions.append(params.messages[0].content.text)
        return CreateMessageResult(role="assistant", content=TextContent(type="text", text=f"model-of-{self.name}"), model="test")

    async def roots(self, context):
        self.questions.append("roots")
        return ListRootsResult(roots=[Root(uri=f"file:///home/{self.name}")])

    def client(self, url, mode, authenticated):
        transport = url
        if authenticated:
            transport = streamable_http_client(url, http_client=create_mcp_http_client(headers={"x-api-key": KEYS[self.name]}))
        return Client(transport, mode=mode, elicitation_callback=self.elicit, sampling_callback=self.sample,
                      list_roots_callback=self.roots)


async def ask_all_three(asker, client, target, tag, delay):
    """Elicitation, sampling and roots, each asked after `delay` seconds, in one client."""
    def text(result):
        return result.content[0].text
    prefix = f"{target}_" if target else ""
    elicited = text(await client.call_tool(f"{prefix}ask_later", {"delay": delay, "tag": tag}))
    sampled = text(await client.call_tool(f"{prefix}generate_later", {"delay": delay, "tag": tag}))
    roots = text(await client.call_tool(f"{prefix}roots_later", {"delay": delay, "tag": tag}))
    return elicited, sampled, roots


UPSTREAM_KINDS = {
    # name: (transport, extra target config)
    "stdio": ("stdio", ""),
    "sse": ("sse", ""),
    "http-2025-11-25": ("http", 'protocol = "2025-11-25"'),
    "http-2026-07-28": ("http", 'protocol = "2026-07-28"'),
}


def target_config(kind, tmp_path):
    transport, extra = UPSTREAM_KINDS[kind]
    if transport == "stdio":
        return None, stdio_target("up")
    proc, url = serve(tmp_path, "up", transport)
    return proc, url_target("up", transport, url, extra)


@pytest.mark.parametrize("kind,sessions,mode", [
    ("stdio", "per-client", "legacy"),
    ("stdio", "per-client", "auto"),
    ("sse", "per-client", "legacy"),
    ("sse", "per-client", "auto"),
    ("http-2025-11-25", "shared", "legacy"),
    ("http-2025-11-25", "per-client", "auto"),
    ("http-2026-07-28", "per-client", "legacy"),
    ("http-2026-07-28", "per-client", "auto"),
])
def test_each_question_reaches_only_the_client_whose_call_asked(gateway, tmp_path, kind, sessions, mode):
    """Alice's and Bob's calls run at once on the same target; each is asked its own question
    (its tag), answers with its own name, and gets a result built from its own answer. 2026-07-28
    clients have no session: they are told apart by their authenticated caller (API keys)."""
    upstream, target = target_config(kind, tmp_path)
    authenticated = mode == "auto"
    try:
        gw = gateway(route(target, f'upstream_sessions = "{sessions}"', authenticated=authenticated))
        wait_for(lambda: "is ready" in gw.log(), timeout=20, what="target ready")
        url = gw.url + "/mcp"
        alice, bob = Asker("alice"), Asker("bob")

        async def one(asker, tag, delay, start):
            await asyncio.sleep(start)
            async with asker.client(url, mode, authenticated) as client:
                return await ask_all_three(asker, client, "", tag, delay)

        async def both():
            return await asyncio.gather(one(alice, "A", 1.2, 0), one(bob, "B", 0.4, 0.3))

        (a_elicited, a_sampled, a_roots), (b_elicited, b_sampled, b_roots) = run(both(), timeout=90)
        assert a_elicited == "hello Alice from up for A" and b_elicited == "hello Bob from up for B"
        assert a_sampled == "A sampled: model-of-alice" and b_sampled == "B sampled: model-of-bob"
        assert a_roots == "A roots: file:///home/alice" and b_roots == "B roots: file:///home/bob"
        assert alice.questions == ["What is your name, A?", "complete for A", "roots"]
        assert bob.questions == ["What is your name, B?", "complete for B", "roots"]
        for request_id in alice.request_ids + bob.request_ids:  # the gateway's own ids, unguessable
            assert kind == "http-2026-07-28" and mode == "auto" or TOKEN.match(str(request_id)), request_id
        assert "refused" not in gw.log()
    finally:
        if upstream:
            upstream.stop()


def metric(admin, name):
    text = request(f"http://{admin}/metrics").text
    found = re.search(rf"^{name}(?:{{[^}}]*}})? (\S+)$", text, re.M)
    return float(found.group(1)) if found else 0.0


def test_a_shared_stdio_target_refuses_a_question_it_cannot_attribute(gateway):
    """upstream_sessions = "shared": while Bob's call runs, Alice's question could be either's: the
    gateway answers it upstream with an error (logged, counted) instead of guessing. Alone, Alice
    is asked as before."""
    admin = f"127.0.0.1:{free_port()}"
    gw = gateway(route(stdio_target("up"), 'upstream_sessions = "shared"', admin=admin))
    wait_for(lambda: "is ready" in gw.log(), timeout=20, what="target ready")
    url = gw.url + "/mcp"
    alice, bob = Asker("alice"), Asker("bob")

    async def scenario():
        async with alice.client(url, "legacy", False) as a, bob.client(url, "legacy", False) as b:
            slow = asyncio.create_task(b.call_tool("sleep", {"seconds": 2.5}))
            await asyncio.sleep(0.3)
            with pytest.raises(MCPError) as refused:
                await a.call_tool("ask_later", {"delay": 0.5, "tag": "A"})
            assert (await slow).content[0].text == "slept"
            alone = await a.call_tool("ask_later", {"delay": 0.1, "tag": "A"})
            return refused.value, alone

    refused, alone = run(scenario())
    assert "The gateway refused elicitation/create: calls of 2 clients are in flight" in str(refused)
    assert alone.content[0].text == "hello Alice from up for A"
    assert alice.questions == ["What is your name, A?"] and bob.questions == []
    assert "target 'up' sent elicitation/create; refused: calls of 2 clients are in flight" in gw.log()
    assert metric(admin, "agw_mcp_server_requests_refused_total") == 1


def test_an_answer_from_another_session_is_refused_and_the_owner_answers(gateway):
    """Bob's session posts an answer to the id of Alice's question (which it learned somehow) and
    guesses at the old counter ids: 400 each time, Alice's question still waits, and her own answer
    completes her call."""
    gw = gateway(route(stdio_target("up")))
    url = gw.url + "/mcp"
    bob_session, _ = initialize(url)
    alice = Asker("alice")
    attempts = []

    def forge(request_id):
        for forged_id in [request_id, "agw-1", "agw-2", 1]:
            answer = {"jsonrpc": "2.0", "id": forged_id, "result": {"action": "accept", "content": {"name": "Mallory"}}}
            attempts.append(post(url, answer, bob_session))

    alice.before_answer = forge

    async def scenario():
        async with alice.client(url, "legacy", False) as client:
            return (await client.call_tool("ask_later", {"delay": 0.1, "tag": "A"})).content[0].text

    assert run(scenario()) == "hello Alice from up for A"
    assert [a.status for a in attempts] == [400] * 4
    assert all(a.json()["error"]["code"] == -32600 for a in attempts)
    assert TOKEN.match(alice.request_ids[0])


MODERN_META = {"io.modelcontextprotocol/protocolVersion": "2026-07-28",
               "io.modelcontextprotocol/clientCapabilities": {"elicitation": {}}}


def modern_call(url, name, arguments, key=None, extra_params=None, request_id=1):
    params = {"name": name, "arguments": arguments, "_meta": MODERN_META, **(extra_params or {})}
    headers = {"mcp-protocol-version": "2026-07-28", "mcp-method": "tools/call", "mcp-name": name}
    if key:
        headers["x-api-key"] = KEYS[key]
    return post(url, {"jsonrpc": "2.0", "id": request_id, "method": "tools/call", "params": params}, headers=headers, timeout=20)


def test_a_forged_or_foreign_request_state_is_refused_and_the_owner_retries(gateway):
    """2026-07-28: the gateway asks Alice through an InputRequiredResult. Bob retries with her
    state (stolen) and with a neighbour of it (guessed), anonymously and as himself: each is
    unknown. Alice's own retry then completes her call."""
    gw = gateway(route(stdio_target("up"), authenticated=True))
    url = gw.url + "/mcp"
    asked = modern_call(url, "ask_later", {"delay": 0, "tag": "A"}, key="alice").json()["result"]
    assert asked["resultType"] == "input_required"
    state = asked["requestState"]
    [(question, request)] = asked["inputRequests"].items()
    assert TOKEN.match(state) and TOKEN.match(question) and request["method"] == "elicitation/create"
    neighbour = state[:-1] + format((int(state[-1], 16) + 15) % 16, "x")  # "its own state minus one"
    answer = {"inputResponses": {question: {"action": "accept", "content": {"name": "Mallory"}}}}
    for forged, key in [(state, "bob"), (neighbour, "bob"), (state, None), (neighbour, "alice")]:
        resp = modern_call(url, "ask_later", {"delay": 0, "tag": "A"}, key=key, extra_params={**answer, "requestState": forged})
        assert resp.status in (200, 401), resp.text
        if resp.status == 200:
            assert resp.json()["error"]["code"] == -32602 and "Unknown or expired requestState" in resp.json()["error"]["message"]
    done = modern_call(url, "ask_later", {"delay": 0, "tag": "A"}, key="alice",
                       extra_params={"inputResponses": {question: {"action": "accept", "content": {"name": "Ada"}}}, "requestState": state})
    assert done.json()["result"]["content"][0]["text"] == "hello Ada from up for A", done.text


def test_a_session_belongs_to_the_caller_that_opened_it(gateway):
    gw = gateway(route(stdio_target("up"), authenticated=True))
    url = gw.url + "/mcp"
    init = {"jsonrpc": "2.0", "id": 1, "method": "initialize",
            "params": {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}}
    session = post(url, init, headers={"x-api-key": KEYS["alice"]}).headers["mcp-session-id"]
    ping = {"jsonrpc": "2.0", "id": 2, "method": "ping"}
    assert post(url, ping, session, headers={"x-api-key": KEYS["bob"]}).status == 404
    assert request(url, "DELETE", {"mcp-session-id": session, "x-api-key": KEYS["bob"]}).status == 404
    assert post(url, ping, session, headers={"x-api-key": KEYS["alice"]}).status == 200


def test_anonymous_stateless_clients_cannot_cancel_each_others_calls(gateway):
    """Without sessions or callers, request ids are all a client could name: Bob's
    notifications/cancelled for id 1 does not reach Alice's call 1."""
    gw = gateway(route(stdio_target("up"), "sessions = false"))
    url = gw.url + "/mcp"
    outcome = {}
    caller = threading.Thread(target=lambda: outcome.update(resp=modern_call(url, "sleep", {"seconds": 1.5})))
    caller.start()
    time.sleep(0.5)
    cancel = {"jsonrpc": "2.0", "method": "notifications/cancelled", "params": {"requestId": 1, "_meta": MODERN_META}}
    assert post(url, cancel, headers={"mcp-protocol-version": "2026-07-28", "mcp-method": "notifications/cancelled"}).status == 202
    caller.join(10)
    assert outcome["resp"].json()["result"]["content"][0]["text"] == "slept"


def alive(pid):
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(") ")[1][0] != "Z"
    except (FileNotFoundError, IndexError):
        return False


def pid_of(url, session):
    resp = post(url, {"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": "pid", "arguments": {}}}, session)
    return int(resp.json()["result"]["content"][0]["text"])


def test_each_session_gets_its_own_stdio_child_stopped_with_the_session(gateway):
    gw = gateway(route(stdio_target("up")))
    wait_for(lambda: "is ready" in gw.log(), timeout=20, what="the shared child")
    url = gw.url + "/mcp"
    alice, _ = initialize(url)
    bob, _ = initialize(url)
    alice_pid, bob_pid = pid_of(url, alice), pid_of(url, bob)
    assert alice_pid != bob_pid and pid_of(url, alice) == alice_pid  # started lazily, then kept
    assert request(url, "DELETE", {"mcp-session-id": alice}).status == 200
    wait_for(lambda: not alive(alice_pid), what="Alice's child stopped with her session")
    assert alive(bob_pid) and pid_of(url, bob) == bob_pid


def test_max_processes_caps_the_per_client_children(gateway):
    gw = gateway(route(stdio_target("up", "max_processes = 1")))
    url = gw.url + "/mcp"
    alice, _ = initialize(url)
    bob, _ = initialize(url)
    alice_pid = pid_of(url, alice)
    refused = post(url, {"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": "pid", "arguments": {}}}, bob).json()
    assert refused["error"]["code"] == -32603
    assert "MCP server 'up' is unavailable: it has reached max_processes = 1" in refused["error"]["message"]
    assert "max_processes = 1 per-client processes are running" in gw.log()
    assert request(url, "DELETE", {"mcp-session-id": alice}).status == 200
    wait_for(lambda: not alive(alice_pid), what="Alice's child stopped")
    assert wait_for(lambda: "result" in post(url, {"jsonrpc": "2.0", "id": 2, "method": "tools/call",
                                                   "params": {"name": "pid", "arguments": {}}}, bob).json(), what="Bob's turn")


def open_listener(address, session):
    """A session's GET stream on a raw socket (keep-alive asked for), its first bytes read."""
    host, port = address.rsplit(":", 1)
    sock = socket.create_connection((host, int(port)), timeout=10)
    sock.sendall(f"GET /mcp HTTP/1.1\r\nhost: {address}\r\naccept: text/event-stream\r\nmcp-session-id: {session}\r\n"
                 "connection: keep-alive\r\n\r\n".encode())
    head = b""
    while b": listening" not in head:
        chunk = sock.recv(4096)
        assert chunk, head
        head += chunk
    assert head.startswith(b"HTTP/1.1 200"), head
    return sock


def read_until_closed(sock, timeout):
    """Everything the gateway sends until it closes the connection."""
    sock.settimeout(timeout)
    received = b""
    while True:
        chunk = sock.recv(4096)
        if not chunk:
            return received
        received += chunk


@pytest.mark.parametrize("ending", ["expired", "evicted"])
def test_an_ended_sessions_get_stream_is_closed_with_its_connection(gateway, ending):
    """A client that vanished without DELETE holds nothing once its session is gone: the GET
    stream ends (the last chunk), and the connection closes. Meanwhile heartbeats flow."""
    options = "session_ttl_seconds = 2\nheartbeat_seconds = 1" if ending == "expired" else "max_sessions = 1\nheartbeat_seconds = 1"
    gw = gateway(route(stdio_target("up"), options))
    url = gw.url + "/mcp"
    session, _ = initialize(url)
    sock = open_listener(gw.url.split("//")[1], session)
    started = time.monotonic()
    if ending == "evicted":
        time.sleep(1.5)  # a heartbeat first
        initialize(url)
    received = read_until_closed(sock, timeout=15)
    sock.close()
    assert b": heartbeat" in received
    assert received.endswith(b"0\r\n\r\n"), received[-100:]  # the chunked stream was ended, then the connection closed
    assert time.monotonic() - started < 8
    assert post(url, {"jsonrpc": "2.0", "id": 1, "method": "ping"}, session).status == 404


def test_a_json_rpc_error_from_a_streamable_http_upstream_passes_through(gateway, tmp_path):
    """A 2026-07-28 server answers a method it does not know with HTTP 404 and -32601: the client
    gets that code, message and data, not a -32603 wrapping the HTTP status."""
    upstream, url = serve(tmp_path, "up", "http")
    try:
        gw = gateway(route(url_target("up", "http", url, 'protocol = "2026-07-28"')))
        session, _ = initialize(gw.url + "/mcp")
        resp = post(gw.url + "/mcp", {"jsonrpc": "2.0", "id": 5, "method": "resources/subscribe", "params": {"uri": "up://info"}}, session)
        assert resp.json() == {"jsonrpc": "2.0", "id": 5, "error": {"code": -32601, "message": "Method not found", "data": "resources/subscribe"}}
    finally:
        upstream.stop()


def test_a_clients_own_server_tells_only_that_client_its_list_changed(gateway):
    """Alice's call adds a tool in her own child: her GET stream hears of it and her list shows it;
    Bob, whose child did not change, hears nothing and lists what he had."""
    gw = gateway(route(stdio_target("up")))
    url = gw.url + "/mcp"
    seen = {"alice": [], "bob": []}

    def handler(name):
        async def on_message(message):
            seen[name].append(str(getattr(getattr(message, "root", message), "method", None) or message))
        return on_message

    async def scenario():
        async with Client(url, mode="legacy", message_handler=handler("alice")) as alice, \
                Client(url, mode="legacy", message_handler=handler("bob")) as bob:
            assert "extra" not in [t.name for t in (await bob.list_tools()).tools]
            assert (await alice.call_tool("grow", {})).content[0].text == "grown"
            for _ in range(100):
                if any("tools/list_changed" in item for item in seen["alice"]):
                    break
                await asyncio.sleep(0.05)
            await asyncio.sleep(0.5)  # time for a misdelivered copy to reach Bob
            return [t.name for t in (await alice.list_tools()).tools], [t.name for t in (await bob.list_tools()).tools]

    alice_tools, bob_tools = run(scenario())
    assert any("tools/list_changed" in item for item in seen["alice"]), seen
    assert not any("list_changed" in item for item in seen["bob"]), seen
    assert "extra" in alice_tools and "extra" not in bob_tools
