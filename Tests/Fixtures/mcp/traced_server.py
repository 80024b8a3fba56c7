"""A Streamable HTTP (or stdio) MCP server built with the official Python SDK whose own spans go to
an OTLP collector through the official OpenTelemetry SDK: the SDK's server middleware continues the
trace it finds in a request's `_meta` (SEP-414). Its one tool, `trace_context`, reports what trace
context it received: the HTTP `traceparent` header and `_meta.traceparent`.
Usage: traced_server.py http PORT | stdio   (OTEL_EXPORTER_OTLP_TRACES_ENDPOINT names the collector)"""
import json
import sys

from opentelemetry import trace
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor

provider = TracerProvider(resource=Resource.create({"service.name": "traced-mcp-server"}))
provider.add_span_processor(SimpleSpanProcessor(OTLPSpanExporter()))
trace.set_tracer_provider(provider)

from mcp.server.mcpserver import Context, MCPServer  # noqa: E402 (after the provider is set)

TRANSPORT = sys.argv[1]
server = MCPServer("traced")


@server.tool()
def trace_context(ctx: Context) -> str:
    """The trace context this call arrived with: {"header": ..., "meta": ...}."""
    meta = ctx.request_context.meta
    meta_traceparent = (meta if isinstance(meta, dict) else (getattr(meta, "model_extra", None) or {})).get("traceparent") if meta else None
    return json.dumps({"header": (ctx.headers or {}).get("traceparent"), "meta": meta_traceparent})


if __name__ == "__main__":
    if TRANSPORT == "stdio":
        server.run("stdio")
    else:
        server.run("streamable-http", host="127.0.0.1", port=int(sys.argv[2]))
