#!/usr/bin/env python3
"""A small HTTP backend for the quick start and the tests: answers every request with a JSON
echo of what it received (method, path, headers, body). Usage: echo_backend.py [PORT] (0 = any;
the bound port is printed as 'listening on PORT')."""
import json
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Echo(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out in two writes: without TCP_NODELAY, the body waits ~40 ms for the
    # delayed ACK of the headers on every keep-alive request.
    disable_nagle_algorithm = True

    def _answer(self):
        length = int(self.headers.get("content-length") or 0)
        if self.headers.get("transfer-encoding", "").lower() == "chunked":
            body = b""
            while True:
                size = int(self.rfile.readline().strip(), 16)
                if size == 0:
                    self.rfile.readline()
                    break
                body += self.rfile.read(size)
                self.rfile.readline()
        else:
            body = self.rfile.read(length) if length else b""
        if self.path.startswith("/bytes/"):
            size = int(self.path.split("/")[2])
            self.send_response(200)
            self.send_header("content-type", "application/octet-stream")
            self.send_header("content-length", str(size))
            self.end_headers()
            chunk = b"0123456789abcdef" * 4096
            while size > 0:
                self.wfile.write(chunk[:size])
                size -= min(size, len(chunk))
            return
        if self.path.startswith("/truncate"):
            # Promise a long body, send part of it, then drop the connection.
            self.send_response(200)
            self.send_header("content-length", "100000")
            self.end_headers()
            self.wfile.write(b"partial" * 100)
            self.wfile.flush()
            self.connection.shutdown(2)
            self.close_connection = True
            return
        if "/sleep/" in self.path:
            time.sleep(float(self.path.split("/sleep/")[1].split("/")[0]))
        if self.path.startswith("/status/"):
            status = int(self.path.split("/")[2])
        else:
            status = 200
        payload = json.dumps({
            "method": self.command,
            "path": self.path,
            "headers": {k.lower(): v for k, v in self.headers.items()},
            "body": body.decode("utf-8", "replace"),
        }).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _answer

    def log_message(self, *args):
        pass


if __name__ == "__main__":
    server = ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1]) if len(sys.argv) > 1 else 9000), Echo)
    print(f"listening on {server.server_address[1]}", flush=True)
    server.serve_forever()
