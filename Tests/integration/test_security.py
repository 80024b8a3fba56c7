"""The security plugins (jwt_auth, rbac, ratelimit) on real traffic: tokens signed with PyJWT and
keys made by `cryptography`, attacks on the verifier, a JWKS served over HTTP and rotated, the
RFC 9728 metadata, an RBAC matrix through the official MCP client, and rate limits under a
concurrent burst."""
import asyncio
import base64
import concurrent.futures
import hashlib
import hmac
import http.server
import json
import sys
import textwrap
import threading
import time

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client
from mcp.shared.exceptions import MCPError

from conftest import BUILD, ROOT, request, wait_for

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


@pytest.fixture(scope="module")
def signers():
    return {"rsa": Signer("rsa-1"), "ec": Signer("ec-1", "ec"), "stranger": Signer("rsa-1")}


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


def test_valid_tokens_pass_and_attacks_get_401_with_the_reason_logged(gateway, backend, tmp_path, signers):
    gw = gateway(http_route(backend, jwt_filter(jwks_file(tmp_path, signers))))
    for kind in ["rsa", "ec"]:
        resp = request(gw.url + "/ok", headers=bearer(signers[kind].token()))
        assert resp.status == 200, resp.text
        assert "authorization" not in resp.json()["headers"]  # the client's token stays at the gateway
    now = int(time.time())
    claims = {"sub": "mallory", "iss": ISSUER, "aud": AUDIENCE, "exp": now + 600}
    attacks = {
        "alg none": (forged({"alg": "none", "typ": "JWT"}, claims), 'alg "none"'),
        "HS256 signed with the RSA public key": (
            forged({"alg": "HS256", "kid": "rsa-1"}, claims, signers["rsa"].public_pem), 'alg "HS256" is not among the accepted'),
        "expired": (signers["rsa"].token(exp=now - 3600), "the token expired"),
        "wrong audience": (signers["rsa"].token(aud="someone-else"), "aud someone-else names none of the accepted audiences"),
        "wrong issuer": (signers["rsa"].token(iss="https://evil.test"), 'iss "https://evil.test" is not an accepted issuer'),
        "signed by an unknown key": (signers["stranger"].token(), "the signature does not verify"),
        "an unknown kid": (jwt.encode(claims, signers["stranger"].key, algorithm="RS256", headers={"kid": "rsa-9"}), 'no key with kid "rsa-9"'),
        "malformed": ("not.a-token", "malformed token"),
        "not even three parts": ("abc", "malformed token: expected three dot-separated parts"),
    }
    for name, (token, reason) in attacks.items():
        before = gw.log().count("jwt-auth: rejected")
        resp = request(gw.url + "/attack", headers=bearer(token))
        assert resp.status == 401, (name, resp.status, resp.text)
        challenge = resp.headers["www-authenticate"]
        assert challenge.startswith('Bearer realm="agentgateway", error="invalid_token"'), (name, challenge)
        assert resp.json()["error"] == "invalid_token"
        wait_for(lambda: gw.log().count("jwt-auth: rejected") > before, what=f"the log line for {name}")
        assert reason in gw.log().split("jwt-auth: rejected")[-1].splitlines()[0], (name, gw.log()[-500:])
    resp = request(gw.url + "/none")
    assert resp.status == 401 and resp.headers["www-authenticate"] == 'Bearer realm="agentgateway"'
    assert "no credentials" in gw.log()


