"""The plugin ABI: the header compiles everywhere, plugins export one symbol, and the loader
rejects broken plugins with an error that names the file and the reason."""
import json
import re
import shutil
import subprocess

import pytest

from conftest import BUILD, GATEWAY, HEADER_DIR, ROOT, request

SWIFT_PLUGINS = ["libnoop.so", "librequire_header.so", "libtest_filters.so", "libmcp.so", "libjwt_auth.so", "librbac.so", "libratelimit.so"]


@pytest.mark.parametrize("compiler,std", [("gcc", "c99"), ("gcc", "c11"), ("clang", "c99"), ("clang", "c11"),
                                          ("g++", "c++11"), ("g++", "c++17"), ("clang++", "c++17")])
def test_header_compiles_warning_free(tmp_path, compiler, std):
    if shutil.which(compiler) is None:
        pytest.skip(f"{compiler} not installed")
    source = tmp_path / ("t.cpp" if "++" in compiler else "t.c")
    source.write_text('#include "agw_plugin.h"\nint main(void) { agw_str s = { 0, 0 }; (void)s; '
                      'return (int)sizeof(agw_host_api) > 0 ? 0 : 1; }\n')
    subprocess.run([compiler, f"-std={std}", "-Wall", "-Wextra", "-pedantic", "-Werror", "-I", str(HEADER_DIR),
                    str(source), "-o", str(tmp_path / "t")], check=True)
    subprocess.run([str(tmp_path / "t")], check=True)


def exported(path):
    """Global defined dynamic symbols (what dlsym can find)."""
    out = subprocess.run(["nm", "-D", "--defined-only", str(path)], check=True, capture_output=True, text=True).stdout
    return sorted(line.split()[-1] for line in out.splitlines() if len(line.split()) == 3 and line.split()[1].isupper())


@pytest.mark.parametrize("name", SWIFT_PLUGINS)
def test_swift_plugin_exports_only_its_entry(name):
    assert exported(BUILD / name) == ["agw_plugin_entry_v1"]


def test_c_example_exports_only_its_entry(c_example):
    assert exported(c_example) == ["agw_plugin_entry_v1"]


def validate(tmp_path, plugin_path, filter_config="{}", plugin="fx"):
    config = tmp_path / "gw.toml"
    config.write_text(f"""
[[listeners]]
name = "main"
address = "127.0.0.1:0"
[plugins.fx]
path = "{plugin_path}"
[[routes]]
name = "r"
[[routes.filters]]
plugin = "{plugin}"
config = {filter_config}
[routes.backend]
urls = ["http://127.0.0.1:9"]
""")
    return subprocess.run([str(GATEWAY), "--config", str(config), "--validate"], capture_output=True, text=True)


@pytest.mark.parametrize("case,reason", [
    ("NO_ENTRY", r"exports no agw_plugin_entry_v1: it is not an Agent Gateway plugin"),
    ("WRONG_MAJOR_SYMBOL", r"built for plugin ABI major 2 \(exports agw_plugin_entry_v2\); this gateway speaks major 1"),
    ("WRONG_MAJOR_FIELD", r"built for plugin ABI major 2; this gateway speaks major 1"),
    ("ENTRY_NULL", r"the plugin's entry returned NULL"),
    ("SMALL_STRUCT", r"filter type #0 is 24 bytes, smaller than ABI 1.0's agw_filter_type"),
    ("FOREIGN_SWIFT", r"is a Swift plugin built by another toolchain \(Clang 1.0 \(some other toolchain\)\)"),
    ("CONFIG_NULL", r"rejected its config: the fixture refuses every config"),
])
def test_loader_rejects_broken_plugin_with_clear_error(tmp_path, c_fixtures, case, reason):
    result = validate(tmp_path, c_fixtures[case])
    assert result.returncode == 1, result.stdout
    assert re.search(reason, result.stderr), result.stderr
    if case != "CONFIG_NULL":
        assert str(c_fixtures[case]) in result.stderr  # the message names the file
    else:
        assert "routes[0].filters[0]" in result.stderr  # ...and the place in the config


def test_missing_plugin_file_is_reported(tmp_path):
    result = validate(tmp_path, tmp_path / "nope.so")
    assert result.returncode == 1
    assert "gw.toml: plugins.fx: no file at" in result.stderr and "nope.so" in result.stderr


def test_not_a_shared_object_is_reported(tmp_path):
    bogus = tmp_path / "bogus.so"
    bogus.write_text("not an ELF file")
    result = validate(tmp_path, bogus)
    assert result.returncode == 1
    assert "cannot load plugin" in result.stderr and "bogus.so" in result.stderr


