"""The MCP SDK is imported on the first ``/mcp`` request, not at start-up (it costs about 25 MB
and more import time than Quart): a fresh interpreter serves other routes without it, then
answers an MCP ``initialize`` and ``tools/list`` over HTTP with it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]

SCRIPT = r"""
import asyncio, json, subprocess, sys, tempfile
from pathlib import Path
from kernel.app import create_app
from kernel.settings import Settings

SDK = ("mcp.server.lowlevel", "mcp.server.streamable_http_manager", "mcp_types")

def loaded():
    return [name for name in SDK if name in sys.modules]

async def main(repo):
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    app = create_app(Settings(repo_root=repo, autoload=False))
    report = {}
    async with app.test_app() as test_app:
        client = test_app.test_client()
        assert (await client.get("/api/v1/health")).status_code == 200
        await asyncio.sleep(0.2)
        report["after_start"] = loaded()
        headers = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}
        init = {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
            "protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}}
        response = await client.post("/mcp", data=json.dumps(init), headers=headers)
        report["initialize"] = response.status_code
        listed = await client.post("/mcp", data=json.dumps({"jsonrpc": "2.0", "id": 2, "method": "tools/list"}),
                                   headers={**headers, "Mcp-Protocol-Version": "2025-06-18"})
        report["tools_list"] = listed.status_code
        body = await listed.get_data(as_text=True)
        report["tools"] = len(json.loads(body)["result"]["tools"]) if listed.status_code == 200 else body[:500]
        report["after_request"] = loaded()
    print(json.dumps(report))

with tempfile.TemporaryDirectory() as scratch:
    asyncio.run(main(Path(scratch)))
"""


def test_the_sdk_is_imported_on_the_first_mcp_request():
    done = subprocess.run([sys.executable, "-c", SCRIPT], cwd=ROOT, capture_output=True, text=True, timeout=180,
                          env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin", "HOME": str(Path.home())})
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["after_start"] == [], report
    assert report["initialize"] == 200 and report["tools_list"] == 200, report
    assert isinstance(report["tools"], int) and report["tools"] > 0, report
    assert set(report["after_request"]) >= {"mcp.server.lowlevel", "mcp.server.streamable_http_manager"}, report
