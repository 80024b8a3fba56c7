"""What goes wrong between an A2A client, the gateway and an agent, and what each side gets: an
agent that is down, one that does not answer in time, one that answers with something that is
not A2A, malformed requests, unknown agents, oversized bodies. The gateway keeps serving."""
import http.server
import json
import threading
import time

import httpx
import pytest

from a2a_helpers import Agent, a2a_route
from conftest import refused_port, request


class MuteAgent:
    """Serves a 1.0 card; POSTs either hang (`mode = "hang"`) or get an HTML page (`"html"`)."""

    def __init__(self, mode):
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                card = {"name": "mute", "description": "d", "version": "1", "capabilities": {}, "skills": [],
                        "supportedInterfaces": [{"url": outer.url + "/", "protocolBinding": "JSONRPC", "protocolVersion": "1.0"},
                                                {"url": outer.url + "/rest", "protocolBinding": "HTTP+JSON", "protocolVersion": "1.0"}]}
                body = json.dumps(card).encode()
                self.send_response(200)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_POST(self):
                self.rfile.read(int(self.headers.get("content-length", 0)))
                if mode == "hang":
                    time.sleep(5)
                    return
                body = b"<html><body>Welcome to nginx!</body></html>"
                self.send_response(200)
                self.send_header("content-type", "text/html")
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self):
        self.server.shutdown()


@pytest.fixture
def mute():
    agents = {"hang": MuteAgent("hang"), "html": MuteAgent("html")}
    yield agents
    for agent in agents.values():
        agent.stop()


def send(gw, agent, body, path="jsonrpc", **kwargs):
    return httpx.post(f"{gw.url}/agents/{agent}/{path}", content=body if isinstance(body, (bytes, str)) else json.dumps(body),
                      headers={"content-type": "application/json", "a2a-version": "1.0"}, timeout=30, **kwargs)


MESSAGE = {"jsonrpc": "2.0", "id": 7, "method": "SendMessage",
           "params": {"message": {"messageId": "m", "role": "ROLE_USER", "parts": [{"text": "hi"}]}}}


def test_agents_that_are_down_slow_or_not_a2a_get_clear_errors(gateway, tmp_path, mute):
    down = f"http://127.0.0.1:{refused_port()}"
    travel = Agent(tmp_path, "travel")
    try:
        gw = gateway(a2a_route([("down", down, ""), ("hang", mute["hang"].url, "timeout_ms = 500"), ("html", mute["html"].url, ""),
                                ("travel", travel.url, "")],
                               options="request_timeout_ms = 5000") + """
    [limits]
    max_request_body_bytes = 4096
    """)
        card = request(f"{gw.url}/agents/down/.well-known/agent-card.json")
        assert card.status == 502 and "A2A agent 'down' is unavailable" in card.text
        unreachable = send(gw, "down", MESSAGE).json()
        assert unreachable["id"] == 7 and unreachable["error"]["code"] == -32603
        assert "A2A agent 'down' is unavailable" in unreachable["error"]["message"]
        rest_down = httpx.post(f"{gw.url}/agents/down/rest/message:send", json=MESSAGE["params"], headers={"a2a-version": "1.0"})
        assert rest_down.status_code == 502 and rest_down.json()["error"]["status"] == "UNAVAILABLE"

        started = time.monotonic()
        slow = send(gw, "hang", MESSAGE).json()
        assert slow["error"]["code"] == -32603 and "timeout" in slow["error"]["message"], slow
        assert time.monotonic() - started < 4
        rest_slow = httpx.post(f"{gw.url}/agents/hang/rest/message:send", json=MESSAGE["params"], headers={"a2a-version": "1.0"}, timeout=30)
        assert rest_slow.status_code == 504 and "timeout" in rest_slow.json()["error"]["message"]

        html = send(gw, "html", MESSAGE)
        assert html.status_code == 502 and "not A2A" in html.json()["error"]["message"]

        broken = send(gw, "travel", '{"jsonrpc":"2.0","id":1,"method":')
        assert broken.json()["error"]["code"] == -32700
        batch = send(gw, "travel", '[{"jsonrpc":"2.0","id":1,"method":"GetTask","params":{"id":"x"}}]')
        assert batch.json()["error"]["code"] == -32600
        unknown_method = send(gw, "travel", {"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {}})
        assert unknown_method.json()["error"]["code"] == -32601
        assert send(gw, "nobody", MESSAGE).status_code == 404
        assert request(f"{gw.url}/agents/nobody/.well-known/agent-card.json").status == 404
        huge = send(gw, "travel", {**MESSAGE, "params": {"message": {**MESSAGE["params"]["message"], "parts": [{"text": "x" * 10000}]}}})
        assert huge.status_code == 413
        # After all that, the gateway serves the healthy agent as before.
        assert send(gw, "travel", MESSAGE).json()["result"]["message"]["parts"][0]["text"] == "travel: hi"
    finally:
        travel.stop()