def test_api_keys_and_modes(gateway, backend, tmp_path, signers):
    digest = hashlib.sha256(b"ci-secret-key").hexdigest()
    api_keys = f"""
    [[routes.filters.config.api_keys]]
    name = "ci"
    sha256 = "{digest}"
    groups = ["deployers"]
    metadata = {{ team = "infra" }}
    """
    rbac = """
    [[routes.filters]]
    plugin = "rbac"
    [[routes.filters.config.http_rules]]
    name = "deployers or alice"
    allow = '"deployers" in apiKey.groups && apiKey.team == "infra" || jwt.sub == "alice"'
    """
    gw = gateway(http_route(backend, jwt_filter(jwks_file(tmp_path, signers), api_keys) + rbac))
    assert request(gw.url + "/k", headers={"x-api-key": "ci-secret-key"}).status == 200
    assert request(gw.url + "/k", headers=bearer("ci-secret-key")).status == 200  # an API key as a bearer token
    assert request(gw.url + "/k", headers={"x-api-key": "guess"}).status == 401
    assert request(gw.url + "/k", headers=bearer(signers["ec"].token("alice"))).status == 200
    denied = request(gw.url + "/k", headers=bearer(signers["ec"].token("bob")))
    assert denied.status == 403 and denied.json()["error"] == "forbidden"

    optional = gateway(http_route(backend, jwt_filter(jwks_file(tmp_path, signers), 'mode = "optional"')))
    assert request(optional.url + "/anon").status == 200
    assert request(optional.url + "/bad", headers=bearer("x.y.z")).status == 401
    basic = request(optional.url + "/basic", headers={"authorization": "Basic dXNlcjpwdw=="})  # not ours: left alone
    assert basic.status == 200 and basic.json()["headers"]["authorization"] == "Basic dXNlcjpwdw=="
    permissive = gateway(http_route(backend, jwt_filter(jwks_file(tmp_path, signers), 'mode = "permissive"')))
    assert request(permissive.url + "/bad", headers=bearer("x.y.z")).status == 200
    wait_for(lambda: "would reject (permissive): malformed token" in permissive.log(), what="the permissive log line")


def test_jwks_url_is_fetched_once_cached_and_refreshed_for_an_unknown_kid(gateway, backend, signers):
    jwks = JWKSServer([signers["rsa"].jwk])
    try:
        gw = gateway(http_route(backend, jwt_filter(f'jwks_url = "{jwks.url}"', "jwks_min_refresh_seconds = 0")))
        wait_for(lambda: "1 key(s) loaded (rsa-1)" in gw.log(), what="the JWKS fetch")
        token = signers["rsa"].token()
        for _ in range(5):
            assert request(gw.url + "/a", headers=bearer(token)).status == 200
        assert jwks.fetches == 1  # cached: not fetched per request
        # The issuer rotates in a new key: a token with the new kid makes the gateway fetch once.
        jwks.keys.append(signers["ec"].jwk)
        assert request(gw.url + "/b", headers=bearer(signers["ec"].token())).status == 200
        assert jwks.fetches == 2
        assert request(gw.url + "/b", headers=bearer(signers["ec"].token("carol"))).status == 200
        assert jwks.fetches == 2
        # A kid nobody has: one fetch for that request, then 401.
        unknown = jwt.encode({"sub": "x", "iss": ISSUER, "aud": AUDIENCE, "exp": int(time.time()) + 60}, signers["stranger"].key,
                             algorithm="RS256", headers={"kid": "nobody"})
        assert request(gw.url + "/c", headers=bearer(unknown)).status == 401
        assert jwks.fetches == 3
        # That fetch brought the same document: the keys (and the verified tokens) were kept.
        assert gw.log().count("key(s) loaded") == 2
    finally:
        jwks.stop()


def test_unknown_kid_fetches_are_rate_limited(gateway, backend, signers):
    jwks = JWKSServer([signers["rsa"].jwk])
    try:
        gw = gateway(http_route(backend, jwt_filter(f'jwks_url = "{jwks.url}"')))  # at most every 10 s
        wait_for(lambda: "key(s) loaded" in gw.log(), what="the JWKS fetch")
        unknown = jwt.encode({"sub": "x", "iss": ISSUER, "aud": AUDIENCE, "exp": int(time.time()) + 60}, signers["stranger"].key,
                             algorithm="RS256", headers={"kid": "nobody"})
        for _ in range(5):
            assert request(gw.url + "/c", headers=bearer(unknown)).status == 401
        assert jwks.fetches == 1
    finally:
        jwks.stop()


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


def test_401_names_the_protected_resource_metadata(gateway, tmp_path, signers):
    metadata_route = f"""
    [[routes]]
    name = "oauth-metadata"
    [routes.match]
    path_prefix = "/.well-known/oauth-protected-resource"
    [routes.handler]
    plugin = "jwt_auth.protected-resource"
    [routes.handler.config]
    authorization_servers = ["{ISSUER}"]
    scopes_supported = ["mcp:tools"]
    """
    gw = mcp_gateway(gateway, tmp_path, signers, "", '[routes.filters.config.oauth]\n    scopes = ["mcp:tools"]', metadata_route)
    host = gw.url.split("//")[1]
    resp = request(gw.url + "/mcp", "POST", ACCEPT, "{}")
    assert resp.status == 401
    assert resp.headers["www-authenticate"] == (
        f'Bearer realm="agentgateway", resource_metadata="http://{host}/.well-known/oauth-protected-resource/mcp", scope="mcp:tools"')
    metadata = request(f"http://{host}/.well-known/oauth-protected-resource/mcp")
    assert metadata.status == 200
    assert metadata.json() == {"resource": f"http://{host}/mcp", "authorization_servers": [ISSUER],
                               "scopes_supported": ["mcp:tools"], "bearer_methods_supported": ["header"]}


