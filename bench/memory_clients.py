"""Opens and holds connections for bench/memory.sh, then waits for a line on stdin before closing
them. Modes:
  idle N      N keep-alive connections, each after one answered GET (then silent)
  sessions N  N MCP sessions (initialize, notifications/initialized), each holding its GET /mcp
              SSE stream open
Prints "ready N" once all are open (N: how many succeeded), then "closed" after stdin's line.
Usage: memory_clients.py PORT MODE N"""
import asyncio
import json
import sys

PORT, MODE, COUNT = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
held = []


async def read_head(reader):
    head = await reader.readuntil(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":")[1])
    if b"transfer-encoding: chunked" in head.lower():
        body = await reader.readuntil(b"\r\n0\r\n\r\n")
    else:
        body = await reader.readexactly(length) if length else b""
    return head, body


async def idle(limit):
    async with limit:
        reader, writer = await asyncio.open_connection("127.0.0.1", PORT)
        writer.write(b"GET /health HTTP/1.1\r\nHost: memory\r\n\r\n")
        head, _ = await read_head(reader)
        assert head.startswith(b"HTTP/1.1 "), head
        held.append(writer)


def post(body, session=None):
    data = json.dumps(body).encode()
    extra = b"mcp-session-id: %s\r\n" % session if session else b""
    return (b"POST /mcp HTTP/1.1\r\nHost: memory\r\ncontent-type: application/json\r\n"
            b"accept: application/json, text/event-stream\r\nmcp-protocol-version: 2025-11-25\r\n"
            + extra + b"content-length: %d\r\n\r\n" % len(data) + data)


async def session(limit):
    async with limit:
        reader, writer = await asyncio.open_connection("127.0.0.1", PORT)
        writer.write(post({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
            "protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "memory", "version": "1"}}}))
        head, _ = await read_head(reader)
        session_id = next(line.split(b":", 1)[1].strip() for line in head.split(b"\r\n") if line.lower().startswith(b"mcp-session-id:"))
        writer.write(post({"jsonrpc": "2.0", "method": "notifications/initialized"}, session_id))
        head, _ = await read_head(reader)
        assert head.startswith(b"HTTP/1.1 202"), head
        stream_reader, stream_writer = await asyncio.open_connection("127.0.0.1", PORT)
        stream_writer.write(b"GET /mcp HTTP/1.1\r\nHost: memory\r\naccept: text/event-stream\r\nmcp-protocol-version: 2025-11-25\r\n"
                            b"mcp-session-id: %s\r\n\r\n" % session_id)
        head = await stream_reader.readuntil(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 200") and b"text/event-stream" in head, head
        writer.close()
        held.append(stream_writer)


async def main():
    limit = asyncio.Semaphore(200)
    work = idle if MODE == "idle" else session
    results = await asyncio.gather(*(work(limit) for _ in range(COUNT)), return_exceptions=True)
    failures = [r for r in results if isinstance(r, BaseException)]
    print(f"ready {len(held)}" + (f" (failed: {len(failures)}, e.g. {failures[0]!r})" if failures else ""), flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
    for writer in held:
        writer.close()
    print("closed", flush=True)


asyncio.run(main())
