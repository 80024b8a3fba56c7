"""REST APIs as MCP tools: `openapi` targets read a FastAPI app's generated OpenAPI 3.1 document
(fetched from its /openapi.json) and the Swagger Petstore 3.0 example (a file), and the official
MCP client calls their operations through the gateway, federated with a stdio MCP server."""
import asyncio
import base64
import json
import signal
import subprocess
import time

import pytest
from mcp import Client

from conftest import GATEWAY, request, wait_for
from mcp_helpers import initialize, mcp_route, post, run, stdio_target
from observability_helpers import Receiver, delta, promtool_check, scrape
from openapi_helpers import PETSTORE_SPEC, fastapi_app, openapi_target, petstore


def targets(inventory, pets, inventory_extra="", pets_extra=""):
    return (stdio_target("local")
            + openapi_target("inventory", f"{inventory.url}/openapi.json", f"""
    timeout_ms = 1500
    headers = {{ x-api-token = "Bearer ${{INVENTORY_TOKEN}}" }}
    forward_headers = ["x-user"]
    {inventory_extra}""")
            + openapi_target("pets", str(PETSTORE_SPEC), f"""
    base_url = "{pets.url}/api/v3"
    include = ["tag:pet", "getInventory", "loginUser"]
    exclude = ["updatePet"]
    {pets_extra}"""))


@pytest.fixture
def apis(tmp_path):
    inventory, pets = fastapi_app(tmp_path), petstore(tmp_path)
    yield inventory, pets
    inventory.stop()
    pets.stop()


@pytest.fixture
def gw(gateway, apis, monkeypatch):
    monkeypatch.setenv("INVENTORY_TOKEN", "s3cret")
    gw = gateway(mcp_route(targets(*apis), options='request_timeout_ms = 5000'))
    wait_for(lambda: gw.log().count("is ready") == 3, timeout=30, what="three targets ready")
    return gw


def text(result):
    return result.content[0].text


@pytest.mark.parametrize("mode", ["legacy", "auto"])
def test_the_tool_list_carries_each_operations_schemas_and_hints(gw, mode):
    async def scenario():
        async with Client(gw.url + "/mcp", mode=mode) as client:
            return {tool.name: tool for tool in (await client.list_tools()).tools}

    tools = run(scenario())
    assert "local_add" in tools, "federated with the stdio MCP server"
    assert {"inventory_get_item", "inventory_list_items", "inventory_create_item", "inventory_login", "inventory_boom"} <= set(tools)
    pets = {name for name in tools if name.startswith("pets_")}
    assert pets == {"pets_addPet", "pets_findPetsByStatus", "pets_findPetsByTags", "pets_getPetById", "pets_updatePetWithForm",
                    "pets_deletePet", "pets_getInventory", "pets_loginUser"}, pets

    get = tools["inventory_get_item"]
    assert get.description == "Get one item\n\nLooks an item up by its id."
    assert get.input_schema["required"] == ["item_id"]
    assert get.input_schema["properties"]["item_id"]["type"] == "integer"
    # FastAPI's Optional[str] header: a string or null (3.1 anyOf), the header's own name.
    assert get.input_schema["properties"]["x-request-id"]["anyOf"] == [{"type": "string"}, {"type": "null"}]
    assert get.output_schema["properties"]["price"]["type"] == "number"
    assert get.annotations.read_only_hint is True
    listed = tools["inventory_list_items"].input_schema["properties"]
    assert listed["tag"]["type"] == "array" and listed["limit"]["maximum"] == 100
    assert tools["inventory_list_items"].output_schema["properties"]["result"]["type"] == "array"
    create = tools["inventory_create_item"].input_schema
    assert sorted(create["required"]) == ["body", "x-tenant"]
    assert sorted(create["properties"]["body"]["required"]) == ["name", "price"]
    assert sorted(tools["inventory_login"].input_schema["properties"]["body"]["required"]) == ["password", "username"]
    assert tools["inventory_delete_item"].annotations.destructive_hint is True

    pet = tools["pets_getPetById"]
    assert pet.input_schema["properties"]["petId"] == {"description": "ID of pet to return", "format": "int64", "type": "integer"}
    assert pet.output_schema["properties"]["status"]["enum"] == ["available", "pending", "sold"]
    assert tools["pets_deletePet"].annotations.destructive_hint is True
    assert "api_key" in tools["pets_deletePet"].input_schema["properties"]


