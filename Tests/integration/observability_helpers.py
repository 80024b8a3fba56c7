"""What the observability tests share: /metrics parsed into samples, an OTLP receiver
(Tests/Fixtures/otlp/receiver.py, decoding with opentelemetry-proto), and the traced MCP server."""
import json
import os
import re
import subprocess
import sys
from pathlib import Path

from conftest import ROOT, Process, free_port, request, wait_for

RECEIVER = ROOT / "Tests" / "Fixtures" / "otlp" / "receiver.py"
TRACED_SERVER = ROOT / "Tests" / "Fixtures" / "mcp" / "traced_server.py"
SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$')
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


def scrape(admin):
    """/metrics as {(name, frozenset(labels)): value}, and the raw text."""
    text = request(f"http://{admin}/metrics").text
    samples = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        match = SAMPLE.match(line)
        assert match, f"not a sample line: {line!r}"
        labels = frozenset(LABEL.findall(match.group(2) or ""))
        samples[(match.group(1), labels)] = float(match.group(3))
    return samples, text


def sample(samples, name, **labels):
    """One sample's value (0 when the series does not exist yet)."""
    return samples.get((name, frozenset(labels.items())), 0.0)


def delta(before, after, name, **labels):
    return sample(after, name, **labels) - sample(before, name, **labels)


def promtool_check(text, tmp_path):
    """`promtool check metrics` on a scrape; returns its output (fails the test on a problem)."""
    result = subprocess.run(["promtool", "check", "metrics"], input=text, capture_output=True, text=True)
    assert result.returncode == 0, f"promtool: {result.stdout}{result.stderr}"
    return result.stdout + result.stderr


class Receiver:
    """An OTLP/HTTP collector on a free port; spans() reads what it decoded so far."""

    def __init__(self, tmp_path, grpc=False):
        self.file = tmp_path / "spans.jsonl"
        self.port = free_port()
        self.process = Process([sys.executable, str(RECEIVER), str(self.port), str(self.file), *(["grpc"] if grpc else [])],
                               tmp_path / "receiver.log")
        wait_for(lambda: "listening on" in self.process.output(), what="OTLP receiver")
        self.endpoint = f"http://127.0.0.1:{self.port}" + ("" if grpc else "/v1/traces")

    def spans(self):
        if not self.file.exists():
            return []
        return [json.loads(line) for line in self.file.read_text().splitlines() if line.strip()]

    def stop(self):
        self.process.stop()


def traced_server(tmp_path, collector):
    """The traced MCP server (official SDK + OpenTelemetry SDK) over Streamable HTTP."""
    port = free_port()
    proc = Process([sys.executable, str(TRACED_SERVER), "http", str(port)], tmp_path / "traced.log",
                   env={**os.environ, "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": collector})
    wait_for(lambda: "Uvicorn running" in proc.output(), timeout=20, what="traced upstream")
    return proc, f"http://127.0.0.1:{port}/mcp"


def traced_stdio_target(name, collector):
    return f"""
    [[routes.handler.config.targets]]
    name = "{name}"
    type = "stdio"
    command = "{sys.executable}"
    args = ["{TRACED_SERVER}", "stdio"]
    env = {{ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT = "{collector}" }}
    """


def access_lines(path):
    return [json.loads(line) for line in Path(path).read_text().splitlines() if line.strip()] if Path(path).exists() else []
