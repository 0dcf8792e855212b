"""The README's figure for the size of the tool list is the one ``python -m plugins.mcp.tool_size``
computes, and that script measures what the server really sends."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from plugins.mcp.tool_size import table, tiers, wire_tools

README = Path(__file__).parents[3] / "plugins" / "mcp" / "README.md"


def test_the_readme_shows_the_computed_figures():
    printed = subprocess.run([sys.executable, "-m", "plugins.mcp.tool_size"], capture_output=True, text=True,
                             check=True, cwd=README.parents[2]).stdout.strip()
    assert printed == table()
    assert table() in README.read_text(encoding="utf-8"), "update the table in plugins/mcp/README.md:\n" + table()


@pytest.mark.slow
def test_the_script_measures_the_wire(live_server_factory):
    live = live_server_factory()
    response = httpx.post(
        live.url + "/mcp",
        json={"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {}},
        headers={"Accept": "application/json, text/event-stream", "MCP-Protocol-Version": "2025-11-25"},
        timeout=30,
    )
    assert response.status_code == 200, response.text
    assert response.json()["result"]["tools"] == wire_tools(tiers()["core"])