def test_calls_with_path_query_header_and_body_parameters(gw, apis):
    inventory, pets = apis

    async def scenario():
        async with Client(gw.url + "/mcp", mode="legacy") as client:
            return {
                "item": await client.call_tool("inventory_get_item", {"item_id": 1, "x-request-id": "req-7"}),
                "listed": await client.call_tool("inventory_list_items", {"tag": ["home", "light"], "color": None}),
                "created": await client.call_tool("inventory_create_item", {"x-tenant": "acme", "body": {"name": "desk", "price": 99.5, "tags": ["office"]}}),
                "search": await client.call_tool("inventory_search", {"name": "lamp ü?&#"}),
                "login": await client.call_tool("inventory_login", {"body": {"username": "ann b", "password": "secret"}}),
                "hello": await client.call_tool("inventory_hello", {"name": "gateway"}),
                "logo": await client.call_tool("inventory_logo", {}),
                "headers": await client.call_tool("inventory_echo_headers", {}),
                "deleted": await client.call_tool("inventory_delete_item", {"item_id": 2}),
                "pet": await client.call_tool("pets_getPetById", {"petId": 1}),
                "tagged": await client.call_tool("pets_findPetsByTags", {"tags": ["good", "lazy"]}),
                "added": await client.call_tool("pets_addPet", {"body": {"name": "rex", "photoUrls": ["http://x/1.png"], "status": "pending"}}),
                "renamed": await client.call_tool("pets_updatePetWithForm", {"petId": 2, "name": "tom cat"}),
                "removed": await client.call_tool("pets_deletePet", {"petId": 1, "api_key": "key-9"}),
                "inventory": await client.call_tool("pets_getInventory", {}),
                "session": await client.call_tool("pets_loginUser", {"username": "ann", "password": "pw"}),
                "local": await client.call_tool("local_add", {"a": 2, "b": 3}),
            }

    r = run(scenario())
    for name, result in r.items():
        assert not result.is_error, (name, result)
    assert r["item"].structured_content == {"id": 1, "name": "lamp", "price": 12.5, "tags": ["home", "light"], "color": "red", "request_id": "req-7"}
    assert json.loads(text(r["item"])) == r["item"].structured_content
    assert [item["name"] for item in r["listed"].structured_content["result"]] == ["lamp"]
    assert r["created"].structured_content["name"] == "desk" and r["created"].structured_content["request_id"] == "acme"
    assert r["search"].structured_content["name"] == "lamp ü?&#"
    assert r["login"].structured_content == {"user": "ann b", "token": "t-ann b"}
    assert text(r["hello"]) == "Hello, gateway!" and r["hello"].structured_content is None
    logo = r["logo"].content[0]
    assert logo.type == "resource" and logo.resource.mime_type == "image/png"
    assert base64.b64decode(logo.resource.blob)[:4] == b"\x89PNG"
    sent = r["headers"].structured_content["headers"]
    assert sent["x-api-token"] == "Bearer s3cret", "static headers from the config, ${VAR} expanded"
    assert text(r["deleted"]) == "HTTP 204 No Content (no content)"
    assert r["pet"].structured_content["name"] == "doggie"
    assert sorted(p["name"] for p in r["tagged"].structured_content["result"]) == ["doggie", "kitty"]
    assert r["added"].structured_content["status"] == "pending"
    assert r["renamed"].structured_content["name"] == "tom cat"
    assert r["inventory"].structured_content["pending"] == 1
    assert r["session"].structured_content == {"result": "logged in user session:ann"}
    assert text(r["local"]) == "5"

    seen = inventory.requests()
    by_path = {(line["method"], line["path"]): line for line in seen}
    assert by_path[("GET", "/items")]["query"] == "tag=home&tag=light", "form, exploded; a null optional argument is not sent"
    searched = [line for line in seen if line["path"].startswith("/search/")]
    assert [line["raw_path"] for line in searched] == ["/search/lamp%20%C3%BC%3F%26%23"], "every reserved byte of a path parameter is percent-encoded"
    assert by_path[("GET", "/items/1")]["headers"]["x-request-id"] == "req-7"
    assert by_path[("POST", "/login")]["headers"]["content-type"] == "application/x-www-form-urlencoded"
    pet_lines = {(line["method"], line["path"]): line for line in pets.requests()}
    assert pet_lines[("GET", "/api/v3/pet/findByTags")]["query"] == "tags=good&tags=lazy"
    assert pet_lines[("POST", "/api/v3/pet/2")]["query"] == "name=tom%20cat"
    assert pet_lines[("DELETE", "/api/v3/pet/1")]["headers"]["api_key"] == "key-9"
    assert json.loads(pet_lines[("POST", "/api/v3/pet")]["body"])["photoUrls"] == ["http://x/1.png"]


