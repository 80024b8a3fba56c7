"""What the MCP integration tests share: the official-SDK upstream server (Tests/Fixtures/mcp/
upstream_server.py) on each transport, gateway configs with an MCP route, and raw JSON-RPC POSTs."""
import asyncio
import json
import os
import sys

from conftest import BUILD, ROOT, Process, free_port, request, wait_for

UPSTREAM = ROOT / "Tests" / "Fixtures" / "mcp" / "upstream_server.py"
ACCEPT = {"content-type": "application/json", "accept": "application/json, text/event-stream"}


def serve(tmp_path, name, transport):
    """Starts upstream_server.py over sse or http on a free port; returns (process, url)."""
    port = free_port()
    proc = Process([sys.executable, str(UPSTREAM), name, transport, str(port)], tmp_path / f"{name}.log",
                   env={**os.environ, "MCP_UPSTREAM_EVENTS": str(tmp_path / "events.txt")})
    wait_for(lambda: "Uvicorn running" in proc.output(), timeout=20, what=f"{name} upstream")
    return proc, f"http://127.0.0.1:{port}" + ("/sse" if transport == "sse" else "/mcp")


def stdio_target(name, extra=""):
    return f"""
    [[routes.handler.config.targets]]
    name = "{name}"
    type = "stdio"
    command = "{sys.executable}"
    args = ["{UPSTREAM}", "{name}", "stdio"]
    {extra}
    """


def url_target(name, transport, url, extra=""):
    return f"""
    [[routes.handler.config.targets]]
    name = "{name}"
    type = "{transport}"
    url = "{url}"
    {extra}
    """


def mcp_route(targets, options="", filters=""):
    return f"""
    [[listeners]]
    name = "main"
    address = "127.0.0.1:0"
    [plugins.mcp]
    [plugins.tf]
    path = "{BUILD / 'libtest_filters.so'}"
    [[routes]]
    name = "mcp"
    [routes.match]
    path_prefix = "/mcp"
    {filters}
    [routes.handler]
    plugin = "mcp"
    [routes.handler.config]
    {options}
    {targets}
    """


def run(coroutine, timeout=60):
    return asyncio.run(asyncio.wait_for(coroutine, timeout))


def initialize(url, version="2025-11-25"):
    body = {"jsonrpc": "2.0", "id": 1, "method": "initialize",
            "params": {"protocolVersion": version, "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}}
    resp = request(url, "POST", ACCEPT, json.dumps(body))
    assert resp.status == 200, resp.text
    return resp.headers["mcp-session-id"], resp.json()


def post(url, message, session=None, headers=None, timeout=10):
    all_headers = {**ACCEPT, **({"mcp-session-id": session} if session else {}), **(headers or {})}
    return request(url, "POST", all_headers, json.dumps(message) if not isinstance(message, str) else message, timeout=timeout)
