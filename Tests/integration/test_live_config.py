"""Live configuration: reloads by SIGHUP, the file watch and the admin API, under load, without a
failed request; what survives a change; broken configurations from every source."""
import json
import os
import signal
import subprocess
import time

import pytest

from conftest import BUILD, HEADER_DIR, ROOT, free_port, request, wait_for
from live_helpers import (Load, children, generations, http1, http1_get, http1_post, http2, http2_send,
                          make_certificates, metric, put_config, same_certificate, served_certificate)
from mcp_helpers import ACCEPT, initialize, post

BUILD_ID_SOURCE = ROOT / "Tests" / "Fixtures" / "c" / "build_id_filter.c"


def build_id_plugin(target, build_id):
    """Tests/Fixtures/c/build_id_filter.c built with BUILD_ID, written to a temporary file and
    renamed over `target` (how a deploy replaces a plugin)."""
    temporary = target.with_suffix(".so.new")
    subprocess.run(["cc", "-std=c11", "-Wall", "-Wextra", "-Werror", "-shared", "-fPIC", "-fvisibility=hidden",
                    f'-DBUILD_ID="{build_id}"', "-I", str(HEADER_DIR), str(BUILD_ID_SOURCE), "-o", str(temporary)], check=True)
    os.replace(temporary, target)


def live_config(stamp, build_plugin, stamp_plugin, backend, extra_route=False, watch=False, mcp_options=""):
    extra = f"""
[[routes]]
name = "extra"
[routes.match]
path_prefix = "/extra"
[routes.backend]
urls = ["{backend}"]
""" if extra_route else ""
    return f"""
[gateway]
watch_config = {"true" if watch else "false"}
[admin]
address = "127.0.0.1:0"
[[listeners]]
name = "plain"
address = "127.0.0.1:0"
[[listeners]]
name = "tls"
address = "127.0.0.1:0"
[listeners.tls]
cert = "cert.pem"
key = "key.pem"
[plugins.stamp]
path = "{stamp_plugin}"
[plugins.build_id]
path = "{build_plugin}"
[plugins.mcp]
[[routes]]
name = "api"
[routes.match]
path_prefix = "/api"
[[routes.filters]]
plugin = "stamp"
[routes.filters.config]
value = "{stamp}"
[[routes.filters]]
plugin = "build_id"
[routes.backend]
urls = ["{backend}"]
[[routes]]
name = "mcp"
[routes.match]
path_prefix = "/mcp"
[routes.handler]
plugin = "mcp"
[routes.handler.config]
{mcp_options}
[[routes.handler.config.targets]]
name = "demo"
type = "stdio"
command = "{BUILD / 'demo-mcp-server'}"
{extra}
"""


@pytest.fixture
def live(tmp_path, gateway, backend, c_example):
    """A gateway on live_config with certificates one (served) and two (to rotate to)."""
    certificates, ca = make_certificates(tmp_path, ["one", "two"])
    for suffix, index in (("pem", 0), ("key", 1)):
        (tmp_path / f"{'cert' if suffix == 'pem' else 'key'}.pem").write_bytes(certificates["one"][index].read_bytes())
    build_plugin = tmp_path / "libbuild_id.so"
    build_id_plugin(build_plugin, "one")

    def config(stamp, **kwargs):
        return live_config(stamp, build_plugin, c_example, backend, **kwargs)

    gw = gateway(config("v0"))
    wait_for(lambda: "target 'demo' is ready" in gw.log(), timeout=20, what="the MCP target")
    return gw, config, certificates, ca, build_plugin


def stamp_of(url):
    response = request(url)
    return response.status, response.headers.get("x-stamp"), response.headers.get("x-build")


def rotate_certificate(tmp_path, certificate):
    """Writes the new certificate and key beside the served ones and renames them into place."""
    for source, name in ((certificate[0], "cert.pem"), (certificate[1], "key.pem")):
        (tmp_path / f"{name}.new").write_bytes(source.read_bytes())
        os.replace(tmp_path / f"{name}.new", tmp_path / name)


