"""Metrics, traces and access logs on real traffic: the official MCP client through a federated
route, a proxied route, a call RBAC rejects, a dead upstream; /metrics checked by exact deltas and
by `promtool check metrics`; spans decoded with the official OpenTelemetry protobufs, across the
gateway and an MCP server built on the official SDKs (which continues the trace from `_meta`);
access-log lines read field by field; credentials never in any log line."""
import asyncio
import hashlib
import json
import os
import re
import signal
import subprocess
import sys

import pytest
from mcp import Client
from mcp.shared.exceptions import MCPError

from conftest import BUILD, ROOT, free_port, refused_port, request, wait_for
from mcp_helpers import ACCEPT, initialize, post, stdio_target, url_target
from observability_helpers import (Receiver, access_lines, delta, promtool_check, sample, scrape, traced_server,
                                   traced_stdio_target)
from security_helpers import AUDIENCE, ISSUER, bearer, jwks_file

PLUGINS = "\n".join(f'[plugins.{name}]\npath = "{BUILD / f"lib{name}.so"}"' for name in ["jwt_auth", "rbac", "mcp", "annotate"])


def config(backend, dead_port, targets, extra="", mcp_filters="", mcp_log=""):
    return f"""
    [admin]
    address = "127.0.0.1:0"
    {extra}
    [[listeners]]
    name = "main"
    address = "127.0.0.1:0"
    {PLUGINS}
    [[routes]]
    name = "mcp"
    [routes.match]
    path = "/mcp"
    {mcp_log}
    {mcp_filters}
    [routes.handler]
    plugin = "mcp"
    [routes.handler.config]
    {targets}
    [[routes]]
    name = "dead"
    [routes.match]
    path_prefix = "/dead"
    [routes.backend]
    urls = ["http://127.0.0.1:{dead_port}"]
    connect_timeout_ms = 500
    [[routes]]
    name = "api"
    [routes.backend]
    urls = ["{backend}"]
    """


RBAC_NO_PID = """
    [[routes.filters]]
    plugin = "rbac"
    [[routes.filters.config.rules]]
    name = "no pid"
    deny = 'mcp.tool.name == "pid"'
    [[routes.filters.config.rules]]
    name = "the rest"
    allow = 'true'
    """


