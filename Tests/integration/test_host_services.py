"""Host services reached through the ABI: pause + async HTTP call + resume, a scheduler posted
from another thread, timers, buffered body hooks, streaming handler responses (SSE), child
processes, and the protocol (JSON-RPC) message hook."""
import json
import os
import select
import socket
import subprocess
import time

from conftest import BUILD, free_port, request, wait_for


def chain(backend, filters, handler=None):
    terminal = f'[routes.backend]\nurls = ["{backend}"]' if handler is None else handler
    return f"""
    [[listeners]]
    name = "main"
    address = "127.0.0.1:0"
    [plugins.tf]
    path = "{BUILD / 'libtest_filters.so'}"
    [[routes]]
    name = "r"
    {filters}
    {terminal}
    """


def test_filter_pauses_makes_async_http_call_and_resumes(gateway, backend):
    gw = gateway(chain(backend, f"""
    [[routes.filters]]
    plugin = "tf.async-lookup"
    config = {{ url = "{backend}/lookup/answer" }}
    """))
    resp = request(gw.url + "/through")
    assert resp.status == 200
    lookup = resp.json()["headers"]["x-lookup"]
    assert lookup.startswith("200:") and '"path": "/lookup/answer"' in lookup


def test_async_call_failure_becomes_the_filters_reply(gateway, backend):
    gw = gateway(chain(backend, """
    [[routes.filters]]
    plugin = "tf.async-lookup"
    config = { url = "http://127.0.0.1:9/nothing-listens-here" }
    """))
    resp = request(gw.url + "/x")
    assert resp.status == 503 and "lookup failed" in resp.text


def test_scheduler_posted_from_another_thread_resumes_the_stream(gateway, backend):
    gw = gateway(chain(backend, """
    [[routes.filters]]
    plugin = "tf.thread-resume"
    config = { delay_ms = 20, probe_off_loop = true }
    """))
    for _ in range(5):
        resp = request(gw.url + "/t")
        assert resp.status == 200 and resp.json()["headers"]["x-resumed-by"] == "thread-42"
        assert resp.json()["headers"]["x-off-loop-call"] == "refused"  # AGW_ERR_WRONG_THREAD
        assert "x-from-thread" not in resp.json()["headers"]


def test_body_hooks_rewrite_request_and_response(gateway, backend):
    gw = gateway(chain(backend, """
    [[routes.filters]]
    plugin = "tf.body-rewrite"
    config = { suffix = "<appended>" }
    """))
    resp = request(gw.url + "/b", method="POST", body="quiet words")
    assert resp.status == 200
    assert resp.text.endswith("<appended>")
    assert json.loads(resp.text.removesuffix("<appended>"))["body"] == "QUIET WORDS"
    assert int(resp.headers["content-length"]) == len(resp.body)


def test_handler_streams_server_sent_events(gateway, backend):
    gw = gateway(chain(backend, "", handler="""
    [routes.handler]
    plugin = "tf.sse-counter"
    config = { count = 4, interval_ms = 30 }
    """))
    proc = subprocess.Popen(["curl", "-sN", "--max-time", "10", gw.url + "/events"], stdout=subprocess.PIPE, text=True)
    first = proc.stdout.readline()
    assert first == "id: 1\n"  # arrives before the stream is over: the response is streamed
    rest = proc.stdout.read()
    proc.wait(10)
    events = [block for block in (first + rest).split("\n\n") if block.strip()]
    assert [json.loads(e.split("data: ")[1]) for e in events] == [{"n": 1}, {"n": 2}, {"n": 3}, {"n": 4}]


def test_handler_talks_to_a_child_process(gateway, backend):
    gw = gateway(chain(backend, "", handler="""
    [routes.handler]
    plugin = "tf.process-line"
    config = { command = ["cat"] }
    """))
    for word in ["alpha", "beta"]:
        resp = request(gw.url + "/p", method="POST", body=word)
        assert resp.status == 200 and resp.text == word + "\n"