def test_forty_reloads_a_plugin_swap_and_a_certificate_rotation_under_load_fail_no_request(live, tmp_path):
    gw, config, certificates, ca, build_plugin = live
    plain, tls, admin = gw.address("plain"), gw.address("tls"), gw.address("admin")
    session, _ = initialize(f"http://{plain}/mcp")
    call = json.dumps({"jsonrpc": "2.0", "id": 7, "method": "tools/call", "params": {"name": "add", "arguments": {"a": 2, "b": 3}}})
    assert "5" in post(f"http://{plain}/mcp", json.loads(call), session).text  # the session's own child starts
    children_before = children(gw.process.proc.pid)

    def ok_api(status, headers, body):
        return None if status == 200 and headers.get("x-stamp", "").startswith("v") else f"api answered {status} {headers.get('x-stamp')}"

    def ok_mcp(status, headers, body):
        return None if status == 200 and b'"text":"5"' in body.replace(b" ", b"") else f"mcp answered {status}: {body[:200]!r}"

    load = Load()
    mcp_headers = {**ACCEPT, "mcp-session-id": session}
    load.add("http1 api", http1(plain), http1_get("/api/load", ok_api), rate=110)
    load.add("http1 mcp", http1(plain), http1_post("/mcp", call, mcp_headers, ok_mcp), rate=70)
    load.add("http2 api", http2(ca), http2_send("GET", f"https://{tls}/api/load", ok_api), rate=110)
    load.add("http2 mcp", http2(ca), http2_send("POST", f"https://{tls}/mcp", ok_mcp, call, mcp_headers), rate=70)
    load.start()
    started = time.monotonic()
    try:
        for change in range(1, 41):
            extra = change % 2 == 0
            if change == 21:
                build_id_plugin(build_plugin, "two")  # picked up by this reload: new bytes, new image
            if change == 31:
                rotate_certificate(tmp_path, certificates["two"])
            text = config(f"v{change}", extra_route=extra)
            gw.config.write_text(text)
            if change % 2:
                os.kill(gw.process.proc.pid, signal.SIGHUP)
            else:
                status, record = put_config(admin, text)
                assert status == 200 and record["result"] == "applied", record
            # The new behaviour, on fresh connections: the filter's setting, the route set, the plugin.
            wait_for(lambda: stamp_of(f"http://{plain}/api/check")[1] == f"v{change}", timeout=10, what=f"stamp v{change}")
            assert request(f"http://{plain}/extra/x").status == (200 if extra else 404)
            assert stamp_of(f"http://{plain}/api/check")[2] == ("two" if change >= 21 else "one")
            if change >= 31:
                assert same_certificate(served_certificate(tls), certificates["two"][0].read_text())
            else:
                assert same_certificate(served_certificate(tls), certificates["one"][0].read_text())
            time.sleep(max(0.0, started + change * 0.75 - time.monotonic()))  # 40 changes over 30 s
    finally:
        total = load.stop()
    duration = time.monotonic() - started
    assert load.failures == [], f"{len(load.failures)} of {total} failed: {load.failures[:10]}"
    print(f"load: {total} requests in {duration:.1f} s ({total / duration:.0f}/s), {len(load.failures)} failed: {load.sent}")
    assert total / duration > 250, f"only {total / duration:.0f} requests/s: {load.sent}"
    assert all(count > 0 for count in load.sent.values()), load.sent
    assert metric(admin, "agw_config_reload_total", 'source="sighup",result="applied"') == 20
    assert metric(admin, "agw_config_reload_total", 'source="admin",result="applied"') == 20
    assert generations(admin)["current"] == 41
    # The MCP route never changed: same stdio child, same session.
    assert children(gw.process.proc.pid) == children_before
    assert "5" in post(f"http://{plain}/mcp", json.loads(call), session).text


