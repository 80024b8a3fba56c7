"""The demo REST API behind examples/gateway.toml's `todo` target: a to-do list in memory, JSON
over HTTP (stdlib only). Its operations are described by openapi.yaml next to this file.
With TODO_API_TOKEN set, every request needs `authorization: Bearer <that token>` (401 otherwise).
Usage: app.py [PORT]   (default 9200; listens on 127.0.0.1)"""
import json
import os
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

PORT = int(sys.argv[1]) if len(sys.argv) > 1 else 9200
LOCK = threading.Lock()
TODOS = {1: {"id": 1, "title": "Try the gateway's OpenAPI tools", "due": None, "done": False}}
NEXT_ID = [2]
TOKEN = os.environ.get("TODO_API_TOKEN")


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def answer(self, status, value=None):
        body = b"" if value is None else json.dumps(value).encode()
        self.send_response(status)
        if value is not None:
            self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def body(self):
        length = int(self.headers.get("content-length") or 0)
        try:
            value = json.loads(self.rfile.read(length) or b"null")
        except ValueError:
            return None
        return value if isinstance(value, dict) else None

    def todo_id(self):
        parts = urlsplit(self.path).path.strip("/").split("/")
        if len(parts) == 2 and parts[0] == "todos" and parts[1].isdigit():
            return int(parts[1])
        return None

    def parse_request(self):
        if not super().parse_request():
            return False
        if TOKEN and self.headers.get("authorization") != f"Bearer {TOKEN}":
            self.answer(401, {"detail": "a bearer token is required"})
            return False
        return True

    def do_GET(self):
        url = urlsplit(self.path)
        if url.path == "/todos":
            query = parse_qs(url.query)
            limit = int(query.get("limit", ["20"])[0])
            with LOCK:
                todos = list(TODOS.values())
            if "done" in query:
                todos = [t for t in todos if t["done"] == (query["done"][0] == "true")]
            return self.answer(200, todos[:limit])
        todo_id = self.todo_id()
        with LOCK:
            todo = TODOS.get(todo_id)
        if todo is None:
            return self.answer(404, {"detail": f"no to-do {todo_id}"})
        self.answer(200, todo)

    def do_POST(self):
        if urlsplit(self.path).path != "/todos":
            return self.answer(404, {"detail": "not found"})
        new = self.body()
        if new is None or not isinstance(new.get("title"), str) or not new["title"]:
            return self.answer(422, {"detail": "a to-do needs a non-empty title"})
        with LOCK:
            todo = {"id": NEXT_ID[0], "title": new["title"], "due": new.get("due"), "done": False}
            TODOS[todo["id"]] = todo
            NEXT_ID[0] += 1
        self.answer(201, todo)

    def do_PATCH(self):
        todo_id, change = self.todo_id(), self.body()
        with LOCK:
            todo = TODOS.get(todo_id)
            if todo is not None and change is not None:
                todo.update({k: v for k, v in change.items() if k in ("title", "done", "due")})
        if todo is None:
            return self.answer(404, {"detail": f"no to-do {todo_id}"})
        self.answer(200, todo)

    def do_DELETE(self):
        todo_id = self.todo_id()
        with LOCK:
            todo = TODOS.pop(todo_id, None)
        if todo is None:
            return self.answer(404, {"detail": f"no to-do {todo_id}"})
        self.answer(204)

    def log_message(self, format, *args):
        pass


ThreadingHTTPServer(("127.0.0.1", PORT), Handler).serve_forever()