def test_metrics_count_exactly_what_was_sent_and_promtool_accepts_them(gateway, backend, tmp_path):
    dead = free_port()
    gw = gateway(config(backend, dead, stdio_target("local"), mcp_filters=RBAC_NO_PID))
    wait_for(lambda: "is ready" in gw.log(), timeout=20, what="target ready")
    admin = gw.address("admin")
    before, _ = scrape(admin)
    backend_label = backend.replace("localhost", "127.0.0.1")
    during = {}

    async def scenario():
        async with Client(gw.url + "/mcp", mode="legacy") as client:
            assert [t.name for t in (await client.list_tools()).tools][:2] == ["add", "whoami"]
            for n in range(3):
                assert (await client.call_tool("add", {"a": n, "b": 1})).content[0].text == str(n + 1)
            with pytest.raises(MCPError):
                await client.call_tool("pid", {})
            during.update(scrape(admin)[0])

    asyncio.run(asyncio.wait_for(scenario(), 60))
    for _ in range(2):
        assert request(gw.url + "/get").status == 200
    assert request(gw.url + "/post", "POST", {"content-type": "text/plain"}, "hello").status == 200
    assert request(gw.url + "/dead/x").status == 502

    def settled():
        after, text = scrape(admin)
        # (A request is counted right after its response is written: wait for the last of each kind.)
        done = (delta(before, after, "agw_http_requests_total", listener="main", route="dead", method="GET", status_class="5xx") == 1
                and delta(before, after, "agw_mcp_tool_calls_total", route="mcp", target="local", tool="pid", outcome="rejected") == 1
                and delta(before, after, "agw_http_requests_total", listener="main", route="api", method="POST", status_class="2xx") == 1)
        return (after, text) if done else None
    after, text = wait_for(settled, what="the last request counted")
    assert "# TYPE agw_http_request_duration_seconds histogram" in text
    promtool_check(text, tmp_path)
    # Every metric the gateway exposes is in the README's reference, and so is every one the
    # Grafana dashboard queries (whose expressions promtool parses as rules).
    readme = (ROOT / "README.md").read_text()
    reference = readme.split("### Metrics reference")[1].split("### Traces")[0]
    documented = set(re.findall(r"`(agw_[a-z0-9_]+)`", reference))
    exposed = set(re.findall(r"^# TYPE (agw_[a-z0-9_]+) ", text, re.M))
    assert exposed <= documented, exposed - documented
    dashboard = json.loads((ROOT / "examples" / "observability" / "grafana-dashboard.json").read_text())
    expressions = [target["expr"] for panel in dashboard["panels"] for target in panel["targets"]]
    queried = {re.sub(r"_bucket$", "", name) for expr in expressions for name in re.findall(r"agw_[a-z0-9_]+", expr)}
    assert queried <= documented, queried - documented
    rules = tmp_path / "dashboard-rules.yml"
    rules.write_text(json.dumps({"groups": [{"name": "dashboard", "rules": [
        {"record": f"dashboard:panel{n}", "expr": expr.replace("$__rate_interval", "5m").replace("$__range", "1h").replace("$route", ".*")}
        for n, expr in enumerate(expressions)]}]}))
    checked = subprocess.run(["promtool", "check", "rules", str(rules)], capture_output=True, text=True)
    assert checked.returncode == 0, checked.stdout + checked.stderr

    # HTTP, per listener and route.
    api = dict(listener="main", route="api")
    assert delta(before, after, "agw_http_requests_total", **api, method="GET", status_class="2xx") == 2
    assert delta(before, after, "agw_http_requests_total", **api, method="POST", status_class="2xx") == 1
    assert delta(before, after, "agw_http_request_body_bytes_total", **api) == 5
    assert delta(before, after, "agw_http_request_duration_seconds_count", **api) == 3
    assert delta(before, after, "agw_http_request_duration_seconds_bucket", **api, le="60.0") == 3
    assert delta(before, after, "agw_upstream_request_duration_seconds_count", route="api", backend=backend_label) == 3
    assert delta(before, after, "agw_upstream_connect_failures_total", route="dead", backend=f"http://127.0.0.1:{dead}") == 1
    assert delta(before, after, "agw_http_response_body_bytes_total", **api) > 0
    assert delta(before, after, "agw_http_connections_total", listener="main", protocol="h1") >= 4
    # MCP, per route: the three calls, the one RBAC rejected, the decisions by rule.
    assert delta(before, after, "agw_mcp_tool_calls_total", route="mcp", target="local", tool="add", outcome="ok") == 3
    assert delta(before, after, "agw_mcp_tool_call_duration_seconds_count", route="mcp", target="local", tool="add") == 4 - 1
    assert delta(before, after, "agw_mcp_tool_calls_total", route="mcp", target="local", tool="pid", outcome="rejected") == 1
    assert delta(before, after, "agw_mcp_requests_total", route="mcp", method="tools/call", outcome="ok") == 3
    assert delta(before, after, "agw_mcp_requests_total", route="mcp", method="tools/call", outcome="rejected") == 1
    assert delta(before, after, "agw_mcp_requests_total", route="mcp", method="tools/list", outcome="ok") == 1
    # pid denied twice: hidden from the list, then refused when called (allowed list items are not counted).
    assert delta(before, after, "agw_rbac_decisions_total", route="mcp", rule="no pid", decision="deny") == 2
    assert delta(before, after, "agw_rbac_decisions_total", route="mcp", rule="the rest", decision="allow") == 3
    assert delta(before, after, "agw_mcp_list_fanout_duration_seconds_count", route="mcp", method="tools/list") == 1
    assert sample(after, "agw_mcp_target_up", route="mcp", target="local") == 1
    assert sample(during, "agw_mcp_sessions_active", route="mcp") == 1
    assert sample(after, "agw_mcp_sessions_active", route="mcp") == 0  # the client ended its session (DELETE)
    # Every POST to the MCP route ran the handler's body hook once (and its time was recorded).
    posts = sum(delta(before, after, "agw_http_requests_total", listener="main", route="mcp", method="POST", status_class=c)
                for c in ["2xx", "4xx"])
    assert posts >= 6
    assert delta(before, after, "agw_plugin_hook_duration_seconds_count", filter="mcp/mcp", hook="request_body") == posts
    assert delta(before, after, "agw_plugin_hook_duration_seconds_count", filter="mcp/rbac#0", hook="rpc_message") >= 4
    # Tool names come only from the targets' lists: a name no target has makes no series.
    unknown = post(gw.url + "/mcp", {"jsonrpc": "2.0", "id": 9, "method": "tools/call", "params": {"name": "nope", "arguments": {}}},
                   session=initialize(gw.url + "/mcp")[0])
    assert unknown.status == 200 and unknown.json()["result"]["isError"], unknown.text  # one target: its own answer
    final, _ = wait_for(lambda: (lambda s: s if delta(after, s[0], "agw_mcp_requests_total", route="mcp", method="tools/call",
                                                        outcome="tool_error") == 1
                                 and delta(after, s[0], "agw_mcp_tool_calls_total", route="mcp", target="local", tool="(unlisted)",
                                           outcome="tool_error") == 1 else None)(scrape(admin)), what="unknown tool counted")
    assert not [key for key in final if dict(key[1]).get("tool") == "nope"]