def test_broken_configurations_from_every_source_leave_the_running_one_serving(live, tmp_path):
    gw, config, _, _, _ = live
    plain, admin = gw.address("plain"), gw.address("admin")
    busy = free_port()
    import socket
    holder = socket.socket()
    holder.bind(("127.0.0.1", busy))
    holder.listen()
    good = config("v0")
    broken = {
        "bad TOML": ("routes = [1,", "the array never closes"),
        "unknown plugin": (good.replace('plugin = "build_id"', 'plugin = "nope"'), "unknown plugin 'nope'"),
        "a plugin refusing its config": (good.replace('value = "v0"', "value = 5"), "rejected its config"),
        "a port in use": (good.replace('name = "plain"\naddress = "127.0.0.1:0"', f'name = "plain"\naddress = "127.0.0.1:{busy}"'),
                          f"cannot listen on 127.0.0.1:{busy}: the address is already in use"),
        "a missing certificate": (good.replace('cert = "cert.pem"', 'cert = "gone.pem"'), "cannot load TLS certificate"),
    }
    try:
        for case, (text, message) in broken.items():
            # The admin API answers with the error.
            status, record = put_config(admin, text)
            assert status == 400 and record["result"] == "rejected" and message in record["error"], (case, record)
            status, record = put_config(admin, text, dry_run=True)
            assert status == 400 and message in record["error"], (case, record)
            # SIGHUP: the log says why.
            gw.config.write_text(text)
            rejected = gw.log().count("configuration rejected")
            os.kill(gw.process.proc.pid, signal.SIGHUP)
            wait_for(lambda: gw.log().count("configuration rejected") > rejected, what=f"SIGHUP rejection ({case})")
            assert message in gw.log().splitlines()[-1] or message in gw.log(), case
            # Still serving generation 1, with its behaviour.
            assert stamp_of(f"http://{plain}/api/x")[:2] == (200, "v0"), case
            assert generations(admin)["current"] == 1
        assert metric(admin, "agw_config_reload_total", 'source="admin",result="rejected"') == 2 * len(broken)
        assert metric(admin, "agw_config_reload_total", 'source="sighup",result="rejected"') == len(broken)
        # A dry run of a good config changes nothing either.
        status, record = put_config(admin, config("v9"), dry_run=True)
        assert status == 200 and record["result"] == "validated", record
        assert stamp_of(f"http://{plain}/api/x")[1] == "v0"
    finally:
        holder.close()


def test_the_file_watch_follows_an_editor_that_renames_and_reports_a_broken_file(tmp_path, gateway, backend, c_example):
    build_plugin = tmp_path / "libbuild_id.so"
    build_id_plugin(build_plugin, "one")
    certificates, _ = make_certificates(tmp_path, ["one"])
    (tmp_path / "cert.pem").write_bytes(certificates["one"][0].read_bytes())
    (tmp_path / "key.pem").write_bytes(certificates["one"][1].read_bytes())
    gw = gateway(live_config("v0", build_plugin, c_example, backend, watch=True))
    plain, admin = gw.address("plain"), gw.address("admin")
    wait_for(lambda: "watching the config file" in gw.log(), what="the watch")
    # An editor writes a temporary file and renames it over the config.
    temporary = tmp_path / ".gateway0.toml.swp"
    temporary.write_text(live_config("v1", build_plugin, c_example, backend, watch=True, extra_route=True))
    os.replace(temporary, gw.config)
    wait_for(lambda: stamp_of(f"http://{plain}/api/x")[1] == "v1", what="the renamed file applied")
    assert request(f"http://{plain}/extra/x").status == 200
    # Written in place, broken: reported, the running one keeps serving.
    gw.config.write_text("routes = [")
    wait_for(lambda: "configuration rejected" in gw.log(), what="the broken file reported")
    assert stamp_of(f"http://{plain}/api/x")[1] == "v1"
    history = generations(admin)["changes"]
    assert [c["source"] for c in history][:2] == ["file_watch", "file_watch"], history
    assert history[0]["result"] == "rejected" and "the array never closes" in history[0]["error"]


