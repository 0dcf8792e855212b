"""How much of an agent's context the tool list takes: ``python -m plugins.mcp.tool_size``.

Every tool an MCP server lists (name, description, input schema) is put in the model's context
for the whole conversation. The figure printed here is the ``tools`` array of ``tools/list`` as
this server sends it (compact JSON, every plugin enabled), measured in characters, and an
estimate in tokens of **characters / 4** (the usual rule of thumb for English and JSON with
common tokenizers; real counts vary by model, schema-heavy JSON often a little higher).
A test checks that the README shows exactly these figures and that they match the wire.
"""

from __future__ import annotations

import json
from typing import Any

from .server import describe_tool
from .tools import TOOLS, ToolSpec

CHARS_PER_TOKEN = 4


def wire_tools(tools: list[ToolSpec]) -> list[dict[str, Any]]:
    """The ``tools`` array of a ``tools/list`` result, as the SDK serialises it."""
    return [describe_tool(tool).model_dump(by_alias=True, mode="json", exclude_none=True) for tool in tools]


def size(tools: list[dict[str, Any]]) -> tuple[int, int]:
    """``(characters, estimated tokens)`` of a tools array in compact JSON."""
    chars = len(json.dumps(tools, separators=(",", ":"), ensure_ascii=False))
    return chars, -(-chars // CHARS_PER_TOKEN)


def tiers() -> dict[str, list[ToolSpec]]:
    """The two tiers with every plugin enabled."""
    return {"core": [tool for tool in TOOLS if tool.tier == "core"], "all": list(TOOLS)}


def table() -> str:
    """The Markdown table the README carries."""
    lines = ["| `tools =` | tools | characters | ≈ tokens (characters / 4) |", "|---|---|---|---|"]
    for name, tools in tiers().items():
        chars, tokens = size(wire_tools(tools))
        lines.append(f'| `"{name}"` | {len(tools)} | {chars:,} | {tokens:,} |')
    return "\n".join(lines)


if __name__ == "__main__":
    print(table())