def client(url, token, mode):
    http_client = create_mcp_http_client(headers=bearer(token))
    return Client(streamable_http_client(url, http_client=http_client), mode=mode)


@pytest.mark.parametrize("mode", ["legacy", "auto"])
def test_rbac_matrix_through_the_official_client(gateway, tmp_path, signers, mode):
    rbac = """
    [[routes.filters]]
    plugin = "rbac"
    [[routes.filters.config.rules]]
    name = "alice does arithmetic"
    allow = 'jwt.sub == "alice" && mcp.tool.name in ["add", "whoami"]'
    [[routes.filters.config.rules]]
    name = "bob sleeps and tags"
    allow = 'jwt.sub == "bob" && mcp.tool.name.startsWith("s")'
    [[routes.filters.config.rules]]
    name = "prompts for alice"
    allow = 'jwt.sub == "alice" && has(mcp.prompt)'
    """
    gw = mcp_gateway(gateway, tmp_path, signers, rbac, extra_args=("--log-level", "debug"))
    wait_for(lambda: "is ready" in gw.log(), timeout=20, what="target ready")
    url = gw.url + "/mcp"
    expected = {"alice": ["add", "whoami"], "bob": ["session_tag", "sleep"]}

    async def scenario(user):
        async with client(url, signers["rsa"].token(user), mode) as session:
            tools = sorted(tool.name for tool in (await session.list_tools()).tools)
            assert tools == expected[user], (user, tools)
            prompts = [prompt.name for prompt in (await session.list_prompts()).prompts]
            assert prompts == (["greet"] if user == "alice" else [])
            if user == "alice":
                assert (await session.call_tool("add", {"a": 2, "b": 3})).content[0].text == "5"
            else:
                assert (await session.call_tool("session_tag", {})).content[0].text
            for hidden in ["pid", "count", "ask_name"] + [name for other, names in expected.items() if other != user for name in names]:
                with pytest.raises(MCPError) as denied:
                    await session.call_tool(hidden, {})
                with pytest.raises(MCPError) as missing:
                    await session.call_tool("no_such_tool", {})
                assert str(denied.value) == str(missing.value).replace("no_such_tool", hidden), (user, hidden)
                assert f"Unknown tool: {hidden}" in str(denied.value)

    for user in expected:
        asyncio.run(asyncio.wait_for(scenario(user), 60))
    # The decision log (debug) names the rule that decided, or says nothing allowed it.
    assert "rbac: tools/call tool 'add' of 'local' for alice: allowed by rule 'alice does arithmetic'" in gw.log()
    assert "rbac: tools/call tool 'pid' of 'local' for bob: denied by default (no rule allows it)" in gw.log()


def test_rate_limits_pass_exactly_n_of_a_burst_and_say_when_to_retry(gateway, backend):
    limits = """
    [[routes.filters]]
    plugin = "ratelimit"
    [routes.filters.config]
    response_headers = true
    [[routes.filters.config.limits]]
    name = "per-client-address"
    key = ["source.address"]
    max_tokens = 20
    tokens_per_fill = 20
    fill_interval = "1h"
    """
    gw = gateway(http_route(backend, limits))
    first = request(gw.url + "/first")
    assert first.status == 200
    assert (first.headers["ratelimit-limit"], first.headers["ratelimit-remaining"]) == ("20", "19")
    assert 3500 < int(first.headers["ratelimit-reset"]) <= 3600
    with concurrent.futures.ThreadPoolExecutor(16) as pool:
        statuses = list(pool.map(lambda i: request(gw.url + f"/burst/{i}").status, range(60)))
    assert statuses.count(200) == 19 and statuses.count(429) == 41, statuses
    refused = request(gw.url + "/again")
    assert refused.status == 429
    assert refused.headers["ratelimit-limit"] == "20" and refused.headers["ratelimit-remaining"] == "0"
    assert 3500 < int(refused.headers["retry-after"]) <= 3600 and refused.headers["ratelimit-reset"] == refused.headers["retry-after"]
    assert refused.text.startswith("Rate limit exceeded ('per-client-address')")