def test_a_tool_call_is_one_trace_from_the_client_through_the_gateway_to_mcp_servers(gateway, backend, tmp_path):
    receiver = Receiver(tmp_path)
    upstream = None
    try:
        upstream, url = traced_server(tmp_path, receiver.endpoint)
        tracing = f"""
        [tracing]
        endpoint = "{receiver.endpoint}"
        batch_delay_ms = 100
        service_name = "gw-under-test"
        resource = {{ "deployment.environment" = "ci" }}
        """
        gw = gateway(config(backend, free_port(), url_target("remote", "http", url) + traced_stdio_target("local", receiver.endpoint),
                            extra=tracing))
        wait_for(lambda: gw.log().count("is ready") == 2, timeout=20, what="targets ready")

        async def scenario():
            async with Client(gw.url + "/mcp", mode="legacy") as client:
                names = sorted(t.name for t in (await client.list_tools()).tools)
                assert names == ["local_trace_context", "remote_trace_context"], names
                remote = json.loads((await client.call_tool("remote_trace_context", {})).content[0].text)
                local = json.loads((await client.call_tool("local_trace_context", {})).content[0].text)
                return remote, local
        remote, local = asyncio.run(asyncio.wait_for(scenario(), 60))

        def spans_of(tool):
            spans = receiver.spans()
            server = [s for s in spans if s["service"] == "gw-under-test" and s["name"] == f"tools/call {tool}"]
            return (spans, server[0]) if server else None
        spans, server = wait_for(lambda: spans_of("remote_trace_context"), what="the gateway's span")
        assert server["kind"] == "SPAN_KIND_SERVER" and server["parent_span_id"] == ""
        assert server["resource"]["deployment.environment"] == "ci"
        attributes = server["attributes"]
        assert attributes["mcp.method.name"] == "tools/call"
        assert attributes["gen_ai.tool.name"] == "remote_trace_context"
        assert attributes["agw.mcp.target"] == "remote"
        assert attributes["jsonrpc.request.id"] and attributes["mcp.session.id"]
        assert attributes["http.response.status_code"] == 200 and attributes["agw.route"] == "mcp"
        # The upstream call is the server span's child and carried its own span as the HTTP parent...
        clients = [s for s in spans if s["trace_id"] == server["trace_id"] and s["kind"] == "SPAN_KIND_CLIENT"]
        assert len(clients) == 1 and clients[0]["parent_span_id"] == server["span_id"], clients
        assert remote["header"] == f"00-{server['trace_id']}-{clients[0]['span_id']}-01"
        # ...and the gateway's span in `_meta`, where the official SDK's server middleware found it.
        assert remote["meta"] == f"00-{server['trace_id']}-{server['span_id']}-01"
        upstream_span = wait_for(lambda: [s for s in receiver.spans() if s["service"] == "traced-mcp-server"
                                          and s["trace_id"] == server["trace_id"]], what="the MCP server's own span")[0]
        assert upstream_span["name"] == "tools/call trace_context"
        assert upstream_span["parent_span_id"] == server["span_id"]
        # A stdio call is a client span of its own (the plugin's, through trace_span_start), carried
        # in `_meta` only, and the stdio server's SDK continues it too.
        spans, local_server = wait_for(lambda: spans_of("local_trace_context"), what="the stdio call's span")
        leg = [s for s in spans if s["trace_id"] == local_server["trace_id"] and s["kind"] == "SPAN_KIND_CLIENT"]
        assert len(leg) == 1 and leg[0]["parent_span_id"] == local_server["span_id"] and leg[0]["name"] == "tools/call local (stdio)", leg
        assert local["header"] is None and local["meta"] == f"00-{local_server['trace_id']}-{leg[0]['span_id']}-01"
        wait_for(lambda: [s for s in receiver.spans() if s["service"] == "traced-mcp-server"
                          and s["parent_span_id"] == leg[0]["span_id"]], what="the stdio server's span")

        # A client's traceparent is continued: in the HTTP header, or in `_meta` (SEP-414).
        session, _ = initialize(gw.url + "/mcp")
        call = {"jsonrpc": "2.0", "id": 7, "method": "tools/call", "params": {"name": "remote_trace_context", "arguments": {}}}
        parent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
        assert post(gw.url + "/mcp", call, session=session, headers={"traceparent": parent}).status == 200
        meta_call = {**call, "id": 8, "params": {**call["params"], "_meta": {"traceparent": "00-1bf7651916cd43dd8448eb211c80319c-c7ad6b7169203331-01"}}}
        assert post(gw.url + "/mcp", meta_call, session=session).status == 200
        continued = wait_for(lambda: {s["trace_id"]: s for s in receiver.spans() if s["service"] == "gw-under-test"
                                      and s["kind"] == "SPAN_KIND_SERVER" and s["trace_id"][:2] in ("0a", "1b")} or None,
                             what="continued spans")
        wait_for(lambda: len([s for s in receiver.spans() if s["service"] == "gw-under-test" and s["kind"] == "SPAN_KIND_SERVER"
                              and s["trace_id"] in ("0af7651916cd43dd8448eb211c80319c", "1bf7651916cd43dd8448eb211c80319c")]) == 2,
                 what="both continued")
        spans = receiver.spans()
        by_trace = {s["trace_id"]: s for s in spans if s["service"] == "gw-under-test" and s["kind"] == "SPAN_KIND_SERVER"}
        assert by_trace["0af7651916cd43dd8448eb211c80319c"]["parent_span_id"] == "b7ad6b7169203331"
        assert by_trace["1bf7651916cd43dd8448eb211c80319c"]["parent_span_id"] == "c7ad6b7169203331"
        assert continued
        # A client that says "not sampled" gets no span, and its context goes on unchanged.
        unsampled = "00-2cf7651916cd43dd8448eb211c80319c-d7ad6b7169203331-00"
        answer = post(gw.url + "/mcp", {**call, "id": 9}, session=session, headers={"traceparent": unsampled})
        echoed = json.loads(answer.json()["result"]["content"][0]["text"])
        assert echoed == {"header": unsampled, "meta": unsampled}
        # A proxied request is one server span with the upstream call as its child.
        assert request(gw.url + "/proxied", headers={"traceparent": "00-3df7651916cd43dd8448eb211c80319c-e7ad6b7169203331-01"}).status == 200
        proxied = wait_for(lambda: [s for s in receiver.spans() if s["trace_id"] == "3df7651916cd43dd8448eb211c80319c"
                                    and s["kind"] == "SPAN_KIND_CLIENT"], what="the proxy's client span")
        assert proxied[0]["attributes"]["http.response.status_code"] == 200
        assert not [s for s in receiver.spans() if s["trace_id"] == "2cf7651916cd43dd8448eb211c80319c"]
        admin = gw.address("admin")
        assert sample(scrape(admin)[0], "agw_tracing_spans_exported_total") >= 8
    finally:
        if upstream:
            upstream.stop()
        receiver.stop()


