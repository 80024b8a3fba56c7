"""A minimal, fast REST API for benchmarks (stdlib asyncio, no framework), with its own OpenAPI 3.1
document at /openapi.json: GET /items/{id}?size=N answers {"id": id, "name": N bytes of text}.
Usage: rest_backend.py PORT"""
import json
import sys

import http_backend
from urllib.parse import parse_qs, urlsplit

PORT = int(sys.argv[1])
DOCUMENT = json.dumps({
    "openapi": "3.1.0",
    "info": {"title": "Bench items", "version": "1"},
    "servers": [{"url": f"http://127.0.0.1:{PORT}"}],
    "paths": {"/items/{id}": {"get": {
        "operationId": "getItem",
        "summary": "One item",
        "parameters": [
            {"name": "id", "in": "path", "required": True, "schema": {"type": "integer"}},
            {"name": "size", "in": "query", "schema": {"type": "integer", "default": 16}},
        ],
        "responses": {"200": {"description": "The item", "content": {"application/json": {"schema": {
            "type": "object", "properties": {"id": {"type": "integer"}, "name": {"type": "string"}}}}}}},
    }}},
}).encode()
PAYLOADS = {}


def answer(target):
    url = urlsplit(target)
    if url.path == "/openapi.json":
        return 200, DOCUMENT
    parts = url.path.split("/")[-2:]  # /items/N, or a proxy's /prefix/items/N
    if len(parts) != 2 or parts[0] != "items" or not parts[1].isdigit():
        return 404, b'{"detail":"Not Found"}'
    parts = [""] + parts
    size = int(parse_qs(url.query).get("size", ["16"])[0])
    key = (parts[2], size)
    if key not in PAYLOADS:
        PAYLOADS[key] = json.dumps({"id": int(parts[2]), "name": "x" * size}).encode()
    return 200, PAYLOADS[key]


class Connection(http_backend.Connection):
    def request(self, method, target, head, body):
        self.reply(*answer(target))


http_backend.serve(Connection, PORT)
