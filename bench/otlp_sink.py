"""A stand-in OTLP/HTTP collector for the benchmarks: accepts every export (200, an empty
ExportTraceServiceResponse) and prints one line per export, `spans N`, with the spans it held
(counted by walking the protobuf's wire format: ExportTraceServiceRequest.resource_spans(1) →
ResourceSpans.scope_spans(2) → ScopeSpans.spans(2)). Usage: otlp_sink.py PORT"""
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def varint(data, offset):
    value, shift = 0, 0
    while True:
        byte = data[offset]
        offset += 1
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            return value, offset
        shift += 7


def fields(message, number):
    """The length-delimited fields with this number in a protobuf message."""
    found, offset = [], 0
    while offset < len(message):
        key, offset = varint(message, offset)
        kind = key & 7
        if kind == 0:
            _, offset = varint(message, offset)
        elif kind == 1:
            offset += 8
        elif kind == 5:
            offset += 4
        elif kind == 2:
            length, offset = varint(message, offset)
            if key >> 3 == number:
                found.append(message[offset:offset + length])
            offset += length
        else:
            raise ValueError(f"wire type {kind}")
    return found


class Sink(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    received = 0

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("content-length", 0)))
        Sink.received += len(body)
        spans = sum(len(fields(scope, 2)) for resource in fields(body, 1) for scope in fields(resource, 2))
        print(f"spans {spans}", flush=True)
        self.send_response(200)
        self.send_header("content-type", "application/x-protobuf")
        self.send_header("content-length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Sink).serve_forever()
