"""An OTLP trace receiver for the tests: decodes each export with the official OpenTelemetry
protobuf definitions (opentelemetry-proto) — a POST /v1/traces body (OTLP/HTTP), or a
TraceService/Export call (OTLP/gRPC, with grpcio) — and appends one JSON line per span to a file.
Usage: receiver.py PORT OUT_FILE [grpc]. Prints "listening on PORT" when ready."""
import json
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest, ExportTraceServiceResponse
from opentelemetry.proto.trace.v1.trace_pb2 import Span

PORT = int(sys.argv[1])
OUT = sys.argv[2]


def value(any_value):
    kind = any_value.WhichOneof("value")
    return getattr(any_value, kind) if kind else None


def attributes(items):
    return {item.key: value(item.value) for item in items}


def record(request, headers):
    with open(OUT, "a") as out:
        for resource_spans in request.resource_spans:
            resource = attributes(resource_spans.resource.attributes)
            for scope_spans in resource_spans.scope_spans:
                for span in scope_spans.spans:
                    out.write(json.dumps({
                        "service": resource.get("service.name"), "resource": resource, "scope": scope_spans.scope.name,
                        "trace_id": span.trace_id.hex(), "span_id": span.span_id.hex(), "parent_span_id": span.parent_span_id.hex(),
                        "name": span.name, "kind": Span.SpanKind.Name(span.kind), "attributes": attributes(span.attributes),
                        "events": [{"name": e.name, "attributes": attributes(e.attributes)} for e in span.events],
                        "status": span.status.code, "start": span.start_time_unix_nano, "end": span.end_time_unix_nano,
                        "headers": headers,
                    }) + "\n")


class Handler(BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("content-length", 0)))
        if self.path != "/v1/traces" or self.headers.get("content-type") != "application/x-protobuf":
            self.send_response(404)
            self.end_headers()
            return
        request = ExportTraceServiceRequest()
        request.ParseFromString(body)
        record(request, {"x-collector-key": self.headers.get("x-collector-key"), "transport": "http"})
        reply = ExportTraceServiceResponse().SerializeToString()
        self.send_response(200)
        self.send_header("content-type", "application/x-protobuf")
        self.send_header("content-length", str(len(reply)))
        self.end_headers()
        self.wfile.write(reply)

    def log_message(self, *args):
        pass


if len(sys.argv) > 3 and sys.argv[3] == "grpc":
    from concurrent import futures

    import grpc
    from opentelemetry.proto.collector.trace.v1 import trace_service_pb2_grpc

    class TraceService(trace_service_pb2_grpc.TraceServiceServicer):
        def Export(self, request, context):
            metadata = dict(context.invocation_metadata())
            record(request, {"x-collector-key": metadata.get("x-collector-key"), "transport": "grpc"})
            return ExportTraceServiceResponse()

    server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
    trace_service_pb2_grpc.add_TraceServiceServicer_to_server(TraceService(), server)
    server.add_insecure_port(f"127.0.0.1:{PORT}")
    server.start()
    print(f"listening on {PORT}", flush=True)
    server.wait_for_termination()
else:
    server = ThreadingHTTPServer(("127.0.0.1", PORT), Handler)
    print(f"listening on {server.server_address[1]}", flush=True)
    server.serve_forever()
