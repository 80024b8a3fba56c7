"""What a hostile or broken peer gets at the connection layer, with real sockets: clients that
send a head or a body too slowly (408) or sit idle, a flood of stalled connections (slowloris)
while a normal client is served, connection limits per listener and per client address (503),
the open-file limit (EMFILE at accept: logged and counted, established connections served), size
limits answered with their exact status, a TLS handshake that never completes, idle and silent
HTTP/2 connections, and upstreams that send a malformed head or close a kept-alive connection."""
import re
import resource
import socket
import ssl
import threading
import time

import h2.config
import h2.connection
import h2.events

from conftest import proxy_config, request, wait_for
from observability_helpers import delta, scrape
from test_tls_and_shutdown import certificates  # noqa: F401 (a fixture)

TIMEOUTS = """
    request_head_timeout_ms = 1000
    request_body_timeout_ms = 1000
    idle_timeout_ms = 1500
"""


def listener_with(extra):
    """proxy_config's listener with more keys (the listener table is the first thing in it)."""
    return lambda backend, **kwargs: proxy_config(backend, **kwargs).replace('address = "127.0.0.1:0"', 'address = "127.0.0.1:0"\n' + extra, 1)


def connect(gw, source="127.0.0.1"):
    host, port = gw.address("main").rsplit(":", 1)
    sock = socket.create_connection((host, int(port)), timeout=10, source_address=(source, 0))
    return sock


def read_all(sock, timeout=10):
    sock.settimeout(timeout)
    received = b""
    try:
        while chunk := sock.recv(65536):
            received += chunk
    except (ConnectionResetError, socket.timeout):
        pass
    return received


def read_response(sock, timeout=5):
    """One whole response with a Content-Length body from a kept-alive connection."""
    sock.settimeout(timeout)
    received = b""
    while b"\r\n\r\n" not in received:
        chunk = sock.recv(65536)
        assert chunk, f"closed after {received!r}"
        received += chunk
    head, _, body = received.partition(b"\r\n\r\n")
    length = int(re.search(rb"(?i)content-length: (\d+)", head).group(1))
    while len(body) < length:
        chunk = sock.recv(65536)
        assert chunk, "closed mid-body"
        body += chunk
    return head + b"\r\n\r\n" + body


def with_admin(config):
    return config + '\n    [admin]\n    address = "127.0.0.1:0"\n'


def test_a_slowloris_flood_is_cut_off_while_a_normal_client_is_served(gateway, backend):
    gw = gateway(with_admin(listener_with(TIMEOUTS)(backend)))
    admin = gw.address("admin")
    before, _ = scrape(admin)
    stalled = []
    for index in range(200):
        sock = connect(gw)
        sock.sendall(b"GET /slow HTTP/1.1\r\nHost: x\r\nX-Part: " + str(index).encode())  # never ends the head
        stalled.append(sock)
    silent = [connect(gw) for _ in range(20)]  # never send a byte
    started = time.monotonic()
    # A normal client is served meanwhile, on new connections and on a kept-alive one.
    for _ in range(5):
        assert request(gw.url + "/fine").status == 200
    answers = [read_all(sock, timeout=5) for sock in stalled]
    elapsed = time.monotonic() - started
    assert all(answer.startswith(b"HTTP/1.1 408 Request Timeout\r\n") for answer in answers), answers[:2]
    assert all(b"connection: close" in answer for answer in answers)
    assert [read_all(sock, timeout=5) for sock in silent] == [b""] * 20, "nothing of a request came: closed without a word"
    assert elapsed < 4, f"the stalled connections were closed after {elapsed:.1f} s (request_head_timeout_ms = 1000)"
    for sock in stalled + silent:
        sock.close()
    after, _ = scrape(admin)
    assert delta(before, after, "agw_http_connection_timeouts_total", listener="main", timeout="request_head") == 220


def test_bytes_that_never_end_a_head_do_not_extend_its_deadline(gateway, backend):
    gw = gateway(listener_with(TIMEOUTS)(backend))
    sock = connect(gw)
    started = time.monotonic()
    answer = b""
    sock.settimeout(0.2)
    for _ in range(20):  # one byte every 0.2 s for 4 s: the head deadline (1 s) holds
        try:
            sock.sendall(b"X")
            answer += sock.recv(4096)
            break
        except socket.timeout:
            continue
        except (BrokenPipeError, ConnectionResetError):
            break
    answer += read_all(sock, timeout=3)
    assert answer.startswith(b"HTTP/1.1 408"), answer
    assert time.monotonic() - started < 2.5