def test_api_errors_bad_arguments_and_a_timeout_are_tool_errors(gw, apis):
    inventory, _ = apis

    async def scenario():
        async with Client(gw.url + "/mcp", mode="auto") as client:
            results = {
                "missing": await client.call_tool("inventory_get_item", {"item_id": 99}),
                "pet404": await client.call_tool("pets_getPetById", {"petId": 12345}),
                "boom": await client.call_tool("inventory_boom", {}),
                "pet500": await client.call_tool("pets_getPetById", {"petId": 666}),
                "wrong type": await client.call_tool("inventory_get_item", {"item_id": "one"}),
                "no body": await client.call_tool("inventory_create_item", {"x-tenant": "acme"}),
                "too many": await client.call_tool("inventory_list_items", {"limit": 1000}),
                "bad enum": await client.call_tool("inventory_list_items", {"color": "purple"}),
                "unknown": await client.call_tool("pets_getPetById", {"petId": 1, "verbose": True}),
                "401": await client.call_tool("inventory_login", {"body": {"username": "a", "password": "nope"}}),
            }
            start = time.monotonic()
            results["slow"] = await client.call_tool("inventory_slow", {"seconds": 4})
            results["slow seconds"] = time.monotonic() - start
            results["after"] = await client.call_tool("inventory_get_item", {"item_id": 1})
            return results

    before = len(inventory.requests())
    r = run(scenario())
    assert text(r["missing"]) == 'GET /items/{item_id} answered HTTP 404 Not Found: {"detail":"no item 99"}' and r["missing"].is_error
    assert text(r["pet404"]).startswith("GET /pet/{petId} answered HTTP 404 Not Found: ") and r["pet404"].is_error
    assert text(r["boom"]) == 'GET /boom answered HTTP 500 Internal Server Error: {"detail":"the database is on fire"}' and r["boom"].is_error
    assert "HTTP 500" in text(r["pet500"]) and "the pet database is down" in text(r["pet500"])
    assert text(r["wrong type"]) == "Invalid arguments for tool 'get_item': 'item_id' must be an integer, not a string (\"one\")."
    assert text(r["no body"]) == "Invalid arguments for tool 'create_item': the required argument 'body' is missing."
    assert text(r["too many"]) == "Invalid arguments for tool 'list_items': 'limit' must be at most 100."
    assert text(r["bad enum"]) == "Invalid arguments for tool 'list_items': 'color' must be one of \"red\", \"green\", \"blue\", not \"purple\"."
    assert text(r["unknown"]) == "Invalid arguments for tool 'getPetById': 'verbose' is not an argument of this tool (it takes 'petId')."
    assert all(r[k].is_error for k in ["wrong type", "no body", "too many", "bad enum", "unknown", "401"])
    assert "HTTP 401 Unauthorized" in text(r["401"])
    # The bad arguments never reached the API: 5 calls made it (99, boom, 401, slow, 1).
    paths = [line["path"] for line in inventory.requests()[before:]]
    assert paths == ["/items/99", "/boom", "/login", "/slow", "/items/1"], paths
    assert r["slow"].is_error and "/slow" in text(r["slow"]) and "1500 ms" in text(r["slow"]), text(r["slow"])
    assert r["slow seconds"] < 3.5, "timeout_ms = 1500 ends the call, not the API"
    assert not r["after"].is_error


