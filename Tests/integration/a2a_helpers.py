"""What the A2A integration tests share: the demo agent (examples/a2a-agent/agent.py, written with
the official a2a-sdk) on a free port, gateway configs with an A2A route, tokens, and official
a2a-sdk clients that record every URL they call."""
import asyncio
import os
import sys

import httpx
import jwt
from a2a.client import ClientConfig, ClientFactory
from a2a.helpers import get_message_text, new_text_message
from a2a.types import Role, SendMessageRequest

from conftest import BUILD, ROOT, Process, free_port, wait_for

AGENT = ROOT / "examples" / "a2a-agent" / "agent.py"
SECRET = "a2a-tests-secret-that-is-at-least-32-bytes-long"


class Agent:
    """A running demo agent; `requests()` is its access log ("METHOD PATH" lines)."""

    def __init__(self, tmp_path, name, v03=False):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = tmp_path / f"{name}-access.log"
        args = [sys.executable, str(AGENT), name, str(self.port), "--log", str(self.log)] + (["--v03-card"] if v03 else [])
        self.process = Process(args, tmp_path / f"{name}.log", env=dict(os.environ))
        wait_for(lambda: f"agent {name} on" in self.process.output(), timeout=30, what=f"agent {name}")

    def requests(self):
        return self.log.read_text().splitlines() if self.log.exists() else []

    def stop(self):
        self.process.stop()


def a2a_route(agents, options="", filters="", plugins=""):
    """A gateway config: one listener, the a2a plugin (and any others), route /agents."""
    agent_tables = "".join(f"""
    [[routes.handler.config.agents]]
    name = "{name}"
    url = "{url}"
    {extra}
    """ for name, url, extra in agents)
    return f"""
    [[listeners]]
    name = "main"
    address = "127.0.0.1:0"
    [plugins.a2a]
    path = "{BUILD / 'liba2a.so'}"
    {plugins}
    [[routes]]
    name = "agents"
    [routes.match]
    path_prefix = "/agents"
    {filters}
    [routes.handler]
    plugin = "a2a"
    [routes.handler.config]
    {options}
    {agent_tables}
    """


def security_plugins():
    return "\n".join(f'[plugins.{name}]\npath = "{BUILD / f"lib{name}.so"}"' for name in ["jwt_auth", "rbac"])


def token(subject, *groups):
    return jwt.encode({"sub": subject, "groups": list(groups), "exp": 4102444800}, SECRET, algorithm="HS256")


def run(coroutine, timeout=60):
    return asyncio.run(asyncio.wait_for(coroutine, timeout))


async def connect(card_base, binding="JSONRPC", streaming=True, bearer=None):
    """An official client for the agent whose card is at `{card_base}/.well-known/agent-card.json`;
    returns it and the list of URLs it calls (filled as it goes)."""
    seen = []

    async def record(request):
        seen.append(str(request.url))

    headers = {"authorization": f"Bearer {bearer}"} if bearer else {}
    http = httpx.AsyncClient(event_hooks={"request": [record]}, timeout=30, headers=headers)
    factory = ClientFactory(ClientConfig(httpx_client=http, supported_protocol_bindings=[binding], streaming=streaming))
    client = await factory.create_from_url(card_base)
    return client, seen, http


async def send_text(client, text):
    """Sends one message; returns the stream of StreamResponse events the client yields."""
    events = []
    async for event in client.send_message(SendMessageRequest(message=new_text_message(text, role=Role.ROLE_USER))):
        events.append(event)
    return events


def texts(events):
    """Every text a list of client events carries, in order: messages, status messages, artifacts."""
    out = []
    for event in events:
        if event.HasField("message"):
            out.append(get_message_text(event.message))
        elif event.HasField("status_update") and event.status_update.status.HasField("message"):
            out.append(get_message_text(event.status_update.status.message))
        elif event.HasField("artifact_update"):
            out += [part.text for part in event.artifact_update.artifact.parts]
        elif event.HasField("task"):
            out += [part.text for artifact in event.task.artifacts for part in artifact.parts]
    return out