def test_spans_go_over_otlp_grpc_too_with_the_configured_headers(gateway, backend, tmp_path):
    receiver = Receiver(tmp_path, grpc=True)
    try:
        gw = gateway(config(backend, free_port(), stdio_target("local"), extra=f"""
            [tracing]
            endpoint = "{receiver.endpoint}"
            protocol = "grpc"
            batch_delay_ms = 100
            headers = {{ "x-collector-key" = "k-123" }}
            """))
        assert request(gw.url + "/over-grpc", headers={"traceparent": "00-4af7651916cd43dd8448eb211c80319c-f7ad6b7169203331-01"}).status == 200
        spans = wait_for(lambda: [s for s in receiver.spans() if s["trace_id"] == "4af7651916cd43dd8448eb211c80319c"
                                  and s["kind"] == "SPAN_KIND_SERVER"], what="a span over gRPC")
        assert spans[0]["headers"] == {"x-collector-key": "k-123", "transport": "grpc"}
        assert spans[0]["parent_span_id"] == "f7ad6b7169203331" and spans[0]["attributes"]["url.path"] == "/over-grpc"
    finally:
        receiver.stop()


def test_a_dead_collector_never_fails_a_request_and_its_losses_are_counted(gateway, backend, tmp_path):
    gw = gateway(config(backend, free_port(), stdio_target("local"), extra=f"""
        [tracing]
        endpoint = "http://127.0.0.1:{refused_port()}/v1/traces"
        batch_delay_ms = 100
        export_timeout_ms = 500
        """))
    for n in range(20):
        assert request(gw.url + f"/r{n}").status == 200
    admin = gw.address("admin")
    wait_for(lambda: sample(scrape(admin)[0], "agw_tracing_spans_dropped_total", reason="export_failed") >= 20, timeout=30,
             what="lost spans counted")
    assert request(gw.url + "/after").status == 200