def test_child_process_exit_is_reported(gateway, backend):
    gw = gateway(chain(backend, "", handler="""
    [routes.handler]
    plugin = "tf.process-line"
    config = { command = ["sh", "-c", "read line; exit 3"] }
    """))
    resp = request(gw.url + "/p", method="POST", body="x")
    assert resp.status == 502 and "exited with 3" in resp.text


def test_missing_program_fails_cleanly(gateway, backend):
    gw = gateway(chain(backend, "", handler="""
    [routes.handler]
    plugin = "tf.process-line"
    config = { command = ["/definitely/not/a/program"] }
    """))
    resp = request(gw.url + "/p", method="POST", body="x")
    assert resp.status == 500 and "cannot start" in resp.text


def rpc(gw, method, name=None, arguments=None, rid=1):
    params = {"name": name, "arguments": arguments or {}} if name else {}
    resp = request(gw.url + "/mcp", method="POST", body=json.dumps({"jsonrpc": "2.0", "id": rid, "method": method, "params": params}),
                   headers={"content-type": "application/json"})
    assert resp.status == 200
    return resp.json()


def test_protocol_hook_allows_rejects_rewrites_and_decides_later(gateway, backend):
    gw = gateway(chain(backend, """
    [[routes.filters]]
    plugin = "tf.rpc-gate"
    config = { deny = ["delete_all"], slow = ["slow_tool"], rewrite_tool = "rewrite_me" }
    """, handler="""
    [routes.handler]
    plugin = "tf.rpc-echo"
    """))
    allowed = rpc(gw, "tools/call", "echo", {"text": "hi"})
    assert allowed["result"]["params"] == {"name": "echo", "arguments": {"text": "hi"}}
    denied = rpc(gw, "tools/call", "delete_all", rid=2)
    assert denied["error"] == {"code": -32602, "message": "Unknown tool: delete_all"} and denied["id"] == 2
    rewritten = rpc(gw, "tools/call", "rewrite_me", {"orig": 1}, rid=3)
    assert rewritten["result"]["params"]["arguments"] == {"rewritten": True}
    later = rpc(gw, "tools/call", "slow_tool", {"a": 1}, rid=4)  # filter returned STOP, resumed on a timer
    assert later["result"]["params"]["arguments"] == {"a": 1} and later["id"] == 4
    parse_error = request(gw.url + "/mcp", method="POST", body="{not json")
    assert parse_error.json()["error"]["code"] == -32700


def test_streamed_http_call_relays_chunks_as_they_arrive(gateway, backend):
    port = free_port()  # the relay route calls the gateway's own /events route
    gw = gateway(f"""
    [[listeners]]
    name = "main"
    address = "127.0.0.1:{port}"
    [plugins.tf]
    path = "{BUILD / 'libtest_filters.so'}"
    [[routes]]
    name = "events"
    [routes.match]
    path = "/events"
    [routes.handler]
    plugin = "tf.sse-counter"
    config = {{ count = 3, interval_ms = 150 }}
    [[routes]]
    name = "relay"
    [routes.handler]
    plugin = "tf.stream-relay"
    config = {{ url = "http://127.0.0.1:{port}/events" }}
    """)
    proc = subprocess.Popen(["curl", "-sN", "-D", "-", "--max-time", "10", gw.url + "/relay"], stdout=subprocess.PIPE, text=True)
    lines = []
    for line in proc.stdout:
        lines.append(line)
        if line.startswith("id: 1"):
            assert proc.poll() is None  # the first event arrived while the upstream was still streaming
    proc.wait(10)
    text = "".join(lines)
    assert "x-relayed: 1" in text.lower() and "text/event-stream" in text
    assert [json.loads(l.split("data: ")[1]) for l in text.splitlines() if l.startswith("data: ")] == [{"n": 1}, {"n": 2}, {"n": 3}]


