"""The demo MCP server (examples/demo-mcp-server), driven by the official Python `mcp` client over
stdio in both of its connect modes: "legacy" (initialize) and "auto" (server/discover probe, then
the fallback to initialize that the spec prescribes)."""
import asyncio

import pytest
from mcp import Client, StdioServerParameters
from mcp.shared.exceptions import MCPError

from conftest import BUILD


@pytest.mark.parametrize("mode", ["legacy", "auto"])
def test_official_client_lists_calls_reads_and_gets_progress(mode):
    progress = []

    async def on_progress(value, total, message):
        progress.append((value, total))

    async def run():
        server = StdioServerParameters(command=str(BUILD / "demo-mcp-server"), env={"DEMO_MCP_NAME": "demo-under-test"})
        async with Client(server, mode=mode) as client:
            tools = await client.list_tools()
            assert sorted(tool.name for tool in tools.tools) == ["add", "current_time", "echo", "slow_count", "word_count"]
            added = await client.call_tool("add", {"a": 2, "b": 3})
            assert added.content[0].text == "5" and not added.is_error
            words = await client.call_tool("word_count", {"text": "one two  three"})
            assert words.content[0].text == "3"
            counted = await client.call_tool("slow_count", {"n": 3}, progress_callback=on_progress)
            assert counted.content[0].text == "counted to 3"
            prompt = await client.get_prompt("summarize", {"text": "gateways"})
            assert "gateways" in prompt.messages[0].content.text
            resource = await client.read_resource("demo://readme")
            assert "demo-under-test" in resource.contents[0].text
            with pytest.raises(MCPError) as unknown:
                await client.call_tool("no_such_tool", {})
            assert "Unknown tool" in str(unknown.value)

    asyncio.run(asyncio.wait_for(run(), 30))
    assert progress == [(1, 3), (2, 3), (3, 3)]
