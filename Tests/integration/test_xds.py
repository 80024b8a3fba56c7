"""xDS: a control plane (Tests/Fixtures/xds/control_plane.py: grpcio and Envoy's transport
messages from xds-protos) pushes listeners, routes and plugins; the gateway ACKs what it applies,
NACKs what it cannot use (naming the resource) and keeps serving, and reconnects when the
control plane restarts."""
import sys
import time

import pytest

from conftest import ROOT, free_port, request, wait_for
from live_helpers import Load, generations, http1, http1_get

sys.path.insert(0, str(ROOT / "Tests" / "Fixtures" / "xds"))
from control_plane import TYPES, ControlPlane, resources_pb2, struct  # noqa: E402


def bootstrap(control_plane, delta=True, static_routes=""):
    return f"""
    [xds]
    address = "{control_plane.address}"
    node_id = "gw-test"
    cluster = "tests"
    delta = {"true" if delta else "false"}
    initial_backoff_ms = 100
    max_backoff_ms = 500
    [admin]
    address = "127.0.0.1:0"
    [[listeners]]
    name = "main"
    address = "127.0.0.1:0"
    {static_routes}
    """


def stamp_route(name, prefix, value, backend, order=0):
    route = resources_pb2.Route(name=name, order=order)
    route.match.path_prefix = prefix
    route.filters.add(plugin="stamp", config=struct({"value": value}))
    route.backend.urls.append(backend)
    return route


def stamped(url):
    response = request(url)
    return response.status, response.headers.get("x-stamp")


@pytest.fixture(params=[True, False], ids=["delta", "state-of-the-world"])
def control_plane(request):
    cp = ControlPlane()
    cp.delta = request.param
    yield cp
    cp.stop()


def test_pushed_resources_are_served_updated_under_load_and_acked(control_plane, gateway, backend, c_example):
    plugin = resources_pb2.Plugin(name="stamp", path=str(c_example))
    control_plane.set(plugins=[plugin], routes=[stamp_route("api", "/api", "v0", backend)])
    gw = gateway(bootstrap(control_plane, delta=control_plane.delta))
    main, admin = gw.address("main"), gw.address("admin")
    wait_for(lambda: stamped(f"http://{main}/api/x") == (200, "v0"), timeout=15, what="the pushed route")
    subscribed = {r.type_url for r in control_plane.subscriptions()}
    assert subscribed == set(TYPES.values())
    assert control_plane.subscriptions()[0].node.id == "gw-test"
    assert control_plane.subscriptions()[0].node.cluster == "tests"
    wait_for(lambda: {r.type_url for r in control_plane.acks()} == set(TYPES.values()), what="ACKs of every type")

    load = Load()
    load.add("http1 api", http1(main),
             http1_get("/api/load", lambda s, h, b: None if s == 200 and h.get("x-stamp", "").startswith("v") else f"{s} {h.get('x-stamp')}"),
             rate=150)
    load.start()
    started = time.monotonic()
    try:
        for version in range(1, 11):
            routes = [stamp_route("api", "/api", f"v{version}", backend)]
            if version % 2 == 0:
                routes.append(stamp_route("extra", "/extra", "e", backend))
            control_plane.set(plugins=[plugin], routes=routes)
            wait_for(lambda: stamped(f"http://{main}/api/x")[1] == f"v{version}", what=f"v{version} applied")
            assert request(f"http://{main}/extra/x").status == (200 if version % 2 == 0 else 404)
            time.sleep(max(0.0, started + version * 0.8 - time.monotonic()))  # 10 pushes over 8 s
    finally:
        total = load.stop()
    assert load.failures == [], f"{len(load.failures)} of {total} failed: {load.failures[:5]}"
    assert total > 800, load.sent
    history = generations(admin)["changes"]
    assert sum(1 for c in history if c["source"] == "xds" and c["result"] == "applied") >= 11
    assert control_plane.nacks() == []