def test_a_streamed_call_that_arrives_whole_comes_as_one_event_when_asked(gateway, backend):
    """AGW_HTTP_CALL_WHOLE_WHEN_READY (ABI 1.7): a small answer read whole with its head is one
    response event carrying the body; a body still streaming comes as a head and chunks, the last
    with end_of_stream; without the flag, the head comes alone and the last chunk carries the end."""
    port = free_port()
    gw = gateway(f"""
    [[listeners]]
    name = "main"
    address = "127.0.0.1:{port}"
    [plugins.tf]
    path = "{BUILD / 'libtest_filters.so'}"
    [[routes]]
    name = "events"
    [routes.match]
    path = "/events"
    [routes.handler]
    plugin = "tf.sse-counter"
    config = {{ count = 3, interval_ms = 100 }}
    [[routes]]
    name = "small"
    [routes.match]
    path = "/small"
    [[routes.filters]]
    plugin = "tf.local-reply"
    config = {{ status = 200, body = "a small answer, written in one go" }}
    [routes.backend]
    urls = ["{backend}"]
    [[routes]]
    name = "whole-small"
    [routes.match]
    path = "/whole-small"
    [routes.handler]
    plugin = "tf.call-events"
    config = {{ url = "http://127.0.0.1:{port}/small", whole_when_ready = true }}
    [[routes]]
    name = "whole-streaming"
    [routes.match]
    path = "/whole-streaming"
    [routes.handler]
    plugin = "tf.call-events"
    config = {{ url = "http://127.0.0.1:{port}/events", whole_when_ready = true }}
    [[routes]]
    name = "streamed-small"
    [routes.match]
    path = "/streamed-small"
    [routes.handler]
    plugin = "tf.call-events"
    config = {{ url = "http://127.0.0.1:{port}/small", whole_when_ready = false }}
    """)
    direct = len(request(gw.url + "/small").body)  # the gateway's own local reply: head and body in one write
    for _ in range(3):
        assert request(gw.url + "/whole-small").text.splitlines() == [f"response 200 eos=1 bytes={direct}"]
    lines = request(gw.url + "/whole-streaming").text.splitlines()
    assert lines[0] == "response 200 eos=0 bytes=0" and len(lines) >= 4, lines  # three events, 100 ms apart
    assert all(line.startswith("body eos=0") for line in lines[1:-1]) and lines[-1].startswith("body eos=1"), lines
    lines = request(gw.url + "/streamed-small").text.splitlines()
    assert lines[0] == "response 200 eos=0 bytes=0" and lines[-1].startswith("body eos=1"), lines
    assert sum(int(line.rsplit("bytes=", 1)[1]) for line in lines[1:]) == direct


def test_attributes_kv_and_plugin_metrics(gateway, backend):
    admin = f"127.0.0.1:{free_port()}"
    gw = gateway(chain(backend, """
    [[routes.filters]]
    plugin = "tf.inspect"
    config = { set_value = "alice", metric = "agw_test_inspected_total" }
    [[routes.filters]]
    plugin = "tf.inspect"
    """).replace('[[listeners]]', f'[admin]\naddress = "{admin}"\n[[listeners]]', 1))
    for _ in range(3):
        headers = request(gw.url + "/attrs?q=1", method="PATCH").json()["headers"]
    assert headers["x-attr-identity"] == "alice"  # handed from the first filter to the second
    assert headers["x-attr-method"] == "PATCH" and headers["x-attr-path"] == "/attrs?q=1"
    assert headers["x-attr-route"] == "r" and headers["x-attr-listener"] == "main"
    assert headers["x-attr-scheme"] == "http" and headers["x-attr-version"] == "HTTP/1.1"
    assert headers["x-attr-peer"].startswith("127.0.0.1:") and headers["x-attr-sni"] == "-"
    assert headers["x-attr-filter"] == "r/tf.inspect#1"
    metrics = request(f"http://{admin}/metrics").text
    assert "agw_test_inspected_total 3" in metrics


