"""What the security plugins' integration tests share: signers (PyJWT, `cryptography` keys), a
JWKS server, forged tokens, and gateway configs with jwt_auth, rbac and ratelimit."""
import base64
import hashlib
import hmac
import http.server
import json
import sys
import threading
import time

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client

from conftest import BUILD, ROOT


UPSTREAM = ROOT / "Tests" / "Fixtures" / "mcp" / "upstream_server.py"


ISSUER = "https://issuer.test"


AUDIENCE = "agentgateway-tests"


ACCEPT = {"content-type": "application/json", "accept": "application/json, text/event-stream"}


class Signer:
    """A signing key with a kid, and its public JWK."""

    def __init__(self, kid, kind="rsa"):
        self.kid = kid
        if kind == "rsa":
            self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
            self.alg = "RS256"
            self.jwk = json.loads(RSAAlgorithm.to_jwk(self.key.public_key()))
        else:
            self.key = ec.generate_private_key(ec.SECP256R1())
            self.alg = "ES256"
            self.jwk = json.loads(ECAlgorithm.to_jwk(self.key.public_key()))
        self.jwk["kid"] = kid

    def token(self, sub="alice", **claims):
        payload = {"sub": sub, "iss": ISSUER, "aud": AUDIENCE, "exp": int(time.time()) + 600, **claims}
        return jwt.encode(payload, self.key, algorithm=self.alg, headers={"kid": self.kid})

    @property
    def public_pem(self):
        return self.key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


def b64(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def forged(header, claims, secret=None):
    signing_input = f"{b64(json.dumps(header).encode())}.{b64(json.dumps(claims).encode())}"
    signature = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest() if secret else b""
    return f"{signing_input}.{b64(signature)}"


class JWKSServer:
    """Serves a JWKS that a test can change, and counts how often it was fetched."""

    def __init__(self, keys):
        self.keys = list(keys)
        self.fetches = 0
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                outer.fetches += 1
                body = json.dumps({"keys": outer.keys}).encode()
                self.send_response(200)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/jwks.json"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self):
        self.server.shutdown()


def plugins():
    return "\n".join(f'[plugins.{name}]\npath = "{BUILD / f"lib{name}.so"}"' for name in ["jwt_auth", "rbac", "ratelimit", "mcp"])


def http_route(backend, filters):
    return f"""
    [[listeners]]
    name = "main"
    address = "127.0.0.1:0"
    {plugins()}
    [[routes]]
    name = "api"
    {filters}
    [routes.backend]
    urls = ["{backend}"]
    """


def jwt_filter(keys, extra=""):
    return f"""
    [[routes.filters]]
    plugin = "jwt_auth"
    [routes.filters.config]
    {keys}
    issuer = "{ISSUER}"
    audiences = ["{AUDIENCE}"]
    {extra}
    """


def jwks_file(tmp_path, signers):
    path = tmp_path / "jwks.json"
    path.write_text(json.dumps({"keys": [signers["rsa"].jwk, signers["ec"].jwk]}))
    return f'jwks_file = "{path}"'


def bearer(token):
    return {"authorization": f"Bearer {token}"}


def mcp_gateway(gateway, tmp_path, signers, filters, jwt_extra="", routes="", **options):
    """A gateway whose /mcp route has jwt_auth, then `filters`, then the MCP handler with one stdio target."""
    return gateway(f"""
    [[listeners]]
    name = "main"
    address = "127.0.0.1:0"
    {plugins()}
    {routes}
    [[routes]]
    name = "mcp"
    [routes.match]
    path = "/mcp"
    {jwt_filter(jwks_file(tmp_path, signers), jwt_extra)}
    {filters}
    [routes.handler]
    plugin = "mcp"
    [routes.handler.config]
    [[routes.handler.config.targets]]
    name = "local"
    type = "stdio"
    command = "{sys.executable}"
    args = ["{UPSTREAM}", "local", "stdio"]
    """, **options)


def client(url, token, mode):
    http_client = create_mcp_http_client(headers=bearer(token))
    return Client(streamable_http_client(url, http_client=http_client), mode=mode)
