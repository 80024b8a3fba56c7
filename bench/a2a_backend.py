"""A minimal, fast A2A agent for benchmarks (stdlib asyncio, no framework): its card at
/.well-known/agent-card.json; JSON-RPC at /: SendMessage answers a Message at once;
SendStreamingMessage streams EVENTS status updates, DELAY_MS apart, then the completed task.
Usage: a2a_backend.py PORT [EVENTS] [DELAY_MS]"""
import asyncio
import json
import sys

import http_backend

PORT = int(sys.argv[1])
EVENTS = int(sys.argv[2]) if len(sys.argv) > 2 else 5
DELAY = (int(sys.argv[3]) if len(sys.argv) > 3 else 100) / 1000
CARD = json.dumps({
    "name": "bench", "description": "Benchmark agent.", "version": "1", "capabilities": {"streaming": True},
    "supportedInterfaces": [{"url": f"http://127.0.0.1:{PORT}/", "protocolBinding": "JSONRPC", "protocolVersion": "1.0"}],
    "defaultInputModes": ["text/plain"], "defaultOutputModes": ["text/plain"], "skills": [{"id": "echo", "name": "Echo", "description": "Echoes."}],
}).encode()
MESSAGE = '{"message":{"messageId":"a","contextId":"c","role":"ROLE_AGENT","parts":[{"text":"pong"}]}}'


def status(n, state):
    return ('{"statusUpdate":{"taskId":"t-%d","contextId":"c","status":{"state":"%s","message":{"messageId":"s","role":"ROLE_AGENT",'
            '"parts":[{"text":"%d"}]}}}}' % (n, state, n))


class Connection(http_backend.Connection):
    counter = 0

    def request(self, method, target, head, body):
        if method == "GET":
            self.reply(200, CARD)
            return
        message = json.loads(body)
        rid = json.dumps(message.get("id"))
        if message.get("method") == "SendStreamingMessage":
            Connection.counter += 1
            asyncio.ensure_future(self.stream(rid, Connection.counter))
        else:
            self.reply(200, ('{"jsonrpc":"2.0","id":%s,"result":%s}' % (rid, MESSAGE)).encode())

    async def stream(self, rid, n):
        self.transport.write(b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n")

        def event(payload):
            data = ('data: {"jsonrpc":"2.0","id":%s,"result":%s}\n\n' % (rid, payload)).encode()
            self.transport.write(b"%x\r\n%s\r\n" % (len(data), data))

        event('{"task":{"id":"t-%d","contextId":"c","status":{"state":"TASK_STATE_SUBMITTED"}}}' % n)
        for i in range(EVENTS):
            await asyncio.sleep(DELAY)
            event(status(n, "TASK_STATE_WORKING"))
        event(status(n, "TASK_STATE_COMPLETED"))
        self.transport.write(b"0\r\n\r\n")


http_backend.serve(Connection, PORT)
