"""The host: routing, proxying, filters written in C and Swift, config errors, upstream failures,
limits, pipelining and malformed requests."""
import http.client
import json
import re
import socket
import subprocess
import time

import pytest

from conftest import BUILD, curl, GATEWAY, refused_port, proxy_config, request


def test_proxies_request_and_response_with_forwarding_headers(gateway, backend):
    gw = gateway(proxy_config(backend))
    host, port = gw.address("main").rsplit(":", 1)
    connection = http.client.HTTPConnection(host, int(port), timeout=10)
    connection.request("POST", "/a/b?x=1", body="payload", headers={"Connection": "keep-alive, x-hop", "X-Hop": "drop me",
                                                                     "X-Keep": "keep"})
    resp = connection.getresponse()
    assert resp.status == 200
    echo = json.loads(resp.read())
    connection.close()
    assert echo["method"] == "POST" and echo["path"] == "/a/b?x=1" and echo["body"] == "payload"
    assert echo["headers"]["host"] == backend.removeprefix("http://")  # the upstream's own Host
    assert echo["headers"]["x-forwarded-for"] == "127.0.0.1"
    assert echo["headers"]["x-forwarded-proto"] == "http"
    assert echo["headers"]["x-keep"] == "keep"
    assert "x-hop" not in echo["headers"]  # named in Connection: hop-by-hop


def test_streams_a_large_body_both_ways(gateway, backend):
    gw = gateway(proxy_config(backend))
    body = "x" * (3 * 1024 * 1024)
    resp = request(gw.url + "/big", method="PUT", body=body, timeout=30)
    assert resp.status == 200
    assert len(resp.json()["body"]) == len(body)


def test_slow_client_gets_a_large_response_whole(gateway, backend):
    """Backpressure: the gateway stops reading the upstream while the client is behind."""
    gw = gateway(proxy_config(backend).replace("request_timeout_ms = 1500", "request_timeout_ms = 10000"))
    host, port = gw.address("main").rsplit(":", 1)
    size = 16 * 1024 * 1024
    connection = http.client.HTTPConnection(host, int(port), timeout=30)
    connection.request("GET", f"/bytes/{size}")
    response = connection.getresponse()
    received = 0
    reads = 0
    while True:
        chunk = response.read(256 * 1024)
        if not chunk:
            break
        received += len(chunk)
        reads += 1
        if reads % 8 == 0:
            time.sleep(0.02)  # a slow reader: the gateway's buffers fill up
    assert received == size
    connection.close()
    assert request(gw.url + "/after").status == 200


def test_expect_100_continue_upload(gateway, backend, tmp_path):
    gw = gateway(proxy_config(backend))
    upload = tmp_path / "upload.bin"
    upload.write_bytes(b"u" * (2 * 1024 * 1024))
    result = curl("-i", "-H", "Expect: 100-continue", "--expect100-timeout", "5", "--data-binary", f"@{upload}",
                  gw.url + "/upload")
    assert result.returncode == 0, result.stderr
    assert "HTTP/1.1 100 Continue" in result.stdout and "HTTP/1.1 200 OK" in result.stdout
    assert '"expect"' not in result.stdout  # not forwarded upstream


def test_routes_by_path_method_host_and_header(gateway, backend):
    gw = gateway(f"""
    [[listeners]]
    name = "main"
    address = "127.0.0.1:0"
    [plugins.tf]
    path = "{BUILD / 'libtest_filters.so'}"
    [[routes]]
    name = "exact"
    [routes.match]
    path = "/exact"
    [[routes.filters]]
    plugin = "tf.local-reply"
    config = {{ status = 201, body = "exact" }}
    [routes.backend]
    urls = ["{backend}"]
    [[routes]]
    name = "header"
    [routes.match]
    path_prefix = "/api"
    methods = ["DELETE"]
    headers = {{ "x-team" = "blue" }}
    [[routes.filters]]
    plugin = "tf.local-reply"
    config = {{ status = 202, body = "blue delete" }}
    [routes.backend]
    urls = ["{backend}"]
    [[routes]]
    name = "host"
    [routes.match]
    host = "*.example.test"
    [[routes.filters]]
    plugin = "tf.local-reply"
    config = {{ status = 203, body = "wildcard host" }}
    [routes.backend]
    urls = ["{backend}"]
    [[routes]]
    name = "api"
    [routes.match]
    path_prefix = "/api"
    [routes.backend]
    urls = ["{backend}"]
    """)
    assert request(gw.url + "/exact").status == 201
    assert request(gw.url + "/exact/more").status == 404
    assert request(gw.url + "/api/x", method="DELETE", headers={"x-team": "blue"}).text == "blue delete"
    assert request(gw.url + "/api/x", method="DELETE", headers={"x-team": "red"}).status == 200  # falls to "api"
    assert request(gw.url + "/apix").status == 404  # prefix matches whole segments
    assert request(gw.url + "/other", headers={"Host": "a.example.test:8080"}).text == "wildcard host"
    assert "no route for GET /nothing" in request(gw.url + "/nothing").text


