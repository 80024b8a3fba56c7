"""Integration-test harness: real gateway processes, real backends, real sockets on 127.0.0.1.

The gateway binary and Swift plugins come from the build directory (AGW_BUILD_DIR, default
.build/debug). Every process a test starts is stopped by its PID."""
import json
import os
import re
import signal
import socket
import subprocess
import sys
import textwrap
import time
import urllib.request
from pathlib import Path

import pytest


ROOT = Path(__file__).resolve().parents[2]
BUILD = Path(os.environ.get("AGW_BUILD_DIR", ROOT / ".build" / "debug"))
GATEWAY = BUILD / "agentgateway"
HEADER_DIR = ROOT / "Sources" / "PluginABI" / "include"


def wait_for(predicate, timeout=10.0, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}")


class Process:
    """A child process whose output goes to a file we can read while it runs."""

    def __init__(self, args, log_path, env=None, cwd=None, preexec_fn=None):
        self.log_path = log_path
        self.log = open(log_path, "wb")
        self.proc = subprocess.Popen(args, stdout=self.log, stderr=subprocess.STDOUT, env=env, cwd=cwd, preexec_fn=preexec_fn)

    def output(self):
        return Path(self.log_path).read_text(errors="replace")

    def stop(self, sig=signal.SIGTERM, timeout=15):
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()
        return self.proc.returncode


@pytest.fixture
def tmp(tmp_path):
    return tmp_path


@pytest.fixture
def backend(tmp_path):
    """The echo backend (examples/echo_backend.py) on a free port."""
    proc = Process([sys.executable, str(ROOT / "examples" / "echo_backend.py"), "0"], tmp_path / "backend.log")
    port = int(wait_for(lambda: re.search(r"listening on (\d+)", proc.output()), what="backend").group(1))
    yield f"http://127.0.0.1:{port}"
    proc.stop()


class Gateway:
    """A running agentgateway on a generated config; ports come from its 'listening' log lines."""

    def __init__(self, config_text, tmp_path, name="gateway", extra_args=(), preexec_fn=None):
        self.dir = tmp_path
        self.config = tmp_path / f"{name}.toml"
        self.config.write_text(textwrap.dedent(config_text))
        self.process = Process([str(GATEWAY), "--config", str(self.config), *extra_args], tmp_path / f"{name}.log", preexec_fn=preexec_fn)
        self.addresses = {}
        wait_for(self._listening, what="gateway listening")
        self.url = f"http://{next(iter(self.addresses.values()))}"

    def _listening(self):
        """Listener name → bound address, from the 'listening' log lines so far (a reload may add some)."""
        if self.process.proc.poll() is not None:
            raise AssertionError(f"gateway exited ({self.process.proc.returncode}):\n{self.process.output()}")
        output = self.process.output()
        self.addresses = {m.group(2): m.group(1) for m in re.finditer(r"address=(\S+) listener=(\S+)", output)}
        # --log-format json: {"address":"…","listener":"…"}
        self.addresses.update({m.group(2): m.group(1) for m in re.finditer(r'"address":"([^"]+)","listener":"([^"]+)"', output)})
        return self.addresses

    def address(self, listener):
        return wait_for(lambda: self._listening().get(listener), what=f"listener {listener}")

    def log(self):
        return self.process.output()

    def stop(self, sig=signal.SIGTERM):
        return self.process.stop(sig)


@pytest.fixture
def gateway(tmp_path):
    started = []

    def start(config_text, **kwargs):
        gw = Gateway(config_text, tmp_path, name=f"gateway{len(started)}", **kwargs)
        started.append(gw)
        return gw

    yield start
    for gw in started:
        gw.stop()


class Response:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers
        self.body = body

    def json(self):
        return json.loads(self.body)

    @property
    def text(self):
        return self.body.decode("utf-8", "replace")


def request(url, method="GET", headers=None, body=None, timeout=10):
    """One HTTP request; returns the response for any status (no exception on 4xx/5xx)."""
    data = body.encode() if isinstance(body, str) else body
    req = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return Response(resp.status, {k.lower(): v for k, v in resp.headers.items()}, resp.read())
    except urllib.error.HTTPError as err:
        return Response(err.code, {k.lower(): v for k, v in err.headers.items()}, err.read())


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


_REFUSING = []  # bound, never listening: kept for the session so no server can take their ports


def refused_port():
    """A port where a connection is refused for the whole session: bound but not listening. (A
    port free_port() returned may be taken by the next server a test starts, the gateway itself
    included, and then it answers.)"""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    _REFUSING.append(s)
    return s.getsockname()[1]


@pytest.fixture(scope="session")
def c_fixtures(tmp_path_factory):
    """Tests/Fixtures/c/abi_fixture.c built once per broken-in-one-way case, and host_api_misuse.c as
    "MISUSE"; header only, warnings as errors."""
    out = tmp_path_factory.mktemp("c-fixtures")
    cases = ["PLAIN", "CONFIG_NULL", "UNKNOWN_STATUS", "NO_ENTRY", "WRONG_MAJOR_SYMBOL", "WRONG_MAJOR_FIELD",
             "ENTRY_NULL", "SMALL_STRUCT", "FOREIGN_SWIFT"]
    sources = [(case, "abi_fixture.c", [f"-D{case}"]) for case in cases] + [("MISUSE", "host_api_misuse.c", [])]
    built = {}
    for name, source, defines in sources:
        target = out / f"lib{name.lower()}.so"
        subprocess.run(["cc", "-std=c11", "-Wall", "-Wextra", "-pedantic", "-Werror", "-shared", "-fPIC",
                        "-fvisibility=hidden", *defines, "-I", str(HEADER_DIR),
                        str(ROOT / "Tests" / "Fixtures" / "c" / source), "-o", str(target)], check=True)
        built[name] = target
    return built


@pytest.fixture(scope="session")
def c_example(tmp_path_factory):
    """examples/c-filter/stamp_filter.c built the way the README says, against the header alone."""
    out = tmp_path_factory.mktemp("c-example") / "libstamp_filter.so"
    subprocess.run(["cc", "-std=c99", "-Wall", "-Wextra", "-pedantic", "-Werror", "-shared", "-fPIC", "-fvisibility=hidden",
                    "-I", str(HEADER_DIR), str(ROOT / "examples" / "c-filter" / "stamp_filter.c"), "-o", str(out)], check=True)
    return out


def proxy_config(backend, filters="", extra="", plugins="", route_extra=""):
    return f"""
    [[listeners]]
    name = "main"
    address = "127.0.0.1:0"
    {extra}
    {plugins}
    [[routes]]
    name = "api"
    {route_extra}
    {filters}
    [routes.backend]
    urls = ["{backend}"]
    connect_timeout_ms = 500
    request_timeout_ms = 1500
    """


@pytest.fixture(scope="module")
def signers():
    """Token signers for the security tests: RSA and EC keys, and a stranger reusing the RSA kid."""
    from security_helpers import Signer
    return {"rsa": Signer("rsa-1"), "ec": Signer("ec-1", "ec"), "stranger": Signer("rsa-1")}


@pytest.fixture
def upstreams(tmp_path):
    """One legacy-SSE and one Streamable HTTP upstream (Tests/Fixtures/mcp/upstream_server.py)."""
    from mcp_helpers import serve
    started = [serve(tmp_path, "legacy", "sse"), serve(tmp_path, "remote", "http")]
    yield {"legacy": started[0][1], "remote": started[1][1]}
    for proc, _ in started:
        proc.stop()


def curl(*args):
    return subprocess.run(["curl", "-sS", "--max-time", "10", *args], capture_output=True, text=True)
