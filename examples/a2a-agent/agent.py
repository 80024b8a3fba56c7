"""A demo A2A agent written with the official a2a-sdk (1.x): the example config's agent, and the
agent of the gateway's A2A tests.

    python agent.py NAME PORT [--log FILE] [--v03-card]

Serves its card at /.well-known/agent-card.json (a 1.0 card, or with --v03-card the 0.3 form an
older agent serves), JSON-RPC at /, and HTTP+JSON (REST) at /rest, both with the v0.3
compatibility layer; push notification configs are kept in memory. Skills:
  - echo: answers with the message's text, at once (a Message).
  - count: a task that streams "1".."N" (N from the text, default 3) as status updates, one every
    0.3 s, then an artifact "counted to N" and completes.
  - slow: a task that works for 30 s unless cancelled.
Every request the agent serves is appended to --log as "METHOD PATH" (the tests check that a
client behind the gateway never reached the agent by itself)."""
import argparse
import asyncio
import sys

import uvicorn
from starlette.applications import Starlette
from starlette.middleware.base import BaseHTTPMiddleware

from a2a.helpers import new_task_from_user_message, new_text_artifact, new_text_message, get_message_text
from a2a.server.agent_execution import AgentExecutor, RequestContext
from a2a.server.events import EventQueue
from a2a.server.request_handlers import DefaultRequestHandler
from a2a.server.routes import create_agent_card_routes, create_jsonrpc_routes, create_rest_routes
from a2a.server.tasks import InMemoryPushNotificationConfigStore, InMemoryTaskStore, TaskUpdater
from starlette.responses import JSONResponse
from starlette.routing import Route
from a2a.types import AgentCapabilities, AgentCard, AgentInterface, AgentSkill, Role, TaskState


class Executor(AgentExecutor):
    async def execute(self, context: RequestContext, event_queue: EventQueue) -> None:
        text = get_message_text(context.message) if context.message else ""
        metadata = context.message.metadata if context.message else None
        skill = metadata["skill"] if metadata is not None and "skill" in metadata else None
        words = text.split()
        command = skill or (words[0] if words else "echo")
        if command == "echo" or command not in ("count", "slow"):
            await event_queue.enqueue_event(new_text_message(f"{NAME}: {text}", role=Role.ROLE_AGENT,
                                                              context_id=context.context_id))
            return
        task = context.current_task or new_task_from_user_message(context.message)
        await event_queue.enqueue_event(task)
        updater = TaskUpdater(event_queue, task.id, task.context_id)
        await updater.start_work()
        if command == "count":
            n = next((int(w) for w in words if w.isdigit()), 3)
            for i in range(1, n + 1):
                await asyncio.sleep(0.3)
                await updater.update_status(TaskState.TASK_STATE_WORKING,
                                            message=updater.new_agent_message([new_text_message(str(i)).parts[0]]))
            await updater.add_artifact(new_text_artifact("result", f"{NAME} counted to {n}").parts)
            await updater.complete()
        else:
            await asyncio.sleep(30)
            await updater.complete()

    async def cancel(self, context: RequestContext, event_queue: EventQueue) -> None:
        updater = TaskUpdater(event_queue, context.task_id, context.context_id)
        await updater.cancel()


class AccessLog(BaseHTTPMiddleware):
    async def dispatch(self, request, call_next):
        if LOG:
            with open(LOG, "a") as f:
                f.write(f"{request.method} {request.url.path}\n")
        return await call_next(request)


parser = argparse.ArgumentParser()
parser.add_argument("name")
parser.add_argument("port", type=int)
parser.add_argument("--log")
parser.add_argument("--v03-card", action="store_true")
args = parser.parse_args()
NAME, LOG = args.name, args.log
base = f"http://127.0.0.1:{args.port}"
card = AgentCard(
    name=NAME, description=f"The {NAME} test agent.", version="1.0.0",
    supported_interfaces=[AgentInterface(url=base + "/", protocol_binding="JSONRPC", protocol_version="1.0"),
                          AgentInterface(url=base + "/rest", protocol_binding="HTTP+JSON", protocol_version="1.0")],
    capabilities=AgentCapabilities(streaming=True, push_notifications=True),
    default_input_modes=["text/plain"], default_output_modes=["text/plain"],
    skills=[AgentSkill(id="echo", name="Echo", description="Echoes the message.", tags=["test"], examples=["hello"]),
            AgentSkill(id="count", name="Count", description="Counts to N, one status update at a time.", tags=["test"],
                       examples=["count 5"]),
            AgentSkill(id="slow", name="Slow", description="Works for 30 s unless cancelled.", tags=["test"])],
)
handler = DefaultRequestHandler(agent_executor=Executor(), task_store=InMemoryTaskStore(), agent_card=card,
                                push_config_store=InMemoryPushNotificationConfigStore())


def v03_card(request):
    skills = [{"id": skill.id, "name": skill.name, "description": skill.description, "tags": list(skill.tags)}
              for skill in card.skills]
    return JSONResponse({
        "name": NAME, "description": card.description, "version": "1.0.0", "protocolVersion": "0.3.0",
        "url": base + "/", "preferredTransport": "JSONRPC",
        "additionalInterfaces": [{"url": base + "/", "transport": "JSONRPC"}, {"url": base + "/rest", "transport": "HTTP+JSON"}],
        "capabilities": {"streaming": True, "pushNotifications": True},
        "defaultInputModes": ["text/plain"], "defaultOutputModes": ["text/plain"], "skills": skills,
    })


card_routes = ([Route("/.well-known/agent-card.json", v03_card)] if args.v03_card
               else create_agent_card_routes(card, cache_control="max-age=60"))
routes = (card_routes
          + create_jsonrpc_routes(handler, "/", enable_v0_3_compat=True)
          + create_rest_routes(handler, enable_v0_3_compat=True, path_prefix="/rest"))
app = Starlette(routes=routes)
app.add_middleware(AccessLog)
print(f"agent {NAME} on {base}", file=sys.stderr, flush=True)
uvicorn.run(app, host="127.0.0.1", port=args.port, log_level="warning")
