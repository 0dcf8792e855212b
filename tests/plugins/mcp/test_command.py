"""``crosslink mcp`` and ``[plugins.mcp]`` refuse what cannot work, with a message that says why."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.plugins.mcp.conftest import stdio_env, write_server_toml
from tests.support import crosslink_command, start_live_server

pytestmark = pytest.mark.slow


def crosslink_mcp(repo: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**stdio_env(), "PATH": "/usr/bin:/bin"}
    return subprocess.run(crosslink_command("mcp", *args, env=env), cwd=repo, capture_output=True, text=True,
                          timeout=120, input="", env=env)


def test_a_url_that_is_not_http_is_refused(repo):
    result = crosslink_mcp(repo, "--url", "ftp://127.0.0.1:3100")
    assert result.returncode == 2
    assert "'ftp://127.0.0.1:3100' is not an http(s) URL" in result.stderr


def test_the_mcp_plugin_cannot_be_disabled_for_crosslink_mcp(repo):
    result = crosslink_mcp(repo, "--plugins", "all,-mcp")
    assert result.returncode == 2
    assert "do not disable it" in result.stderr


def test_an_unknown_tool_name_stops_the_server_and_names_it(repo):
    write_server_toml(repo, '[plugins.mcp]\ntools = ["claim_lock", "claim_locks"]\n')
    with pytest.raises(RuntimeError) as failed:
        start_live_server(repo, [])
    assert "[plugins.mcp] tools names unknown tool(s): claim_locks; known: " in str(failed.value)
    result = crosslink_mcp(repo)
    assert result.returncode == 1 and "claim_locks" in result.stderr and "Traceback" not in result.stderr