def test_c_and_swift_filters_filter_real_traffic(gateway, backend, c_example):
    gw = gateway(proxy_config(backend, plugins=f"""
    [plugins.stamp]
    path = "{c_example}"
    [plugins.require]
    path = "{BUILD / 'librequire_header.so'}"
    """, filters="""
    [[routes.filters]]
    plugin = "stamp"
    config = { value = "from-c" }
    [[routes.filters]]
    plugin = "require"
    config = { header = "x-api-key", stamp = "from-swift" }
    """))
    ok = request(gw.url + "/x", headers={"x-api-key": "k"})
    assert ok.status == 200
    assert ok.json()["headers"]["x-stamp"] == "from-c"          # C filter changed the request
    assert ok.headers["x-stamp"] == "from-c"                     # ...and the response
    assert ok.headers["x-require-header"] == "from-swift"        # Swift filter changed the response
    denied = request(gw.url + "/x")
    assert denied.status == 401 and denied.text == "missing x-api-key\n"
    assert "x-stamp" not in denied.headers  # local replies skip response hooks
    blocked = request(gw.url + "/x", headers={"x-block": "1", "x-api-key": "k"})
    assert blocked.status == 403  # the C filter answered before the Swift one ran


def test_plugins_are_found_in_plugin_dir_by_name(gateway, backend):
    gw = gateway(f"""
    [gateway]
    plugin_dir = "{BUILD}"
    [[listeners]]
    name = "main"
    address = "127.0.0.1:0"
    [plugins.require_header]
    [[routes]]
    name = "api"
    [[routes.filters]]
    plugin = "require_header"
    config = {{ header = "x-key" }}
    [routes.backend]
    urls = ["{backend}"]
    """)
    assert request(gw.url + "/").status == 401
    assert request(gw.url + "/", headers={"x-key": "1"}).status == 200


def test_local_reply(gateway, backend):
    gw = gateway(proxy_config(backend, plugins=f"""
    [plugins.tf]
    path = "{BUILD / 'libtest_filters.so'}"
    """, filters="""
    [[routes.filters]]
    plugin = "tf.local-reply"
    config = { status = 418, body = "short and stout" }
    """))
    resp = request(gw.url + "/tea")
    assert resp.status == 418 and resp.text == "short and stout" and resp.headers["x-local"] == "1"


def test_bad_toml_reports_line_and_column(tmp_path):
    config = tmp_path / "bad.toml"
    config.write_text('[[listeners]]\nname = "main"\naddress = "127.0.0.1:0\n')
    result = subprocess.run([str(GATEWAY), "--config", str(config), "--validate"], capture_output=True, text=True)
    assert result.returncode == 1
    assert f"{config}:3:" in result.stderr, result.stderr


@pytest.mark.parametrize("text,message", [
    ('[[listeners]]\nname = "m"\naddress = "127.0.0.1:0"\n[[routes]]\nname = "r"\n[routes.backend]\nurls = ["http://x"]\nspeling = 1\n',
     "routes[0].backend.speling: unknown key"),
    ('[[listeners]]\nname = "m"\naddress = "nonsense"\n', "listeners[0].address: 'nonsense' is not host:port"),
    ('[[listeners]]\nname = "m"\naddress = "127.0.0.1:0"\n[[routes]]\nname = "r"\n[[routes.filters]]\nplugin = "ghost"\n'
     '[routes.backend]\nurls = ["http://127.0.0.1:1"]\n', "routes[0].filters[0].plugin: unknown plugin 'ghost'"),
    ('[[listeners]]\nname = "m"\naddress = "127.0.0.1:0"\n[[routes]]\nname = "r"\n', "needs a [routes.backend] or a [routes.handler]"),
    ('[[listeners]]\nname = "m"\naddress = "127.0.0.1:0"\n[[routes]]\nname = "r"\n[routes.backend]\nurls = ["ftp://x"]\n',
     "is not an absolute http:// or https:// URL"),
])
def test_semantic_config_errors_name_the_key(tmp_path, text, message):
    config = tmp_path / "bad.toml"
    config.write_text(text)
    result = subprocess.run([str(GATEWAY), "--config", str(config), "--validate"], capture_output=True, text=True)
    assert result.returncode == 1
    assert message in result.stderr, result.stderr


