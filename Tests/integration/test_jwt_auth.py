"""jwt_auth on real traffic: tokens signed with PyJWT and keys made by `cryptography`, attacks on
the verifier, API keys, a JWKS served over HTTP and rotated, the RFC 9728 metadata, config errors."""
import hashlib
import json
import textwrap
import time

import jwt

from conftest import request, wait_for
from security_helpers import ISSUER, AUDIENCE, ACCEPT, forged, JWKSServer, http_route, jwt_filter, jwks_file, bearer, mcp_gateway


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
