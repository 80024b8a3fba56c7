"""An upstream that misbehaves on request, for bench/soak.sh (stdlib asyncio):
  /ok/N        200 with N bytes of "x"
  /slow/N      the same after 300 ms
  /reset/N     a 200 head promising N bytes, half of them, then a reset (RST)
  /sse/N       text/event-stream: N events "data: <i>" 50 ms apart, then the end
Each connection also closes itself after every 50th response (no `connection: close`), so the
gateway meets kept-alive connections that are gone. Usage: fault_backend.py PORT"""
import asyncio
import socket
import struct
import sys

import http_backend

PORT = int(sys.argv[1])


class Connection(http_backend.Connection):
    served = 0

    def request(self, method, target, head, body):
        parts = target.split("/")[-2:]  # …/KIND/N (a proxy may add a prefix)
        kind, size = (parts[0], int(parts[1])) if len(parts) == 2 and parts[1].isdigit() else ("ok", 16)
        self.served += 1
        if kind == "slow":
            asyncio.get_running_loop().call_later(0.3, self.answer, size)
        elif kind == "reset":
            self.transport.write(b"HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: %d\r\n\r\n" % size + b"x" * (size // 2))
            sock = self.transport.get_extra_info("socket")
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))  # close → RST
            self.transport.abort()
        elif kind == "sse":
            asyncio.ensure_future(self.stream(size))
        else:
            self.answer(size)

    def answer(self, size):
        if self.transport.is_closing():
            return
        self.reply(200, b"x" * size, content_type=b"text/plain")
        if self.served % 50 == 0:
            self.transport.close()

    async def stream(self, count):
        self.transport.write(b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n")
        for index in range(count):
            data = b"data: %d\n\n" % index
            self.transport.write(b"%x\r\n%s\r\n" % (len(data), data))
            await asyncio.sleep(0.05)
        self.transport.write(b"0\r\n\r\n")


http_backend.serve(Connection, PORT)
