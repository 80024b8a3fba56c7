"""A few operations of the Swagger Petstore 3.0 example (petstore3.yaml beside this file), under
/api/v3 as that document's server URL has it, for the gateway's `openapi` target tests.

Usage: petstore_server.py PORT. Every request is appended to $API_REQUESTS (one JSON line:
method, path, query, headers, body) when it is set. Pet 666 answers 500.
"""
import json
import os
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

PETS = {
    1: {"id": 1, "name": "doggie", "category": {"id": 1, "name": "Dogs"}, "photoUrls": [], "tags": [{"id": 1, "name": "good"}], "status": "available"},
    2: {"id": 2, "name": "kitty", "category": {"id": 2, "name": "Cats"}, "photoUrls": [], "tags": [{"id": 2, "name": "lazy"}], "status": "sold"},
}
LOCK = threading.Lock()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def reply(self, status, value=None, content_type="application/json"):
        body = b"" if value is None else (value if isinstance(value, bytes) else json.dumps(value).encode())
        self.send_response(status)
        if body:
            self.send_header("content-type", content_type)
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def handle_any(self, method):
        parts = urlsplit(self.path)
        query = parse_qs(parts.query)
        length = int(self.headers.get("content-length") or 0)
        body = self.rfile.read(length) if length else b""
        log = os.environ.get("API_REQUESTS")
        if log:
            with open(log, "a") as out:
                out.write(json.dumps({"method": method, "path": parts.path, "query": parts.query,
                                      "headers": {k.lower(): v for k, v in self.headers.items()},
                                      "body": body.decode(errors="replace")}) + "\n")
        path = parts.path.removeprefix("/api/v3")
        with LOCK:
            if method == "GET" and path == "/pet/findByStatus":
                status = query.get("status", ["available"])[0]
                return self.reply(200, [p for p in PETS.values() if p["status"] == status])
            if method == "GET" and path == "/pet/findByTags":
                tags = query.get("tags", [])
                return self.reply(200, [p for p in PETS.values() if any(t["name"] in tags for t in p["tags"])])
            if method == "GET" and path == "/store/inventory":
                counts = {}
                for pet in PETS.values():
                    counts[pet["status"]] = counts.get(pet["status"], 0) + 1
                return self.reply(200, counts)
            if method == "GET" and path == "/user/login":
                return self.reply(200, f"logged in user session:{query.get('username', ['?'])[0]}")
            if method in ("POST", "PUT") and path == "/pet":
                pet = json.loads(body or b"{}")
                if "name" not in pet or "photoUrls" not in pet:
                    return self.reply(422, {"code": 422, "message": "name and photoUrls are required"})
                pet.setdefault("id", max(PETS) + 1)
                PETS[pet["id"]] = pet
                return self.reply(200, pet)
            if path.startswith("/pet/"):
                try:
                    pet_id = int(path.split("/")[2])
                except ValueError:
                    return self.reply(400, {"code": 400, "message": "Invalid ID supplied"})
                if pet_id == 666:
                    return self.reply(500, {"code": 500, "message": "the pet database is down"})
                if pet_id not in PETS:
                    return self.reply(404, {"code": 404, "message": "Pet not found"})
                if method == "GET":
                    return self.reply(200, PETS[pet_id])
                if method == "DELETE":
                    del PETS[pet_id]
                    return self.reply(200)
                if method == "POST":
                    for key in ("name", "status"):
                        if key in query:
                            PETS[pet_id][key] = query[key][0]
                    return self.reply(200, PETS[pet_id])
        return self.reply(404, {"code": 404, "message": f"no route {method} {parts.path}"})

    def do_GET(self):
        self.handle_any("GET")

    def do_POST(self):
        self.handle_any("POST")

    def do_PUT(self):
        self.handle_any("PUT")

    def do_DELETE(self):
        self.handle_any("DELETE")


if __name__ == "__main__":
    server = ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Handler)
    print(f"petstore listening on {sys.argv[1]}", flush=True)
    server.serve_forever()