def test_swift_plugin_rejecting_its_config_says_why(tmp_path):
    result = validate(tmp_path, BUILD / "libtest_filters.so", filter_config="{ reject = true }")
    # test_filters' first type is async-lookup, which needs `url`: a missing key is reported.
    assert result.returncode == 1
    assert "missing key 'url'" in result.stderr


def test_swift_plugin_throwing_config_error(tmp_path):
    result = validate(tmp_path, BUILD / "libtest_filters.so", filter_config="{ reject = true }", plugin="fx.picky")
    assert result.returncode == 1
    assert "this instance was configured with reject = true" in result.stderr


def test_unknown_hook_status_fails_the_request_not_the_gateway(gateway, backend, c_fixtures):
    gw = gateway(f"""
    [[listeners]]
    name = "main"
    address = "127.0.0.1:0"
    [plugins.bad]
    path = "{c_fixtures['UNKNOWN_STATUS']}"
    [plugins.good]
    path = "{c_fixtures['PLAIN']}"
    [[routes]]
    name = "bad"
    [routes.match]
    path_prefix = "/bad"
    [[routes.filters]]
    plugin = "bad"
    [routes.backend]
    urls = ["{backend}"]
    [[routes]]
    name = "good"
    [[routes.filters]]
    plugin = "good"
    [routes.backend]
    urls = ["{backend}"]
    """)
    bad = request(gw.url + "/bad")
    assert bad.status == 500
    assert "unknown status 77" in bad.text
    good = request(gw.url + "/fine")
    assert good.status == 200
    assert good.json()["headers"]["x-c-fixture"] == "seen"
    assert "returned unknown status 77" in gw.log()


def test_validate_accepts_a_good_config_and_version_prints(tmp_path, c_fixtures):
    result = validate(tmp_path, c_fixtures["PLAIN"])
    assert result.returncode == 0, result.stderr
    assert "configuration OK: 1 listener(s), 1 route(s), 1 plugin(s)" in result.stdout
    version = subprocess.run([str(GATEWAY), "--version"], capture_output=True, text=True)
    assert re.fullmatch(r"\d+\.\d+\.\d+\n", version.stdout)


def test_host_functions_misused_by_a_plugin_return_errors_not_crashes(gateway, backend, c_fixtures):
    plugin = c_fixtures["MISUSE"]
    gw = gateway(f"""
    [admin]
    address = "127.0.0.1:0"
    [[listeners]]
    name = "main"
    address = "127.0.0.1:0"
    [plugins.misuse]
    path = "{plugin}"
    [[routes]]
    name = "r"
    [[routes.filters]]
    plugin = "misuse"
    [routes.backend]
    urls = ["{backend}"]
    """)
    for _ in range(2):  # and the gateway still serves afterwards
        resp = request(gw.url + "/abuse")
        assert resp.status == 200
        results = dict(item.split("=") for item in resp.json()["headers"]["x-misuse"].split(","))
    OK, NOT_FOUND, INVALID, WRONG_STATE = "0", "1", "2", "3"
    assert results == {
        "header_get_bad_map": INVALID, "header_get_null_out": INVALID, "header_count_null": INVALID,
        "header_at_past_end": NOT_FOUND, "header_set_response_early": WRONG_STATE, "body_get_in_headers": WRONG_STATE,
        "header_set_crlf_value": INVALID, "header_add_bad_name": INVALID, "reply_header_with_newline": INVALID,
        "reply_bad_status": INVALID, "respond_from_filter": WRONG_STATE, "respond_body_from_filter": WRONG_STATE,
        "resume_inside_own_hook": OK, "kv_get_missing": NOT_FOUND, "attribute_unknown": NOT_FOUND,
        "metric_add_unknown": NOT_FOUND, "http_call_zero_size": INVALID, "http_call_bad_url": INVALID,
        "http_call_null_scope": INVALID, "timer_cancel_unknown": NOT_FOUND, "process_write_unknown": NOT_FOUND,
        "process_spawn_null_argv": INVALID, "rpc_reject_outside_hook": WRONG_STATE,
        "rpc_set_params_outside_hook": WRONG_STATE, "rpc_resume_nothing_paused": WRONG_STATE,
        "rpc_subscriber_count_null_out": INVALID, "rpc_reject_with_response_outside_hook": WRONG_STATE,
        "rpc_rejection_response_null_out": INVALID, "rpc_rejection_response_nothing_rejected": NOT_FOUND,
        "config_directory_null_out": INVALID,
        "rpc_publish_from_filter": WRONG_STATE, "rpc_last_verdict_small_struct": OK,
        "scheduler_new_null_is_null": "1", "stream_scope_null_is_null": "1",
        # ABI 1.5: labelled metrics, annotations, trace context (no access log, no tracing here).
        "labelled_define": OK, "labelled_define_bad_label": INVALID, "labelled_define_other_kind": INVALID,
        "labelled_series": OK, "labelled_add": OK, "labelled_series_wrong_count": INVALID,
        "labelled_series_unknown_family": NOT_FOUND, "labelled_define_outside_config_new": INVALID,
        "annotate_empty_key": INVALID, "annotate_unrecorded": NOT_FOUND, "annotation_wanted_unrecorded": "0",
        "trace_context_get_no_trace": NOT_FOUND, "trace_context_get_null_out": INVALID,
        "trace_context_adopt_no_tracing": NOT_FOUND, "trace_event_add_not_sampled": NOT_FOUND, "attribute_tracing_off": NOT_FOUND,
        "trace_span_start_not_sampled": NOT_FOUND, "trace_span_start_null_out": INVALID, "trace_span_end_unknown": NOT_FOUND,
        # ABI 1.6: several annotations in one call.
        "annotate_pairs_empty_key": INVALID, "annotate_pairs_null": INVALID, "annotate_pairs_unrecorded": NOT_FOUND,
    }, results
    from observability_helpers import sample, scrape
    assert sample(scrape(gw.address("admin"))[0], "agw_c_fixture_calls_total", route="r", outcome="ok") == 2