def test_a_stalled_body_gets_408_and_an_idle_connection_is_closed(gateway, backend):
    gw = gateway(listener_with(TIMEOUTS)(backend))
    sock = connect(gw)
    sock.sendall(b"POST /b HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nonly part of it")
    answer = read_all(sock, timeout=5)
    assert answer.startswith(b"HTTP/1.1 408 Request Timeout\r\n") and b"request body" in answer, answer

    idle = connect(gw)
    idle.sendall(b"GET /a HTTP/1.1\r\nHost: x\r\n\r\n")
    assert read_response(idle).startswith(b"HTTP/1.1 200")
    started = time.monotonic()
    assert read_all(idle, timeout=5) == b"", "an idle kept-alive connection is closed without a word"
    assert 1.0 < time.monotonic() - started < 3.5


def test_connection_limits_answer_503_and_keep_serving_established_clients(gateway, backend):
    gw = gateway(with_admin(listener_with("    max_connections = 6\n    max_connections_per_client = 4\n")(backend)))
    admin = gw.address("admin")
    before, _ = scrape(admin)
    held = []
    for _ in range(4):
        sock = connect(gw)
        sock.sendall(b"GET /held HTTP/1.1\r\nHost: x\r\n\r\n")
        assert read_response(sock).startswith(b"HTTP/1.1 200")
        held.append(sock)
    fifth = connect(gw)
    fifth.sendall(b"GET /refused HTTP/1.1\r\nHost: x\r\n\r\n")
    refused = read_all(fifth, timeout=5)
    assert refused.startswith(b"HTTP/1.1 503 Service Unavailable\r\n"), refused
    assert b"connection: close" in refused and b"max_connections_per_client" in refused
    # Another client address (127.0.0.2 is loopback too) is not held to 127.0.0.1's share.
    other = [connect(gw, source="127.0.0.2") for _ in range(2)]
    for sock in other:
        sock.sendall(b"GET /other HTTP/1.1\r\nHost: x\r\n\r\n")
        assert read_response(sock).startswith(b"HTTP/1.1 200")
    # Six are open now: the listener is full for everyone.
    seventh = connect(gw, source="127.0.0.2")
    assert read_all(seventh, timeout=5).startswith(b"HTTP/1.1 503"), "max_connections = 6"
    # The established connections are still served.
    for sock in held + other:
        sock.sendall(b"GET /again HTTP/1.1\r\nHost: x\r\n\r\n")
        assert read_response(sock).startswith(b"HTTP/1.1 200")
    # Closing one makes room.
    held.pop().close()
    wait_for(lambda: request(gw.url + "/room").status == 200, what="a freed slot")
    for sock in held + other:
        sock.close()
    after, _ = scrape(admin)
    assert delta(before, after, "agw_http_connections_refused_total", listener="main", limit="max_connections_per_client") == 1
    assert delta(before, after, "agw_http_connections_refused_total", listener="main", limit="max_connections") >= 1


def test_out_of_file_descriptors_is_logged_counted_and_survived(gateway, backend):
    def low_limit():
        resource.setrlimit(resource.RLIMIT_NOFILE, (128, 128))

    # max_connections above what 128 descriptors allow: accept itself fails with EMFILE.
    gw = gateway(with_admin(listener_with("    max_connections = 10000\n")(backend)), preexec_fn=low_limit)
    admin = gw.address("admin")
    assert "open-file limit" in gw.log() and "hard=128" in gw.log()
    established = connect(gw)
    established.sendall(b"GET /first HTTP/1.1\r\nHost: x\r\n\r\n")
    assert read_response(established).startswith(b"HTTP/1.1 200")
    flood = []
    for _ in range(200):
        try:
            flood.append(connect(gw))
        except OSError:
            break
    wait_for(lambda: "cannot accept connections" in gw.log(), timeout=10, what="the EMFILE log line")
    assert "EMFILE" in gw.log() or "Too many open files" in gw.log()
    # The established connection is still served while new ones cannot be accepted.
    established.sendall(b"GET /during HTTP/1.1\r\nHost: x\r\n\r\n")
    assert read_response(established).startswith(b"HTTP/1.1 200")
    for sock in flood:
        sock.close()
    # Once descriptors are free, new connections are accepted again (after NIO's accept backoff).
    wait_for(lambda: request(gw.url + "/after", timeout=3).status == 200, timeout=15, what="accepting again")
    established.sendall(b"GET /metrics-check HTTP/1.1\r\nHost: x\r\n\r\n")
    assert read_response(established).startswith(b"HTTP/1.1 200")
    _, text = scrape(admin)
    assert re.search(r'agw_http_accept_errors_total\{listener="main",error="EMFILE"\} [1-9]', text), text
    established.close()