def test_client_leaving_a_paused_stream_makes_the_late_post_a_no_op(gateway, backend):
    gw = gateway(chain(backend, """
    [[routes.filters]]
    plugin = "tf.thread-resume"
    config = { delay_ms = 300 }
    """))
    host, port = gw.address("main").rsplit(":", 1)
    for _ in range(5):
        with socket.create_connection((host, int(port))) as sock:
            sock.sendall(b"GET /gone HTTP/1.1\r\nHost: x\r\n\r\n")
        # the socket is closed while the filter is paused; its scheduler posts 300 ms later
    time.sleep(0.5)
    resp = request(gw.url + "/still-here")
    assert resp.status == 200 and resp.json()["headers"]["x-resumed-by"] == "thread-42"
    assert gw.process.proc.poll() is None


def test_client_leaving_an_sse_stream_cancels_its_timers(gateway, backend):
    gw = gateway(chain(backend, "", handler="""
    [routes.handler]
    plugin = "tf.sse-counter"
    config = { count = 1000, interval_ms = 10 }
    """))
    for _ in range(3):
        proc = subprocess.Popen(["curl", "-sN", gw.url + "/events"], stdout=subprocess.PIPE, text=True)
        assert proc.stdout.readline() == "id: 1\n"
        proc.kill()
        proc.wait()
    time.sleep(0.2)
    proc = subprocess.Popen(["curl", "-sN", "--max-time", "5", gw.url + "/events"], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline() == "id: 1\n"  # a new stream starts from 1: state is per stream
    proc.kill()
    proc.wait()
    assert gw.process.proc.poll() is None


def test_response_filter_pausing_a_streamed_response(gateway, backend):
    """The head is flushed when the filter resumes, not held back until the handler's first event."""
    gw = gateway(chain(backend, """
    [[routes.filters]]
    plugin = "tf.response-delay"
    config = { delay_ms = 50 }
    """, handler="""
    [routes.handler]
    plugin = "tf.sse-counter"
    config = { count = 2, interval_ms = 1500 }
    """))
    host, port = gw.address("main").rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(b"GET /events HTTP/1.1\r\nHost: x\r\n\r\n")
        head = b""
        while b"\r\n\r\n" not in head:
            head += sock.recv(1)
        assert b"x-delayed: 1" in head.lower()
        # The first event is produced 1.5 s after the head: nothing else can be here yet.
        readable, _, _ = select.select([sock], [], [], 0.3)
        assert not readable, "the head was held back until the first event"
        body = b""
        while b"id: 2" not in body:
            body += sock.recv(4096)
    assert body.count(b"data: ") == 2


def test_response_filter_pausing_a_proxied_response(gateway, backend):
    gw = gateway(chain(backend, """
    [[routes.filters]]
    plugin = "tf.response-delay"
    config = { delay_ms = 50 }
    """))
    for path in ["/small", "/bytes/3000000"]:
        resp = request(gw.url + path)
        assert resp.status == 200 and resp.headers["x-delayed"] == "1"
    assert len(resp.body) == 3000000


def test_config_new_starts_config_scope_work_on_the_home_loop(gateway, backend):
    marker = f"30.{os.getpid()}{int(time.time() * 1000) % 100000}"  # a sleep argument nothing else uses
    gw = gateway(chain(backend, f"""
    [[routes.filters]]
    plugin = "tf.config-process"
    config = {{ command = ["sh", "-c", "echo started-at-config-time; sleep {marker}"] }}
    """))
    line = wait_for(lambda: request(gw.url + "/c").json()["headers"]["x-config-process"] != "-" and
                    request(gw.url + "/c").json()["headers"]["x-config-process"], what="config-scope process output")
    assert line == "started-at-config-time"
    assert leftover(marker), "the child (and its own child) should be running"
    assert gw.stop() == 0
    # Shutdown stopped the child's whole process group, grandchild included, before exiting.
    assert not leftover(marker)


def leftover(marker):
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/cmdline", "rb") as f:
                    if marker.encode() in f.read():
                        found.append(int(entry))
            except OSError:
                pass
    return found
