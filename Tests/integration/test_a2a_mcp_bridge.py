"""A2A agents as MCP tools: an MCP target of `type = "a2a"` turns the official a2a-sdk agent's
skills into tools that the official MCP client calls through the gateway, in both MCP eras, with
the agent's streamed status updates as MCP progress."""
import pytest
from mcp import Client

from a2a_helpers import Agent
from conftest import wait_for
from mcp_helpers import mcp_route, run, stdio_target


@pytest.fixture
def bridged(gateway, tmp_path):
    agent = Agent(tmp_path, "travel")
    targets = stdio_target("local") + f"""
    [[routes.handler.config.targets]]
    name = "travel"
    type = "a2a"
    url = "{agent.url}"
    """
    gw = gateway(mcp_route(targets))
    wait_for(lambda: gw.log().count("is ready") == 2, timeout=30, what="both targets ready")
    yield gw, agent
    agent.stop()


@pytest.mark.parametrize("mode", ["legacy", "auto"])
def test_the_official_mcp_client_calls_an_a2a_agents_skills(bridged, mode):
    gw, agent = bridged
    progress = []

    async def on_progress(value, total, message):
        progress.append(message)

    async def scenario():
        async with Client(gw.url + "/mcp", mode=mode) as client:
            tools = {tool.name: tool for tool in (await client.list_tools()).tools}
            assert {"travel_echo", "travel_count", "travel_slow"} <= set(tools)
            assert "local_add" in tools, "an A2A target federates with MCP servers"
            assert tools["travel_echo"].description.startswith("Echoes the message.")
            assert tools["travel_count"].input_schema["required"] == ["message"]
            echo = await client.call_tool("travel_echo", {"message": "hello"})
            counted = await client.call_tool("travel_count", {"message": "count 3"}, progress_callback=on_progress)
            missing = await client.call_tool("travel_echo", {})
            return echo, counted, missing

    echo, counted, missing = run(scenario())
    assert echo.content[0].text == "travel: hello"
    assert counted.content[0].text == "travel counted to 3"
    assert counted.structured_content["state"] == "COMPLETED" and counted.structured_content["taskId"]
    assert not counted.is_error
    assert [m for m in progress if m in ("1", "2", "3")] == ["1", "2", "3"], progress
    assert missing.is_error and "'message'" in missing.content[0].text
    assert any(line.startswith("POST") for line in agent.requests())