def test_resume_inside_a_hook_that_continues_does_not_skip_a_later_stop(gateway, backend, c_fixtures):
    """The misuse filter calls resume() inside its own hook and then continues; a later filter's STOP
    (on the response) must still pause the stream until that filter resumes it."""
    plugin = c_fixtures["MISUSE"]
    gw = gateway(f"""
    [[listeners]]
    name = "main"
    address = "127.0.0.1:0"
    [plugins.misuse]
    path = "{plugin}"
    [plugins.tf]
    path = "{BUILD / 'libtest_filters.so'}"
    [[routes]]
    name = "r"
    [[routes.filters]]
    plugin = "tf.response-delay"
    config = {{ delay_ms = 30 }}
    [[routes.filters]]
    plugin = "misuse"
    [routes.backend]
    urls = ["{backend}"]
    """)
    resp = request(gw.url + "/x")
    assert resp.status == 200
    assert resp.headers.get("x-delayed") == "1"  # the STOP was honored and the timer resumed it


def test_a_plugin_built_against_the_1_0_header_still_works(gateway, backend, tmp_path):
    """Tests/Fixtures/c/abi_1_0_filter.c, compiled against the header as released at 1.0: it loads,
    its hooks run, the host fills its (1.0-sized, struct_size unset) verdict with the 1.0 layout,
    and its on_rpc_message decides an MCP call."""
    from mcp_helpers import ACCEPT, mcp_route, stdio_target
    plugin = tmp_path / "libold.so"
    subprocess.run(["cc", "-std=c99", "-Wall", "-Wextra", "-pedantic", "-Werror", "-shared", "-fPIC", "-fvisibility=hidden",
                    "-I", str(ROOT / "Tests" / "Fixtures" / "c" / "abi-1.0"), str(ROOT / "Tests" / "Fixtures" / "c" / "abi_1_0_filter.c"),
                    "-o", str(plugin)], check=True)
    http = gateway(f"""
    [[listeners]]
    name = "main"
    address = "127.0.0.1:0"
    [plugins.old]
    path = "{plugin}"
    [[routes]]
    name = "r"
    [[routes.filters]]
    plugin = "old"
    [routes.backend]
    urls = ["{backend}"]
    """)
    seen = request(http.url + "/x").json()["headers"]
    assert seen["x-abi-1-0"].startswith("host 1.")
    assert seen["x-abi-1-0-verdict"] == "0 48"  # the whole 1.0 verdict, whatever its struct_size said
    mcp = gateway(mcp_route(stdio_target("up"), filters='[[routes.filters]]\n    plugin = "old"\n').replace(
        "[plugins.mcp]", f'[plugins.mcp]\n    [plugins.old]\n    path = "{plugin}"'))
    call = {"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": "sleep", "arguments": {"seconds": 0}}}
    init = {"jsonrpc": "2.0", "id": 0, "method": "initialize",
            "params": {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}}
    session = request(mcp.url + "/mcp", "POST", ACCEPT, json.dumps(init)).headers["mcp-session-id"]
    refused = request(mcp.url + "/mcp", "POST", {**ACCEPT, "mcp-session-id": session}, json.dumps(call)).json()
    assert refused["error"] == {"code": -32001, "message": "no sleeping (a filter built for ABI 1.0)"}
