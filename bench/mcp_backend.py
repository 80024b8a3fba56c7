"""A minimal, fast Streamable HTTP MCP server for benchmarks (stdlib asyncio, no framework): it
answers initialize, tools/list (TOOLS tools) and tools/call (the `echo` tool returns `size` bytes
of text) with JSON, notifications with 202. Usage: mcp_backend.py PORT [TOOLS]"""
import json
import sys

import http_backend

PORT = int(sys.argv[1])
TOOL_COUNT = int(sys.argv[2]) if len(sys.argv) > 2 else 20
TOOLS = [{"name": f"tool{i}" if i else "echo", "description": f"Benchmark tool {i}.",
          "inputSchema": {"type": "object", "properties": {"size": {"type": "integer"}}}} for i in range(TOOL_COUNT)]
INIT = {"protocolVersion": "2025-11-25", "capabilities": {"tools": {}}, "serverInfo": {"name": "bench", "version": "1"}}
LIST = json.dumps({"tools": TOOLS})
PAYLOADS = {}


def answer(message):
    method = message.get("method")
    if "id" not in message or method is None:
        return None
    if method == "initialize":
        result = json.dumps(INIT)
    elif method == "tools/list":
        result = LIST
    elif method == "tools/call":
        size = int(message.get("params", {}).get("arguments", {}).get("size", 16))
        if size not in PAYLOADS:
            PAYLOADS[size] = json.dumps({"content": [{"type": "text", "text": "x" * size}], "isError": False})
        result = PAYLOADS[size]
    else:
        return '{"jsonrpc":"2.0","id":%s,"error":{"code":-32601,"message":"Method not found"}}' % json.dumps(message["id"])
    return '{"jsonrpc":"2.0","id":%s,"result":%s}' % (json.dumps(message["id"]), result)


class Connection(http_backend.Connection):
    def request(self, method, target, head, body):
        reply = answer(json.loads(body)) if body else None
        if reply is None:
            self.transport.write(b"HTTP/1.1 202 Accepted\r\ncontent-length: 0\r\n\r\n")
        else:
            self.reply(200, reply.encode())


http_backend.serve(Connection, PORT)