def test_two_clients_calling_at_once_each_get_their_own_answers(gw, apis):
    """Calls in flight are the gateway's per-client state here: each answer goes to its caller."""
    async def one(tag, seconds):
        async with Client(gw.url + "/mcp", mode="legacy") as client:
            slow, item = await asyncio.gather(client.call_tool("inventory_slow", {"seconds": seconds}),
                                              client.call_tool("inventory_get_item", {"item_id": 1, "x-request-id": tag}))
            return slow.structured_content, item.structured_content["request_id"]

    async def both():
        return await asyncio.gather(one("alice", 0.6), one("bob", 0.2))

    (slow_a, tag_a), (slow_b, tag_b) = run(both())
    assert (slow_a, tag_a) == ({"slept": 0.6}, "alice")
    assert (slow_b, tag_b) == ({"slept": 0.2}, "bob")


def test_rbac_rate_limits_metrics_traces_and_forwarded_headers_apply_to_these_tools(gateway, apis, tmp_path, monkeypatch):
    monkeypatch.setenv("INVENTORY_TOKEN", "t")
    receiver = Receiver(tmp_path)
    filters = """
    [[routes.filters]]
    plugin = "rbac"
    [[routes.filters.config.rules]]
    name = "no deleting through the gateway"
    allow = '!has(mcp.tool) || mcp.tool.name != "delete_item"'
    [[routes.filters]]
    plugin = "ratelimit"
    [[routes.filters.config.limits]]
    name = "items per client"
    when = 'mcp.method == "tools/call" && mcp.tool.target == "inventory" && mcp.tool.name == "get_item"'
    key = ["source.address"]
    max_tokens = 2
    tokens_per_fill = 2
    fill_interval = "1h"
    """
    config = mcp_route(targets(*apis), filters=filters).replace("[plugins.mcp]", "[plugins.mcp]\n    [plugins.rbac]\n    [plugins.ratelimit]")
    gw = gateway(config + f"""
    [admin]
    address = "127.0.0.1:0"
    [tracing]
    endpoint = "{receiver.endpoint}"
    batch_delay_ms = 100
    """)
    wait_for(lambda: gw.log().count("is ready") == 3, timeout=30, what="targets ready")
    admin = gw.address("admin")
    before, _ = scrape(admin)
    session, _ = initialize(gw.url + "/mcp")
    post(gw.url + "/mcp", {"jsonrpc": "2.0", "method": "notifications/initialized"}, session)

    def call(name, arguments, call_id, headers=None):
        return post(gw.url + "/mcp", {"jsonrpc": "2.0", "id": call_id, "method": "tools/call", "params": {"name": name, "arguments": arguments}},
                    session, headers=headers)

    listed = post(gw.url + "/mcp", {"jsonrpc": "2.0", "id": 2, "method": "tools/list"}, session).json()["result"]["tools"]
    names = {tool["name"] for tool in listed}
    assert "inventory_get_item" in names and "inventory_delete_item" not in names, "RBAC hides what it denies"
    denied = call("inventory_delete_item", {"item_id": 1}, 3).json()
    assert "Unknown tool: inventory_delete_item" in denied["error"]["message"]

    trace_id = "5af7651916cd43dd8448eb211c80319c"
    headers = {"x-user": "ann", "traceparent": f"00-{trace_id}-a7ad6b7169203331-01"}
    echoed = call("inventory_echo_headers", {}, 4, headers=headers).json()["result"]["structuredContent"]["headers"]
    assert echoed["x-user"] == "ann", "forward_headers copies the client's header"
    assert echoed["traceparent"].split("-")[1] == trace_id, "the API call continues the client's trace"

    assert [call("inventory_get_item", {"item_id": 1}, 10 + i).status for i in range(2)] == [200, 200]
    limited = call("inventory_get_item", {"item_id": 1}, 12)
    assert limited.status == 429 and "items per client" in limited.json()["error"]["message"]
    assert call("inventory_boom", {}, 13).json()["result"]["isError"] is True

    # A call is counted as it settles, which may be just after its answer went out.
    def counted():
        after, text = scrape(admin)
        ok = delta(before, after, "agw_mcp_tool_calls_total", route="mcp", target="inventory", tool="get_item", outcome="ok")
        failed = delta(before, after, "agw_mcp_tool_calls_total", route="mcp", target="inventory", tool="boom", outcome="tool_error")
        return text if (ok, failed) == (2, 1) else None
    text = wait_for(counted, what="two get_item calls ok and one boom call a tool error")
    promtool_check(text, tmp_path)
    spans = wait_for(lambda: [s for s in receiver.spans() if s["trace_id"] == trace_id and s["kind"] == "SPAN_KIND_CLIENT"],
                     what="the API call's client span")
    assert any(s["attributes"].get("url.full", "").endswith("/headers") for s in spans), spans
    receiver.stop()