def test_access_log_lines_have_the_fields_and_never_a_credential(gateway, backend, tmp_path, signers):
    log_path = tmp_path / "access.log"
    key = "sk-live-0123456789abcdef"
    token = signers["rsa"].token("alice", tenant="blue")
    auth = f"""
    [[routes.filters]]
    plugin = "jwt_auth"
    [routes.filters.config]
    {jwks_file(tmp_path, signers)}
    issuer = "{ISSUER}"
    audiences = ["{AUDIENCE}"]
    [[routes.filters.config.api_keys]]
    name = "ci"
    sha256 = "{hashlib.sha256(key.encode()).hexdigest()}"
    """
    gw = gateway(config(backend, free_port(), stdio_target("local"), extra=f"""
        [access_log]
        path = "{log_path}"
        exclude = ["user_agent"]
        """, mcp_filters=auth + RBAC_NO_PID + """
        [[routes.filters]]
        plugin = "annotate"
        [routes.filters.config.fields]
        "caller.tenant" = "jwt.tenant"
        "tool.where" = "mcp.tool.name + '@' + mcp.tool.target"
        """, mcp_log="""
        [routes.access_log]
        include = ["mcp.request.arguments"]
        """), extra_args=("--log-level", "trace"))
    wait_for(lambda: "is ready" in gw.log(), timeout=20, what="target ready")
    url = gw.url + "/mcp"
    session, _ = initialize_with(url, bearer(token))
    call = {"jsonrpc": "2.0", "id": 3, "method": "tools/call", "params": {"name": "add", "arguments": {"a": 40, "b": 2}}}
    assert post(url, call, session=session, headers=bearer(token)).json()["result"]["content"][0]["text"] == "42"
    denied = post(url, {**call, "id": 4, "params": {"name": "pid", "arguments": {}}}, session=session, headers=bearer(token))
    assert denied.json()["error"]["code"] == -32602
    key_session, _ = initialize_with(url, {"x-api-key": key})
    assert post(url, {**call, "id": 5}, session=key_session, headers={"x-api-key": key}).status == 200
    assert post(url, call, session=session, headers=bearer("not-a-token")).status == 401
    assert request(gw.url + f"/search?api_key={key}&q=1").status == 200

    lines = wait_for(lambda: (lambda l: l if len(l) >= 7 else None)(access_lines(log_path)), what="access-log lines")
    calls = {line.get("jsonrpc.request.id"): line for line in lines if line.get("mcp.method.name") == "tools/call"}
    ok = calls["3"]
    assert ok["route"] == "mcp" and ok["listener"] == "main" and ok["method"] == "POST" and ok["path"] == "/mcp"
    assert ok["status"] == 200 and ok["protocol"] == "HTTP/1.1" and ok["peer"].startswith("127.0.0.1:")
    assert ok["subject"] == "alice" and ok["auth_method"] == "jwt"
    assert ok["gen_ai.tool.name"] == "add" and ok["agw.mcp.target"] == "local" and ok["mcp.session.id"] == session
    assert ok["agw.mcp.outcome"] == "ok" and ok["request_bytes"] == len(json.dumps(call)) and ok["response_bytes"] > 0
    assert json.loads(ok["mcp.request.arguments"]) == {"a": 40, "b": 2}  # the route opted in
    assert ok["caller.tenant"] == "blue" and ok["tool.where"] == "add@local"  # the annotate filter's CEL fields
    assert isinstance(ok["duration_ms"], float) and ok["time"].endswith("Z") and int(ok["request_id"], 16) > 0
    assert "user_agent" not in ok and "trace_id" not in ok  # excluded; no tracing configured
    assert calls["4"]["agw.mcp.outcome"] == "rejected" and calls["4"]["decided_by"] == "mcp/rbac#1"
    assert calls["4"]["rpc.response.status_code"] == "-32602"
    assert calls["5"]["auth_method"] == "api_key" and calls["5"]["subject"] == "ci"
    refused = [line for line in lines if line["status"] == 401]
    assert refused and refused[0].get("decided_by") == "mcp/jwt_auth#0", refused
    search = [line for line in lines if line["route"] == "api"][0]
    assert search["path"] == "/search" and "query" not in search and search["upstream"].startswith("http://")
    # No credential in any line the gateway wrote: access log, or its own log at trace level.
    everything = log_path.read_text() + gw.log()
    for secret in [key, token, token.split(".")[2], "not-a-token"]:
        assert secret not in everything, secret

    # logrotate: move the file, SIGUSR1, and the next line goes to a new file at the path.
    log_path.rename(tmp_path / "access.log.1")
    gw.process.proc.send_signal(signal.SIGUSR1)
    wait_for(lambda: "access log reopened" in gw.log(), what="reopen")
    assert request(gw.url + "/after-rotate").status == 200
    wait_for(lambda: [line for line in access_lines(log_path) if line["path"] == "/after-rotate"], what="a line in the new file")
    assert not [line for line in access_lines(tmp_path / "access.log.1") if line["path"] == "/after-rotate"]


