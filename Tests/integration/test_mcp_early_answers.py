"""The MCP handler's header hook runs before the body is read: a request it refuses by its head
(wrong Accept, wrong Content-Type, wrong method) is answered at once, while the client has sent
only the head of a large body."""
import socket

import pytest

from mcp_helpers import mcp_route, stdio_target


def head_only(address, method, headers):
    """Sends a request head announcing a 10 MiB body, sends none of it, and returns the status
    line the gateway answers with (within 5 s)."""
    host, port = address.rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=5) as sock:
        lines = [f"{method} /mcp HTTP/1.1", "host: gw", f"content-length: {10 * 1024 * 1024}"]
        lines += [f"{name}: {value}" for name, value in headers.items()]
        sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        answer = b""
        while b"\r\n" not in answer:
            chunk = sock.recv(4096)
            if not chunk:
                break
            answer += chunk
        return answer.split(b"\r\n", 1)[0].decode()


@pytest.mark.parametrize("method,headers,status", [
    ("POST", {"content-type": "application/json", "accept": "text/html"}, "406"),
    ("POST", {"content-type": "text/plain", "accept": "application/json, text/event-stream"}, "415"),
    ("PUT", {"content-type": "application/json", "accept": "application/json, text/event-stream"}, "405"),
])
def test_a_request_refused_by_its_head_is_answered_before_its_body(gateway, method, headers, status):
    gw = gateway(mcp_route(stdio_target("local")))
    assert head_only(gw.address("main"), method, headers) == f"HTTP/1.1 {status} " + {
        "406": "Not Acceptable", "415": "Unsupported Media Type", "405": "Method Not Allowed"}[status]