def test_limits_are_answered_with_their_exact_status(gateway, backend):
    gw = gateway(proxy_config(backend, extra="""
    [limits]
    max_request_line_bytes = 1024
    max_request_header_bytes = 2048
    max_request_headers = 20
    max_request_body_bytes = 1000
    """))

    def raw(data):
        sock = connect(gw)
        sock.sendall(data)
        return read_all(sock, timeout=5)

    assert raw(b"GET /" + b"a" * 2000 + b" HTTP/1.1\r\nHost: x\r\n\r\n").startswith(b"HTTP/1.1 414 URI Too Long")
    assert raw(b"GET / HTTP/1.1\r\nHost: x\r\n" + b"".join(b"X-%d: v\r\n" % i for i in range(30)) + b"\r\n").startswith(b"HTTP/1.1 431")
    assert raw(b"GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + b"v" * 3000 + b"\r\n\r\n").startswith(b"HTTP/1.1 431")
    assert raw(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5000\r\n\r\n" + b"b" * 5000).startswith(b"HTTP/1.1 413")
    assert raw(b"GET / HTTP/2.0\r\nHost: x\r\n\r\n").startswith(b"HTTP/1.1 505")
    assert raw(b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n").startswith(b"HTTP/1.1 501")
    assert raw(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n").startswith(b"HTTP/1.1 400")
    assert raw(b"GET / HTTP/1.1\r\n\r\n").startswith(b"HTTP/1.1 400"), "no Host"
    assert request(gw.url + "/still").status == 200


def test_a_tls_handshake_that_never_completes_is_closed(gateway, backend, certificates):  # noqa: F811
    gw = gateway(with_admin(proxy_config(backend).replace('address = "127.0.0.1:0"', f'''address = "127.0.0.1:0"
    tls_handshake_timeout_ms = 500
    [listeners.tls]
    cert = "{certificates}/server.pem"
    key = "{certificates}/server.key"''', 1)))
    sock = connect(gw)  # TCP only: no ClientHello
    started = time.monotonic()
    assert read_all(sock, timeout=5) == b""
    assert time.monotonic() - started < 2.5
    _, text = scrape(gw.address("admin"))
    assert re.search(r'agw_http_connection_timeouts_total\{listener="main",timeout="tls_handshake"\} 1', text)


def h2_connection(gw, certificates):  # noqa: F811
    context = ssl.create_default_context(cafile=str(certificates / "ca.pem"))
    context.set_alpn_protocols(["h2"])
    sock = context.wrap_socket(connect(gw), server_hostname="localhost")
    assert sock.selected_alpn_protocol() == "h2"
    connection = h2.connection.H2Connection(config=h2.config.H2Configuration(client_side=True))
    connection.initiate_connection()
    sock.sendall(connection.data_to_send())
    return sock, connection


def h2_events(sock, connection, timeout):
    """Frames until the connection closes or `timeout` passes: the events, and whether it closed."""
    sock.settimeout(timeout)
    events = []
    try:
        while data := sock.recv(65536):
            events += connection.receive_data(data)
    except (socket.timeout, ssl.SSLError, ConnectionResetError):
        return events, False
    return events, True


def test_an_idle_http2_connection_gets_goaway_and_a_silent_one_is_closed(gateway, backend, certificates):  # noqa: F811
    gw = gateway(proxy_config(backend).replace('address = "127.0.0.1:0"', f'''address = "127.0.0.1:0"
    http2_idle_timeout_ms = 600
    http2_ping_interval_ms = 400
    [listeners.tls]
    cert = "{certificates}/server.pem"
    key = "{certificates}/server.key"''', 1))
    # A client that answers pings (h2 acks them in data_to_send, which this loop sends) but opens
    # no stream: GOAWAY after http2_idle_timeout_ms.
    sock, connection = h2_connection(gw, certificates)
    started = time.monotonic()
    events = []
    sock.settimeout(0.1)
    while time.monotonic() - started < 5:
        try:
            data = sock.recv(65536)
        except socket.timeout:
            continue
        if not data:
            break
        events += connection.receive_data(data)
        sock.sendall(connection.data_to_send())
    assert any(isinstance(event, h2.events.ConnectionTerminated) for event in events), events
    assert any(isinstance(event, h2.events.PingReceived) for event in events), "pinged while idle"
    # A client that never answers a ping: closed after a ping interval with no answer, though a
    # stream is open (a request the backend answers slowly).
    sock, connection = h2_connection(gw, certificates)
    connection.send_headers(1, [(":method", "GET"), (":path", "/sleep/5"), (":scheme", "https"), (":authority", "localhost")], end_stream=True)
    sock.sendall(connection.data_to_send())
    started = time.monotonic()
    _, closed = h2_events(sock, connection, timeout=4)  # never sends data_to_send: no PING ACK
    assert closed and time.monotonic() - started < 3, "no answer to a ping: closed"


def test_a_malformed_upstream_head_is_502_and_a_closed_keepalive_connection_is_retried(gateway, tmp_path):
    """Upstreams we wrote to misbehave: one answers garbage; one closes each connection right after
    its response without saying so (the gateway finds the kept-alive connection dead and sends again)."""
    def serve(handler):
        server = socket.socket()
        server.bind(("127.0.0.1", 0))
        server.listen(16)
        def loop():
            while True:
                try:
                    client, _ = server.accept()
                except OSError:
                    return
                threading.Thread(target=handler, args=(client,), daemon=True).start()
        threading.Thread(target=loop, daemon=True).start()
        return server

    def garbage(client):
        client.recv(65536)
        client.sendall(b"HTTP/1.1 2OO OK\r\nContent-Length: 2\r\n\r\nok")
        client.close()

    def one_and_done(client):
        client.recv(65536)
        client.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\ndone")
        client.recv(65536)  # the next request on the kept-alive connection...
        client.close()      # ...is never answered: the connection closes as it is reused

    bad, flaky = serve(garbage), serve(one_and_done)
    try:
        gw = gateway(f"""
        [[listeners]]
        name = "main"
        address = "127.0.0.1:0"
        [[routes]]
        name = "bad"
        [routes.match]
        path_prefix = "/bad"
        [routes.backend]
        urls = ["http://127.0.0.1:{bad.getsockname()[1]}"]
        [[routes]]
        name = "flaky"
        [routes.backend]
        urls = ["http://127.0.0.1:{flaky.getsockname()[1]}"]
        """)
        answer = request(gw.url + "/bad")
        assert answer.status == 502 and "malformed response" in answer.text, answer.text
        for _ in range(5):  # each request after the first meets a kept-alive connection that closes
            assert request(gw.url + "/flaky").text == "done"
        assert request(gw.url + "/bad/again").status == 502
    finally:
        bad.close()
        flaky.close()


def test_a_short_soak_loses_and_corrupts_nothing():
    """bench/soak.sh for 15 s on this build (the 10-minute soak is the same script): mixed load at
    twice the peak's concurrency, SSE streams, slow clients, a faulty upstream — every response
    checked."""
    import os
    import subprocess
    from conftest import BUILD, ROOT
    result = subprocess.run([str(ROOT / "bench" / "soak.sh"), "15", "5"], capture_output=True, text=True, timeout=300,
                            env={**os.environ, "SOAK_BIN": str(BUILD)})
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "lost or wrong responses: 0" in result.stdout
    side = next(line for line in result.stdout.splitlines() if "side load:" in line)
    assert '"sse_streams": 0' not in side and '"slow_clients": 0' not in side, side
