"""The suite's fork server (:mod:`tests.forkserver`) starts ``crosslink serve`` as the console
script does: the arguments, the environment and the working directory are the child's, signals
reach the server itself, and its exit status comes back as ``Popen``'s would. Where only a real
``exec`` starts it the same way, the console script is executed instead."""

from __future__ import annotations

import os
import signal
import subprocess

import httpx
import pytest

from tests import forkserver
from tests.support import CROSSLINK, start_live_server

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
