"""The host's listeners: TLS with HTTP/1.1 and HTTP/2, mutual TLS, graceful shutdown (SIGTERM drains
in-flight requests and HTTP/2 streams), and the admin endpoint."""
import json
import signal
import subprocess
import threading
import time

import pytest

from conftest import BUILD, curl, free_port, proxy_config, request, wait_for


@pytest.fixture(scope="module")
def certificates(tmp_path_factory):
    """A CA, a server certificate for 127.0.0.1/localhost, and a client certificate."""
    d = tmp_path_factory.mktemp("certs")

    def run(*args):
        subprocess.run(["openssl", *args], check=True, capture_output=True, cwd=d)

    run("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.pem", "-days", "2",
        "-subj", "/CN=Test CA")
    (d / "san.ext").write_text("subjectAltName=DNS:localhost,IP:127.0.0.1\n")
    run("req", "-newkey", "rsa:2048", "-nodes", "-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=localhost")
    run("x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial", "-out",
        "server.pem", "-days", "2", "-extfile", "san.ext")
    run("req", "-newkey", "rsa:2048", "-nodes", "-keyout", "client.key", "-out", "client.csr", "-subj", "/CN=agent-7/O=Agents")
    run("x509", "-req", "-in", "client.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial", "-out",
        "client.pem", "-days", "2")
    return d


@pytest.mark.parametrize("version_flag,expected", [("--http1.1", "HTTP/1.1 200"), ("--http2", "HTTP/2 200")])
def test_tls_with_http1_and_http2(gateway, backend, certificates, version_flag, expected):
    gw = gateway(f"""
    [[listeners]]
    name = "tls"
    address = "127.0.0.1:0"
    [listeners.tls]
    cert = "{certificates / 'server.pem'}"
    key = "{certificates / 'server.key'}"
    [[routes]]
    name = "api"
    [routes.backend]
    urls = ["{backend}"]
    """)
    port = gw.address("tls").rsplit(":", 1)[1]
    result = curl("-i", version_flag, "--cacert", str(certificates / "ca.pem"), f"https://localhost:{port}/secure?q=1",
                  "--resolve", f"localhost:{port}:127.0.0.1", "-d", "over tls")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(expected), result.stdout[:200]
    assert '"x-forwarded-proto": "https"' in result.stdout
    assert '"body": "over tls"' in result.stdout
    assert '"path": "/secure?q=1"' in result.stdout


def test_concurrent_streams_on_one_http2_connection(gateway, backend, certificates):
    gw = gateway(f"""
    [[listeners]]
    name = "tls"
    address = "127.0.0.1:0"
    [listeners.tls]
    cert = "{certificates / 'server.pem'}"
    key = "{certificates / 'server.key'}"
    [[routes]]
    name = "api"
    [routes.backend]
    urls = ["{backend}"]
    """)
    port = gw.address("tls").rsplit(":", 1)[1]
    urls = [f"https://localhost:{port}/stream/{i}" for i in range(12)]
    result = curl("--http2", "--parallel", "--parallel-max", "12", "--cacert",
                  str(certificates / "ca.pem"), "--resolve", f"localhost:{port}:127.0.0.1",
                  "-w", "%{http_version} %{http_code} %{num_connects}\n",
                  *[arg for url in urls for arg in ("-o", "/dev/null", url)])
    assert result.returncode == 0, result.stderr
    lines = result.stdout.split()
    assert lines.count("200") == 12 and set(lines[0::3]) == {"2"}
    assert sum(int(n) for n in lines[2::3]) == 1  # one connection carried all twelve streams


def test_mutual_tls_requires_a_client_certificate(gateway, backend, certificates):
    gw = gateway(f"""
    [[listeners]]
    name = "mtls"
    address = "127.0.0.1:0"
    [listeners.tls]
    cert = "{certificates / 'server.pem'}"
    key = "{certificates / 'server.key'}"
    client_ca = "{certificates / 'ca.pem'}"
    [plugins.tf]
    path = "{BUILD / 'libtest_filters.so'}"
    [[routes]]
    name = "api"
    [[routes.filters]]
    plugin = "tf.inspect"
    [routes.backend]
    urls = ["{backend}"]
    """)
    port = gw.address('mtls').rsplit(':', 1)[1]
    url = f"https://localhost:{port}/m"
    resolve = ("--resolve", f"localhost:{port}:127.0.0.1")
    without = curl(*resolve, "--cacert", str(certificates / "ca.pem"), url)
    assert without.returncode != 0
    with_cert = curl(*resolve, "--http2", "--cacert", str(certificates / "ca.pem"), "--cert", str(certificates / "client.pem"),
                     "--key", str(certificates / "client.key"), url)
    assert with_cert.returncode == 0, with_cert.stderr
    echo = json.loads(with_cert.stdout)
    assert echo["path"] == "/m"
    # What plugins see (AGW_ATTR_*): the SNI the client asked for and its certificate's subject.
    assert echo["headers"]["x-attr-sni"] == "localhost"
    assert echo["headers"]["x-attr-subject"] == "CN=agent-7,O=Agents"
    assert echo["headers"]["x-attr-version"] == "HTTP/2"
    assert echo["headers"]["x-attr-scheme"] == "https"