def test_a_url_document_that_cannot_be_fetched_follows_failure_mode_and_is_fetched_again(gateway, tmp_path, monkeypatch):
    monkeypatch.setenv("INVENTORY_TOKEN", "t")
    from conftest import free_port
    port = free_port()
    targets = stdio_target("local") + openapi_target("later", f"http://127.0.0.1:{port}/openapi.json")
    gw = gateway(mcp_route(targets, options='failure_mode = "open"'))
    wait_for(lambda: "target 'later' is down" in gw.log(), timeout=30, what="the URL target down")
    assert "its OpenAPI document could not be fetched" in gw.log()

    async def names():
        async with Client(gw.url + "/mcp", mode="legacy") as client:
            return sorted(tool.name for tool in (await client.list_tools()).tools)

    assert "local_add" in run(names()) and not any(n.startswith("later_") for n in run(names()))
    # The API comes up on that port: the restart (with backoff) reads its document.
    from openapi_helpers import API
    import openapi_helpers
    api = API.__new__(API)
    api.port, api.log = port, tmp_path / "later.requests"
    from conftest import Process
    import os, sys
    api.process = Process([sys.executable, str(openapi_helpers.FIXTURES / "fastapi_app.py"), str(port)], tmp_path / "later.log")
    try:
        wait_for(lambda: "target 'later' is ready" in gw.log(), timeout=40, what="the URL target ready")
        assert "later_get_item" in run(names())
    finally:
        api.process.stop()


def validate(tmp_path, spec):
    config = tmp_path / "gateway.toml"
    config.write_text(mcp_route(openapi_target("api", spec, 'base_url = "http://127.0.0.1:9"')))
    return subprocess.run([str(GATEWAY), "--config", str(config), "--validate"], capture_output=True, text=True)


def test_broken_documents_are_config_errors_that_name_the_problem(tmp_path):
    (tmp_path / "bad.yaml").write_text("openapi: 3.1.0\ninfo: {title: x\n")
    (tmp_path / "invalid.json").write_text('{"openapi": "3.0.3", "info": {"title": "x", "version": "1"}, "paths": {"/a": {"get": {"responses": "nope"}}}}')
    (tmp_path / "ref.yaml").write_text("openapi: 3.0.3\ninfo: {title: x, version: '1'}\npaths:\n  /a: {get: {responses: {'200': {description: ok, content: {application/json: {schema: {$ref: '#/components/schemas/Gone'}}}}}}}\n")
    (tmp_path / "cycle.yaml").write_text("openapi: 3.1.0\ninfo: {title: x, version: '1'}\npaths:\n  /a: {get: {responses: {'200': {description: ok, content: {application/json: {schema: {$ref: '#/components/schemas/A'}}}}}}}\ncomponents: {schemas: {A: {type: object, properties: {b: {$ref: '#/components/schemas/B'}}}, B: {type: array, items: {$ref: '#/components/schemas/A'}}}}\n")
    cases = {
        "missing.yaml": f"cannot read {tmp_path}/missing.yaml (no such file, or not readable)",
        "bad.yaml": f"{tmp_path}/bad.yaml is not valid YAML",
        "invalid.json": f"{tmp_path}/invalid.json is not a valid OpenAPI 3.0.3 document",
        "ref.yaml": "the $ref at #/paths/~1a/get/responses/200/content/application~1json/schema points to #/components/schemas/Gone, which does not exist",
        "cycle.yaml": "$ref cycle #/components/schemas/B -> #/components/schemas/A -> #/components/schemas/B",
    }
    for spec, message in cases.items():
        result = validate(tmp_path, spec)
        assert result.returncode != 0, (spec, result.stdout)
        assert message in result.stderr + result.stdout, (spec, result.stderr + result.stdout)
    assert validate(tmp_path, str(PETSTORE_SPEC)).returncode == 0