def initialize_with(url, headers):
    body = {"jsonrpc": "2.0", "id": 1, "method": "initialize",
            "params": {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}}
    resp = request(url, "POST", {**ACCEPT, **headers}, json.dumps(body))
    assert resp.status == 200, resp.text
    return resp.headers["mcp-session-id"], resp.json()


def test_json_logs_carry_the_request_and_trace_ids_and_sampling_and_off_switches_work(gateway, backend, tmp_path):
    log_path = tmp_path / "access.log"
    receiver = Receiver(tmp_path)
    try:
        gw = gateway(config(backend, free_port(), stdio_target("local"), extra=f"""
            [access_log]
            path = "{log_path}"
            [tracing]
            endpoint = "{receiver.endpoint}"
            batch_delay_ms = 100
            """, mcp_log="""
            [routes.access_log]
            enabled = false
            """), extra_args=("--log-format", "json"))
        wait_for(lambda: "is ready" in gw.log(), timeout=20, what="target ready")
        assert request(gw.url + "/dead/x").status == 502
        session, _ = initialize(gw.url + "/mcp")  # a route whose log is off
        lines = [json.loads(line) for line in gw.log().splitlines() if line.strip()]
        assert all({"time", "level", "logger", "message"} <= set(line) for line in lines)
        failed = [line for line in lines if line["message"] == "upstream failed"]
        assert failed and failed[0]["route"] == "dead" and failed[0]["request_id"] and len(failed[0]["trace_id"]) == 32
        logged = wait_for(lambda: access_lines(log_path) or None, what="the access-log line")
        assert [line["route"] for line in logged] == ["dead"]
        assert logged[0]["trace_id"] == failed[0]["trace_id"] and logged[0]["request_id"] == failed[0]["request_id"]
        assert logged[0]["upstream"].startswith("http://127.0.0.1:") and logged[0]["status"] == 502
    finally:
        receiver.stop()