def test_unreachable_upstream_gives_502_and_gateway_keeps_serving(gateway, backend):
    dead = f"http://127.0.0.1:{refused_port()}"
    gw = gateway(f"""
    [[listeners]]
    name = "main"
    address = "127.0.0.1:0"
    [[routes]]
    name = "dead"
    [routes.match]
    path_prefix = "/dead"
    [routes.backend]
    urls = ["{dead}"]
    [[routes]]
    name = "live"
    [routes.backend]
    urls = ["{backend}"]
    """)
    for _ in range(3):
        resp = request(gw.url + "/dead/x")
        assert resp.status == 502
        assert "upstream" in resp.text
        assert request(gw.url + "/live").status == 200
    assert "upstream failed" in gw.log()


def test_upstream_dying_mid_response_aborts_that_response_only(gateway, backend):
    gw = gateway(proxy_config(backend))
    result = curl(gw.url + "/truncate")
    assert result.returncode != 0  # the client sees a cut-off response, not a complete wrong one
    assert request(gw.url + "/fine").status == 200
    assert "mid-response" in gw.log()


def test_slow_upstream_gives_504(gateway, backend):
    gw = gateway(proxy_config(backend))
    resp = request(gw.url + "/sleep/3")
    assert resp.status == 504
    assert "within 1500 ms" in resp.text
    assert request(gw.url + "/after").status == 200


def test_round_robin_over_upstreams(gateway, backend, tmp_path):
    gw = gateway(f"""
    [[listeners]]
    name = "main"
    address = "127.0.0.1:0"
    [[routes]]
    name = "api"
    [routes.backend]
    urls = ["{backend}/one", "{backend}/two"]
    """)
    paths = {request(gw.url + "/x").json()["path"] for _ in range(4)}
    assert paths == {"/one/x", "/two/x"}


def test_oversized_headers_and_body_are_rejected(gateway, backend):
    gw = gateway(proxy_config(backend, extra="""
    [limits]
    max_request_header_bytes = 2048
    max_request_body_bytes = 1000
    """))
    assert request(gw.url + "/h", headers={"x-big": "a" * 4096}).status == 431
    assert request(gw.url + "/b", method="POST", body="b" * 5000).status == 413
    assert request(gw.url + "/ok", method="POST", body="b" * 500).status == 200
    assert "over the limit" in gw.log()


def test_pipelined_requests_are_answered_in_order(gateway, backend):
    gw = gateway(proxy_config(backend))
    host, port = gw.address("main").rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        # The first request is slow; the next two must still be answered after it, in order.
        sock.sendall(b"GET /sleep/0.3/a HTTP/1.1\r\nHost: x\r\n\r\n"
                     b"POST /b HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n\r\nbody"
                     b"GET /c HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        received = b""
        while chunk := sock.recv(65536):
            received += chunk
    paths = re.findall(rb'"path": "([^"]+)"', received)
    assert paths == [b"/sleep/0.3/a", b"/b", b"/c"]
    assert received.count(b"HTTP/1.1 200 OK") == 3
    assert b'"body": "body"' in received


def test_malformed_request_gets_400_and_gateway_keeps_serving(gateway, backend):
    gw = gateway(proxy_config(backend))
    host, port = gw.address("main").rsplit(":", 1)
    with socket.create_connection((host, int(port))) as sock:
        sock.sendall(b"THIS IS NOT HTTP\r\n\r\n")
        reply = sock.recv(1024)
    assert reply.startswith(b"HTTP/1.1 400")
    assert request(gw.url + "/still").status == 200