def small_document(operations):
    paths = "\n".join(f"  /{name}: {{get: {{operationId: {name}, responses: {{'200': {{description: ok}}}}}}}}" for name in operations)
    return f"openapi: 3.1.0\ninfo: {{title: t, version: '1'}}\nservers: [{{url: 'http://127.0.0.1:9'}}]\npaths:\n{paths}\n"


def test_a_changed_document_file_is_read_again_and_clients_are_told(gateway, tmp_path):
    """Saving the document (an editor's rename) changes the tools within about a second and
    tells each session's GET stream; a broken save keeps the tools; a reload that changes the
    route reads the file as the new configuration's, and a broken file fails that reload."""
    spec = tmp_path / "api.yaml"
    spec.write_text(small_document(["one"]))
    gw = gateway(mcp_route(stdio_target("local") + openapi_target("api", str(spec))))
    wait_for(lambda: gw.log().count("is ready") == 2, timeout=30, what="targets ready")
    seen = []

    async def on_message(message):
        seen.append(str(getattr(getattr(message, "root", message), "method", None) or message))

    def save(text):
        (tmp_path / "api.yaml.new").write_text(text)
        (tmp_path / "api.yaml.new").rename(spec)

    async def scenario():
        async with Client(gw.url + "/mcp", mode="legacy", message_handler=on_message) as client:
            before = sorted(t.name for t in (await client.list_tools()).tools)
            save(small_document(["one", "two"]))
            for _ in range(100):
                if any("tools/list_changed" in item for item in seen):
                    break
                await asyncio.sleep(0.05)
            after = sorted(t.name for t in (await client.list_tools()).tools)
            save("openapi: 3.1.0\npaths: [\n")
            for _ in range(100):
                if "changed but cannot be used" in gw.log():
                    break
                await asyncio.sleep(0.05)
            kept = sorted(t.name for t in (await client.list_tools()).tools)
            return before, after, kept

    before, after, kept = run(scenario())
    assert "api_one" in before and "api_two" not in before and "api_two" in after, (before, after)
    assert any("tools/list_changed" in item for item in seen), seen
    assert "target 'api': its OpenAPI document changed; 2 tool(s) now" in gw.log()
    assert "target 'api': its OpenAPI document changed but cannot be used (targets[1].spec: " in gw.log()
    assert kept == after, "a broken save keeps the tools read before"

    async def names():
        async with Client(gw.url + "/mcp", mode="legacy") as client:
            return [t.name for t in (await client.list_tools()).tools]

    # A reload that changes the route (here its timeout) makes a new instance, which reads the
    # file as part of the configuration: the broken file fails the reload; the old one serves on.
    config = gw.config.read_text()
    gw.config.write_text(config.replace('type = "openapi"', 'type = "openapi"\n    timeout_ms = 2000'))
    gw.process.proc.send_signal(signal.SIGHUP)
    wait_for(lambda: "configuration rejected" in gw.log(), timeout=15, what="the reload refused")
    rejection = next(line for line in gw.log().splitlines() if "configuration rejected" in line)
    assert "targets[1].spec" in rejection, rejection
    assert "api_two" in run(names()), "the old configuration serves on"
    save(small_document(["three"]))
    gw.process.proc.send_signal(signal.SIGHUP)

    wait_for(lambda: "api_three" in run(names()), timeout=15, what="the reloaded document's tool")
    assert "api_one" not in run(names())
