"""The suite's fork server (:mod:`tests.forkserver`) starts ``crosslink serve`` as the console
script does: the arguments, the environment and the working directory are the child's, signals
reach the server itself, and its exit status comes back as ``Popen``'s would; a command run
through the launcher (``crosslink_command``) behaves as the console script would. Where only a
real ``exec`` starts it the same way, the console script is executed instead."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import httpx
import pytest

from tests import forkserver
from tests.support import CROSSLINK, crosslink_command, start_live_server

TOKEN = "t0ken-for-the-fork"
forking = pytest.mark.skipif(os.environ.get("CROSSLINK_TEST_FORKSERVER") == "0",
                             reason="CROSSLINK_TEST_FORKSERVER=0: every server is executed")


@forking
def test_a_forked_server_takes_its_environment_and_stops_on_sigint(repo):
    live = start_live_server(repo, ["--plugins", "issues"], env={"CROSSLINK_TOKEN": TOKEN})
    try:
        assert isinstance(live.process, forkserver.ForkedProcess)
        assert httpx.get(f"{live.url}/api/v1/issues").status_code == 401  # the token came from its environment
        listed = httpx.get(f"{live.url}/api/v1/plugins", headers={"Authorization": f"Bearer {TOKEN}"})
        assert listed.status_code == 200
        enabled = {plugin["name"] for plugin in listed.json() if plugin["enabled"]}
        assert "issues" in enabled and "sessions" not in enabled and "locks" not in enabled  # its own argv
        assert live.process.poll() is None
    finally:
        code = live.stop()
    assert code == 0
    assert "listening on" in live.text() and "Traceback" not in live.text()


@forking
def test_sigkill_reaches_the_server_and_comes_back_as_popen_reports_it(repo):
    live = start_live_server(repo, ["--plugins", "issues"])
    assert isinstance(live.process, forkserver.ForkedProcess)
    live.process.send_signal(signal.SIGKILL)
    assert live.process.wait(10) == -signal.SIGKILL
    assert live.stop() == -signal.SIGKILL


@forking
def test_a_start_that_fails_exits_with_the_cli_status_and_message(repo):
    process = forkserver.spawn([CROSSLINK, "serve", "--port", "0", "--repo", str(repo), "--plugins", "no-such-plugin"],
                               dict(os.environ))
    assert isinstance(process, forkserver.ForkedProcess)
    with process.stdout:
        output = process.stdout.read()
    assert process.wait(15) == 1
    assert "no-such-plugin" in output and "Traceback" not in output


def test_an_interpreter_setting_is_started_by_exec(repo):
    live = start_live_server(repo, ["--plugins", "issues"], env={"PYTHONWARNINGS": "error::DeprecationWarning"})
    try:
        assert isinstance(live.process, subprocess.Popen)
        assert httpx.get(f"{live.url}/api/v1/health").status_code == 200
    finally:
        assert live.stop() == 0


@forking
def test_a_launched_command_gets_its_streams_cwd_and_exit_status(repo, tmp_path):
    """``crosslink_command``: the launcher hands the helper its streams, working directory and
    environment; the exit status and the output are the command's own."""
    argv = crosslink_command("plugins", "--json", "--plugins", "issues")
    assert argv[:4] == [sys.executable, "-I", "-S", forkserver.LAUNCHER]
    listed = subprocess.run(argv, capture_output=True, text=True, timeout=60)
    assert listed.returncode == 0, listed.stderr
    enabled = {plugin["name"] for plugin in json.loads(listed.stdout) if plugin["enabled"]}
    assert "issues" in enabled and "sessions" not in enabled

    (tmp_path / "elsewhere").mkdir()
    refused = subprocess.run(crosslink_command("serve", "--port", "0", "--plugins", "no-such-plugin"),
                             cwd=tmp_path / "elsewhere", capture_output=True, text=True, timeout=60,
                             env={**os.environ, "CROSSLINK_PLUGINS": "issues"})
    assert refused.returncode == 1 and "no-such-plugin" in refused.stderr and "Traceback" not in refused.stderr
    assert refused.stdout == ""


def _launched_server(repo) -> tuple[subprocess.Popen, str]:
    process = subprocess.Popen(crosslink_command("serve", "--port", "0", "--repo", str(repo), "--plugins", "issues"),
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    for line in process.stdout:
        if "listening on" in line:
            return process, line.split("listening on ")[1].split()[0]
    raise AssertionError(f"the server did not start ({process.wait(10)})")


@forking
def test_the_launcher_forwards_signals_and_takes_its_child_along_when_killed(repo):
    process, url = _launched_server(repo)
    assert httpx.get(f"{url}/api/v1/health").status_code == 200
    process.send_signal(signal.SIGINT)
    assert process.wait(15) == 0  # the server's own clean stop, passed on

    process, url = _launched_server(repo)
    process.kill()  # the launcher cannot pass SIGKILL on: the helper kills the child
    assert process.wait(15) == -signal.SIGKILL
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        try:
            httpx.get(f"{url}/api/v1/health", timeout=1)
        except httpx.TransportError:
            break
        time.sleep(0.1)
    else:
        raise AssertionError("the forked server outlived its launcher")