def test_rate_limit_on_one_tool_refills_and_answers_json_rpc(gateway, tmp_path, signers):
    limits = """
    [[routes.filters]]
    plugin = "ratelimit"
    [[routes.filters.config.limits]]
    name = "adds per user"
    when = 'mcp.method == "tools/call" && mcp.tool.name == "add"'
    key = ["jwt.sub"]
    max_tokens = 2
    tokens_per_fill = 1
    fill_interval = "1s"
    """
    gw = mcp_gateway(gateway, tmp_path, signers, limits)
    wait_for(lambda: "is ready" in gw.log(), timeout=20, what="target ready")
    url = gw.url + "/mcp"
    headers = {**ACCEPT, **bearer(signers["rsa"].token("alice"))}
    init = request(url, "POST", headers, json.dumps({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}}))
    headers["mcp-session-id"] = init.headers["mcp-session-id"]

    def call(name, call_id):
        return request(url, "POST", headers, json.dumps({"jsonrpc": "2.0", "id": call_id, "method": "tools/call",
                                                          "params": {"name": name, "arguments": {"a": 1, "b": 1} if name == "add" else {}}}))

    assert call("whoami", 0).status == 200  # the session's own child starts on its first request, outside the timed part
    assert [call("add", i).status for i in range(2)] == [200, 200]
    refused = call("add", "third")
    assert refused.status == 429 and refused.headers["retry-after"] == "1"
    body = refused.json()
    assert body["id"] == "third" and body["error"]["code"] == -32029 and "adds per user" in body["error"]["message"]
    assert call("whoami", 9).status == 200  # other tools are not limited
    bob = {**headers, **bearer(signers["rsa"].token("bob"))}
    bob.pop("mcp-session-id")
    init = request(url, "POST", bob, json.dumps({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}}))
    time.sleep(1.1)  # one fill interval: one token back
    assert call("add", 10).status == 200
    assert call("add", 11).status == 429


def test_unusable_key_sources_and_rules_fail_the_config_with_a_reason(tmp_path, signers):
    import subprocess
    from conftest import GATEWAY
    encryption_only = tmp_path / "enc.json"
    encryption_only.write_text(json.dumps({"keys": [{**signers["rsa"].jwk, "use": "enc"}]}))
    cases = {
        f'jwks_file = "{tmp_path / "missing.json"}"': "cannot read it",
        f'jwks_file = "{encryption_only}"': "has no usable key",
        'jwks_url = "ftp://keys.example"': "jwks_url must be an http:// or https:// URL",
    }
    for keys, reason in cases.items():
        config = tmp_path / "bad.toml"
        config.write_text(textwrap.dedent(http_route("http://127.0.0.1:9", jwt_filter(keys))))
        result = subprocess.run([str(GATEWAY), "--config", str(config), "--validate"], capture_output=True, text=True)
        assert result.returncode != 0 and reason in result.stdout + result.stderr, (keys, result.stdout + result.stderr)
    rule = """
    [[routes.filters]]
    plugin = "rbac"
    [[routes.filters.config.rules]]
    name = "typo"
    allow = 'jwt.sub == "alice" && mcp.tool.nmae == "x"'
    """
    config = tmp_path / "rule.toml"
    config.write_text(textwrap.dedent(http_route("http://127.0.0.1:9", rule)))
    result = subprocess.run([str(GATEWAY), "--config", str(config), "--validate"], capture_output=True, text=True)
    assert result.returncode != 0
    assert "rules[0] ('typo'): column 31: mcp.tool has no field 'nmae'" in result.stdout + result.stderr


def test_a_relative_jwks_file_is_found_next_to_the_config_file(gateway, backend, tmp_path, signers):
    """Relative paths in a plugin's table resolve against the config file's directory (config_directory),
    not the gateway's working directory (the test runner's)."""
    jwks_file(tmp_path, signers)  # tmp_path/jwks.json, beside the generated config
    gw = gateway(http_route(backend, jwt_filter('jwks_file = "jwks.json"')))
    assert request(gw.url + "/relative", headers=bearer(signers["ec"].token())).status == 200
