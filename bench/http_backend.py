"""What the benchmark backends share (mcp_backend.py, a2a_backend.py, rest_backend.py): reading
pipelined HTTP/1.1 requests with Content-Length bodies off a connection, answering with a
Content-Length body, and serving on 127.0.0.1. Stdlib asyncio only, so a backend costs the load
core as little as a Python server can."""
import asyncio


class Connection(asyncio.Protocol):
    """One client connection: `request(method, target, head, body)` is called once per request,
    in order; `head` is the lowercased header block (without the request line)."""

    def connection_made(self, transport):
        self.transport = transport
        self.buffer = b""

    def data_received(self, data):
        self.buffer += data
        while True:
            head_end = self.buffer.find(b"\r\n\r\n")
            if head_end < 0:
                return
            request_line, _, head = self.buffer[:head_end].partition(b"\r\n")
            head = head.lower()
            length = 0
            for line in head.split(b"\r\n"):
                if line.startswith(b"content-length:"):
                    length = int(line[15:])
            if len(self.buffer) < head_end + 4 + length:
                return
            body = self.buffer[head_end + 4:head_end + 4 + length]
            self.buffer = self.buffer[head_end + 4 + length:]
            method, target = request_line.split(b" ")[:2]
            self.request(method.decode(), target.decode(), head, body)

    def request(self, method, target, head, body):
        raise NotImplementedError

    def reply(self, status, data, content_type=b"application/json"):
        reason = {200: b"OK", 202: b"Accepted", 404: b"Not Found"}.get(status, b"Other")
        self.transport.write(b"HTTP/1.1 %d %s\r\ncontent-type: %s\r\ncontent-length: %d\r\n\r\n%s"
                             % (status, reason, content_type, len(data), data))


def serve(connection, port):
    """Serves `connection` (a Connection subclass) on 127.0.0.1:`port` until killed; prints
    "listening on PORT" once it accepts."""
    async def main():
        server = await asyncio.get_running_loop().create_server(connection, "127.0.0.1", port, backlog=1024)
        print(f"listening on {port}", flush=True)
        await server.serve_forever()

    asyncio.run(main())
