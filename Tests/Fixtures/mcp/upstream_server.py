"""An MCP server built with the official Python SDK (mcp 2.x, `MCPServer`), used as an upstream of
the gateway in the integration tests. Usage: upstream_server.py NAME stdio|sse|http [PORT]

Every server has the same `add` tool (so names collide across targets), plus tools that report
progress, ask the client for input (elicitation), sleep (timeouts, cancellation) and say which
server answered. If MCP_UPSTREAM_EVENTS names a file, cancellations are appended to it."""
import asyncio
import os
import sys
from typing import Annotated

from pydantic import BaseModel

from mcp.server.mcpserver import Context, MCPServer, Resolve
from mcp.server.mcpserver.resolve import Elicit, ListRoots, Sample
from mcp.types import Completion, CreateMessageResult, ListRootsResult, SamplingMessage, TextContent

NAME = sys.argv[1]
TRANSPORT = sys.argv[2]
EVENTS = os.environ.get("MCP_UPSTREAM_EVENTS")

server = MCPServer(NAME, instructions=f"The {NAME} test server.")


def record(event):
    if EVENTS:
        with open(EVENTS, "a") as f:
            f.write(f"{NAME} {event}\n")


@server.tool()
def add(a: int, b: int) -> str:
    """Adds two integers."""
    return str(a + b)


@server.tool()
def whoami() -> str:
    """Names the server that answered."""
    return NAME


@server.tool()
def pid() -> str:
    """The server's process id (tests kill it)."""
    return str(os.getpid())


@server.tool()
def session_tag(ctx: Context) -> str:
    """Identifies the MCP session the call arrived on (one per client connection)."""
    request = ctx.request_context.request
    headers = getattr(request, "headers", None) or {}
    query = getattr(request, "query_params", None) or {}
    return str(headers.get("mcp-session-id") or query.get("session_id") or "none")


@server.tool()
def header(name: str, ctx: Context) -> str:
    """The value of one HTTP request header as this server received it ("" if absent)."""
    return (ctx.headers or {}).get(name, "")


@server.tool()
async def count(n: int, ctx: Context) -> str:
    """Counts to n, reporting progress."""
    for i in range(1, n + 1):
        await ctx.report_progress(i, n)
        await asyncio.sleep(0.02)
    return f"{NAME} counted to {n}"


class Name(BaseModel):
    name: str


def ask_for_name() -> Elicit[Name]:
    return Elicit("What is your name?", Name)


@server.tool()
async def ask_name(name: Annotated[Name, Resolve(ask_for_name)]) -> str:
    """Asks the client for a name (elicitation: mid-call in the handshake era, an
    InputRequiredResult and a retry in 2026-07-28)."""
    return f"hello {name.name} from {NAME}"


async def ask_for_name_later(delay: float, tag: str) -> Elicit[Name]:
    await asyncio.sleep(delay)
    return Elicit(f"What is your name, {tag}?", Name)


@server.tool()
async def ask_later(delay: float, tag: str, name: Annotated[Name, Resolve(ask_for_name_later)]) -> str:
    """After `delay` seconds asks the client for a name, in a question that carries `tag`."""
    return f"hello {name.name} from {NAME} for {tag}"


async def sample_for_later(delay: float, tag: str) -> Sample:
    await asyncio.sleep(delay)
    return Sample([SamplingMessage(role="user", content=TextContent(type="text", text=f"complete for {tag}"))], max_tokens=16)


@server.tool()
async def generate_later(delay: float, tag: str, sampled: Annotated[CreateMessageResult, Resolve(sample_for_later)]) -> str:
    """After `delay` seconds asks the client's model to complete a prompt that carries `tag`."""
    return f"{tag} sampled: {sampled.content.text}"


async def roots_after(delay: float) -> ListRoots:
    await asyncio.sleep(delay)
    return ListRoots()


@server.tool()
async def roots_later(delay: float, tag: str, roots: Annotated[ListRootsResult, Resolve(roots_after)]) -> str:
    """After `delay` seconds asks the client for its roots."""
    return f"{tag} roots: " + ",".join(str(root.uri) for root in roots.roots)


@server.tool()
async def sleep(seconds: float) -> str:
    """Sleeps, then answers (for timeouts and cancellation)."""
    record("sleeping")
    try:
        await asyncio.sleep(seconds)
    except BaseException:
        record("cancelled")
        raise
    return "slept"


@server.tool()
async def grow(ctx: Context) -> str:
    """Adds a tool `extra` and tells the client that the list changed."""
    server.add_tool(lambda: "extra", name="extra", description="Added at run time.")
    await ctx.session.send_tool_list_changed()
    return "grown"


@server.prompt()
def greet(name: str) -> str:
    """A greeting prompt."""
    return f"{NAME} greets {name}"


@server.completion()
async def complete(ref, argument, context):
    """Completes the greet prompt's name with names that say which server answered."""
    return Completion(values=[f"{argument.value}-{NAME}"])


@server.resource(f"{NAME}://info")
def info() -> str:
    """Says which server this is."""
    return f"info from {NAME}"


if TRANSPORT == "stdio":
    server.run("stdio")
elif TRANSPORT == "sse":
    server.run("sse", host="127.0.0.1", port=int(sys.argv[3]))
else:
    server.run("streamable-http", host="127.0.0.1", port=int(sys.argv[3]))