def test_the_watch_can_be_turned_off(live):
    gw, config, _, _, _ = live
    gw.config.write_text(config("v5"))
    time.sleep(1.5)
    assert stamp_of(f"http://{gw.address('plain')}/api/x")[1] == "v0", "watch_config = false"
    os.kill(gw.process.proc.pid, signal.SIGHUP)
    wait_for(lambda: stamp_of(f"http://{gw.address('plain')}/api/x")[1] == "v5", what="SIGHUP")


def test_an_mcp_session_and_its_stdio_child_survive_a_change_to_another_route_only(live):
    gw, config, _, _, _ = live
    plain, admin = gw.address("plain"), gw.address("admin")
    url = f"http://{plain}/mcp"
    session, _ = initialize(url)
    call = {"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {"name": "add", "arguments": {"a": 1, "b": 1}}}
    assert '"2"' in post(url, call, session).text.replace(" ", "")
    child = [pid for pid, args in children(gw.process.proc.pid).items() if "demo-mcp-server" in args]
    assert child
    status, record = put_config(admin, config("v1", extra_route=True))
    assert status == 200 and record["reused_instances"] >= 2, record  # mcp handler and build_id kept
    assert '"2"' in post(url, call, session).text.replace(" ", "")
    assert [pid for pid, args in children(gw.process.proc.pid).items() if "demo-mcp-server" in args] == child
    # Changing the MCP route's own config makes a new instance: new children, sessions start over.
    status, record = put_config(admin, config("v1", extra_route=True, mcp_options="request_timeout_ms = 20000"))
    assert status == 200, record
    assert post(url, call, session).status == 404, "the old instance's session is gone with it"
    wait_for(lambda: not set(child) & set(children(gw.process.proc.pid)), timeout=20, what="the old instance's children stopped")
    assert any("demo-mcp-server" in args for args in children(gw.process.proc.pid).values()), "the new instance's child"


def test_the_admin_config_api_redacts_secrets_and_honours_its_token(tmp_path, gateway, backend):
    token = tmp_path / "admin.token"
    token.write_text("s3cret-admin-token\n")
    gw = gateway(f"""
    [admin]
    address = "127.0.0.1:0"
    token_file = "admin.token"
    [[listeners]]
    name = "main"
    address = "127.0.0.1:0"
    [plugins.jwt_auth]
    [[routes]]
    name = "api"
    [[routes.filters]]
    plugin = "jwt_auth"
    [routes.filters.config]
    hmac_secret = "hmac-secret-hmac-secret-hmac-secret-0123"
    mode = "optional"
    [routes.backend]
    urls = ["{backend}"]
    """)
    admin = gw.address("admin")
    assert request(f"http://{admin}/config").status == 401
    assert request(f"http://{admin}/config", headers={"authorization": "Bearer wrong"}).status == 401
    assert request(f"http://{admin}/metrics").status == 200, "metrics stay open"
    auth = {"authorization": "Bearer s3cret-admin-token"}
    shown = request(f"http://{admin}/config", headers=auth)
    assert shown.status == 200 and shown.headers["x-agw-generation"] == "1"
    assert "hmac-secret" not in shown.text and "<redacted>" in shown.text and "jwt_auth" in shown.text
    assert put_config(admin, "x = 1")[0] == 401
    assert request(f"http://{admin}/config/reload", "POST", auth).status == 200
    assert generations_with(admin, auth)["current"] == 2
    assert request(f"http://{admin}/config", "DELETE", auth).status == 405


def generations_with(admin, headers):
    return request(f"http://{admin}/config/generations", headers=headers).json()
