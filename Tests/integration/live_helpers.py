"""What the live-configuration tests share: a paced, bounded load generator over HTTP/1.1 and
HTTP/2 that counts every failed request, certificates to rotate, and the admin API."""
import http.client
import json
import ssl
import subprocess
import threading
import time
import urllib.request

import httpx

from conftest import request


class Load:
    """Worker threads, each sending one kind of request at a fixed rate until `stop()`. A request
    fails when it raises or its check says so; every failure is kept with its reason."""

    def __init__(self):
        self.stopping = threading.Event()
        self.lock = threading.Lock()
        self.sent = {}
        self.failures = []
        self.threads = []

    def add(self, name, connect, send, rate):
        """connect() -> client; send(client) -> None (ok) or a failure reason. rate: requests/s."""
        self.sent[name] = 0
        thread = threading.Thread(target=self._run, args=(name, connect, send, rate), daemon=True)
        self.threads.append(thread)

    def start(self):
        for thread in self.threads:
            thread.start()

    def _run(self, name, connect, send, rate):
        client = connect()
        interval = 1.0 / rate
        due = time.monotonic()
        while not self.stopping.is_set():
            try:
                reason = send(client)
            except Exception as error:  # noqa: BLE001 - every failure counts, whatever it is
                reason = f"{type(error).__name__}: {error}"
                try:
                    client.close()
                except Exception:  # noqa: BLE001
                    pass
                client = connect()
            with self.lock:
                self.sent[name] += 1
                if reason:
                    self.failures.append(f"{name}: {reason}")
            due += interval
            time.sleep(max(0.0, due - time.monotonic()))
        client.close()

    def stop(self):
        self.stopping.set()
        for thread in self.threads:
            thread.join(timeout=30)
        return sum(self.sent.values())


def http1(address):
    host, port = address.rsplit(":", 1)
    return lambda: http.client.HTTPConnection(host, int(port), timeout=10)


def http1_get(path, check):
    def send(connection):
        connection.request("GET", path)
        response = connection.getresponse()
        body = response.read()
        return check(response.status, dict((k.lower(), v) for k, v in response.getheaders()), body)
    return send


def http1_post(path, body, headers, check):
    def send(connection):
        connection.request("POST", path, body=body, headers=headers)
        response = connection.getresponse()
        data = response.read()
        return check(response.status, dict((k.lower(), v) for k, v in response.getheaders()), data)
    return send


def http2(ca_file):
    context = ssl.create_default_context(cafile=str(ca_file))
    return lambda: httpx.Client(http2=True, verify=context, timeout=10)


def http2_send(method, url, check, body=None, headers=None):
    def send(client):
        response = client.request(method, url, content=body, headers=headers)
        if response.http_version != "HTTP/2":
            return f"spoke {response.http_version}, not HTTP/2"
        return check(response.status_code, {k.lower(): v for k, v in response.headers.items()}, response.content)
    return send


def make_certificates(directory, names):
    """A CA and one server certificate for 127.0.0.1 per name (CN = name): {name: (cert, key)}, ca."""
    def run(*args):
        subprocess.run(["openssl", *args], check=True, capture_output=True, cwd=directory)
    run("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.pem", "-days", "2",
        "-subj", "/CN=live-test-ca")
    (directory / "san.cnf").write_text("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
    certificates = {}
    for name in names:
        run("req", "-newkey", "rsa:2048", "-nodes", "-keyout", f"{name}.key", "-out", f"{name}.csr", "-subj", f"/CN={name}")
        run("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
            "-out", f"{name}.pem", "-days", "2", "-extfile", "san.cnf")
        certificates[name] = (directory / f"{name}.pem", directory / f"{name}.key")
    return certificates, directory / "ca.pem"


def served_certificate(address):
    """The PEM certificate a new TLS handshake on `address` is given."""
    host, port = address.rsplit(":", 1)
    return ssl.get_server_certificate((host, int(port)))


def same_certificate(pem_a, pem_b):
    return ssl.PEM_cert_to_DER_cert(pem_a) == ssl.PEM_cert_to_DER_cert(pem_b)


def put_config(admin, text, dry_run=False, headers=None):
    suffix = "?dry_run=true" if dry_run else ""
    response = request(f"http://{admin}/config{suffix}", "PUT", headers or {}, text)
    return response.status, json.loads(response.body) if response.body.startswith(b"{") else response.text


def generations(admin):
    with urllib.request.urlopen(f"http://{admin}/config/generations", timeout=10) as response:
        return json.loads(response.read())


def metric(admin, name, labels=""):
    """The value of one sample line of /metrics (0 when absent)."""
    text = request(f"http://{admin}/metrics").text
    for line in text.splitlines():
        if line.startswith(name + (f"{{{labels}}}" if labels else "")) and " " in line:
            head = line.split(" ")[0]
            if not labels and "{" in head:
                continue
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def children(pid):
    """PIDs and command lines of a process's children."""
    out = subprocess.run(["ps", "-o", "pid=,args=", "--ppid", str(pid)], capture_output=True, text=True).stdout
    return {int(line.split(None, 1)[0]): line.split(None, 1)[1] for line in out.splitlines() if line.strip()}