def test_sigterm_drains_in_flight_requests(gateway, backend):
    gw = gateway(proxy_config(backend).replace("request_timeout_ms = 1500", "request_timeout_ms = 10000"))
    results = {}

    def slow():
        results["slow"] = request(gw.url + "/sleep/1.5", timeout=15)

    thread = threading.Thread(target=slow)
    thread.start()
    wait_for(lambda: True, timeout=0.1)
    time.sleep(0.4)  # let the request reach the backend
    gw.process.proc.send_signal(signal.SIGTERM)
    thread.join(20)
    assert results["slow"].status == 200  # finished, not cut off
    assert gw.process.proc.wait(15) == 0
    assert "draining" in gw.log() and "drained" in gw.log()


def test_sigterm_drains_in_flight_http2_streams(gateway, backend, certificates):
    gw = gateway(f"""
    [[listeners]]
    name = "tls"
    address = "127.0.0.1:0"
    [listeners.tls]
    cert = "{certificates / 'server.pem'}"
    key = "{certificates / 'server.key'}"
    [[routes]]
    name = "api"
    [routes.backend]
    urls = ["{backend}"]
    request_timeout_ms = 10000
    """)
    port = gw.address("tls").rsplit(":", 1)[1]
    proc = subprocess.Popen(["curl", "-sS", "--http2", "--max-time", "15", "--cacert", str(certificates / "ca.pem"),
                             "--resolve", f"localhost:{port}:127.0.0.1", "-w", "\n%{http_version} %{http_code}",
                             f"https://localhost:{port}/sleep/1.5"], stdout=subprocess.PIPE, text=True)
    time.sleep(0.5)  # the stream is open and waiting on the backend
    gw.process.proc.send_signal(signal.SIGTERM)
    out, _ = proc.communicate(timeout=20)
    assert out.rstrip().endswith("2 200"), out
    assert gw.process.proc.wait(15) == 0


def test_admin_endpoint_serves_metrics_and_health(gateway, backend):
    admin_port = free_port()
    gateway(proxy_config(backend, extra=f"""
    [admin]
    address = "127.0.0.1:{admin_port}"
    """))
    assert request(f"http://127.0.0.1:{admin_port}/healthz").text == "ok\n"
    assert "agw_requests_in_flight 0" in request(f"http://127.0.0.1:{admin_port}/metrics").text


def test_connections_by_protocol_and_failed_handshakes_are_counted(gateway, backend, certificates):
    from observability_helpers import delta, scrape
    gw = gateway(f"""
    [admin]
    address = "127.0.0.1:0"
    [[listeners]]
    name = "tls"
    address = "127.0.0.1:0"
    [listeners.tls]
    cert = "{certificates / 'server.pem'}"
    key = "{certificates / 'server.key'}"
    [[routes]]
    name = "api"
    [routes.backend]
    urls = ["{backend}"]
    """)
    admin = gw.address("admin")
    port = gw.address("tls").rsplit(":", 1)[1]
    before, _ = scrape(admin)
    plain = curl(f"http://127.0.0.1:{port}/plain")            # plaintext to a TLS port: the handshake fails
    assert plain.returncode != 0
    untrusted = curl(f"https://localhost:{port}/x", "--resolve", f"localhost:{port}:127.0.0.1")  # no CA: the client aborts
    assert untrusted.returncode != 0
    for flag in ["--http1.1", "--http2"]:
        ok = curl(flag, "--cacert", str(certificates / "ca.pem"), f"https://localhost:{port}/ok", "--resolve", f"localhost:{port}:127.0.0.1")
        assert ok.returncode == 0, ok.stderr

    def counted():
        after, _ = scrape(admin)
        return after if delta(before, after, "agw_http_connections_total", listener="tls", protocol="h2") == 1 else None
    after = wait_for(counted, what="the h2 connection counted")
    assert delta(before, after, "agw_http_connections_total", listener="tls", protocol="h1") == 1
    assert delta(before, after, "agw_tls_handshake_failures_total", listener="tls") == 2
    assert delta(before, after, "agw_http_requests_total", listener="tls", route="api", method="GET", status_class="2xx") == 2
    wait_for(lambda: scrape(admin)[0].get(("agw_http_connections_active", frozenset({("listener", "tls"), ("protocol", "h2")}))) == 0,
             what="the closed connections uncounted")