def test_an_invalid_resource_is_nacked_by_name_and_the_old_config_keeps_serving(control_plane, gateway, backend, c_example):
    plugin = resources_pb2.Plugin(name="stamp", path=str(c_example))
    good = stamp_route("api", "/api", "v1", backend)
    control_plane.set(plugins=[plugin], routes=[good])
    gw = gateway(bootstrap(control_plane, delta=control_plane.delta))
    main = gw.address("main")
    wait_for(lambda: stamped(f"http://{main}/api/x") == (200, "v1"), timeout=15, what="the pushed route")

    bad = resources_pb2.Route(name="bad")
    bad.match.path_prefix = "/bad"
    bad.handler.plugin = "nope"
    control_plane.set(plugins=[plugin], routes=[stamp_route("api", "/api", "v2", backend), bad])
    nack = wait_for(lambda: control_plane.nacks(), what="a NACK")[0]
    assert nack.type_url == TYPES["Route"]
    assert "xDS Route 'bad'" in nack.error_detail.message and "unknown plugin 'nope'" in nack.error_detail.message, nack.error_detail.message
    assert nack.error_detail.code == 3
    if not control_plane.delta:
        assert nack.version_info == "1", "a state-of-the-world NACK names the last accepted version"
    assert stamped(f"http://{main}/api/x") == (200, "v1"), "the refused push changed nothing"
    assert request(f"http://{main}/bad").status == 404

    # A resource that is not even of its type, and a match the gateway refuses.
    wrong = resources_pb2.Route(name="weird")
    wrong.match.path_prefix = "no-slash"
    wrong.backend.urls.append(backend)
    control_plane.set(plugins=[plugin], routes=[good, wrong])
    wait_for(lambda: len(control_plane.nacks()) >= 2, what="the second NACK")
    assert "Route 'weird': match.path_prefix: must start with '/'" in control_plane.nacks()[-1].error_detail.message

    # Fixed: accepted again.
    control_plane.set(plugins=[plugin], routes=[stamp_route("api", "/api", "v3", backend)])
    wait_for(lambda: stamped(f"http://{main}/api/x")[1] == "v3", what="the fixed push")


def test_the_gateway_reconnects_to_a_restarted_control_plane_and_serves_meanwhile(control_plane, gateway, backend, c_example):
    plugin = resources_pb2.Plugin(name="stamp", path=str(c_example))
    control_plane.set(plugins=[plugin], routes=[stamp_route("api", "/api", "v1", backend)])
    gw = gateway(bootstrap(control_plane, delta=control_plane.delta))
    main = gw.address("main")
    wait_for(lambda: stamped(f"http://{main}/api/x") == (200, "v1"), timeout=15, what="the pushed route")
    port = control_plane.port
    control_plane.stop()
    wait_for(lambda: "xDS stream failed" in gw.log() or "xDS stream ended" in gw.log(), what="the gateway noticing")
    for _ in range(5):
        assert stamped(f"http://{main}/api/x") == (200, "v1"), "the last good configuration keeps serving"
        time.sleep(0.2)
    restarted = ControlPlane(port=port)
    try:
        restarted.set(plugins=[plugin], routes=[stamp_route("api", "/api", "v2", backend)])
        wait_for(lambda: stamped(f"http://{main}/api/x")[1] == "v2", timeout=15, what="the restarted control plane's push")
        subscriptions = restarted.subscriptions()
        assert {r.type_url for r in subscriptions} == set(TYPES.values())
        if control_plane.delta:
            routes = next(r for r in subscriptions if r.type_url == TYPES["Route"])
            assert "api" in routes.initial_resource_versions, "a delta reconnect names what the gateway has"
    finally:
        restarted.stop()


def test_the_files_resources_win_on_a_name_conflict(gateway, backend, c_example):
    control_plane = ControlPlane()
    try:
        plugin = resources_pb2.Plugin(name="stamp", path=str(c_example))
        extra_port = free_port()
        control_plane.set(plugins=[plugin], routes=[stamp_route("api", "/api", "from-xds", backend),
                                                   stamp_route("more", "/more", "more", backend)],
                          listeners=[resources_pb2.Listener(name="pushed", address=f"127.0.0.1:{extra_port}")])
        gw = gateway(bootstrap(control_plane, static_routes=f"""
        [[routes]]
        name = "api"
        [routes.match]
        path_prefix = "/api"
        [routes.backend]
        urls = ["{backend}"]
        """))
        main, admin = gw.address("main"), gw.address("admin")
        wait_for(lambda: stamped(f"http://{main}/more/x") == (200, "more"), timeout=15, what="the xDS route")
        assert stamped(f"http://{main}/api/x") == (200, None), "the file's route 'api', not the control plane's"
        assert stamped(f"http://127.0.0.1:{extra_port}/more/x") == (200, "more"), "a pushed listener serves"
        assert "xDS resource ignored" in gw.log() and "Route 'api'" in gw.log()
        shown = request(f"http://{admin}/config").text
        assert "Route 'more'" in shown
    finally:
        control_plane.stop()
