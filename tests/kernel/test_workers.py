"""Background workers: restart with backoff, the stop deadline, singletons on a team server."""

from __future__ import annotations

import asyncio
import signal
import time

import httpx
import pytest

from tests.support import BACKENDS

pytestmark = pytest.mark.parametrize("backend", BACKENDS, indirect=True)

TESTDIST_ENV = {"CROSSLINK_DISABLE_PLUGIN_AUTOLOAD": "0"}


def _workers(url: str) -> dict[str, dict]:
    answer = httpx.get(f"{url}/api/v1/workers", timeout=10)
    assert answer.status_code == 200, answer.text
    return {worker["name"]: worker for worker in answer.json()}


def _wait_for(predicate, timeout: float = 15.0, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)


async def test_a_failing_worker_is_restarted_and_listed(with_testdist, app_factory, caplog):
    import crosslink_testplugins.chores as chores

    chores.FLAKY_RUNS.clear()
    server = await app_factory(plugins="chores", autoload=True)
    for _ in range(200):
        flaky = server.kernel.workers.get("chores-flaky")
        if flaky["runs"] >= 4:
            break
        await asyncio.sleep(0.05)
    answer = await server.client.get("/api/v1/workers")
    assert answer.status_code == 200
    listed = {worker["name"]: worker for worker in await answer.get_json()}
    flaky = listed["chores-flaky"]
    assert flaky["plugin"] == "chores"
    assert flaky["kind"] == "periodic"
    assert flaky["restarts"] == 2
    assert flaky["last_error"] == "RuntimeError: boom 2"
    assert flaky["last_error_at"].endswith("Z")
    assert flaky["runs"] >= 4 and flaky["note"].startswith("run ")
    assert flaky["state"] in ("running", "idle")
    assert "worker 'chores-flaky' (plugin 'chores') failed: RuntimeError: boom 1" in caplog.text
    keeper = listed["chores-keeper"]
    assert keeper["singleton"] is True and keeper["holds_lease"] is True and keeper["state"] == "running"
    assert listed["chores-stubborn"]["holds_lease"] is None


async def test_waking_a_periodic_worker_runs_it_now(with_testdist, app_factory):
    import crosslink_testplugins.chores as chores

    chores.FLAKY_RUNS.clear()
    server = await app_factory(plugins="chores", autoload=True)
    workers = server.kernel.workers
    assert workers.wake("chores-flaky") is True
    assert workers.wake("no-such-worker") is False


async def test_a_worker_that_ignores_the_deadline_is_cancelled_and_logged(with_testdist, settings_factory, caplog):
    from kernel.app import create_app, kernel_of

    app = create_app(settings_factory(plugins="chores", autoload=True))
    async with app.test_app():
        kernel = kernel_of(app)
        await asyncio.sleep(0.2)
        assert kernel.workers.get("chores-stubborn")["state"] == "running"
    assert "worker 'chores-stubborn' (plugin 'chores') did not stop within 0.3 s; it is cancelled" in caplog.text
    assert kernel.workers.get("chores-stubborn")["state"] == "stopped"
    assert kernel.workers.get("chores-keeper")["state"] == "stopped"


@pytest.mark.slow
def test_a_singleton_runs_on_one_instance_and_moves_when_it_dies(testdist_path, live_server_factory):
    env = {**TESTDIST_ENV, "PYTHONPATH": str(testdist_path)}
    first = live_server_factory("--plugins", "chores", env=env)
    second = live_server_factory("--plugins", "chores", env=env)

    def holders():
        states = [_workers(live.url)["chores-keeper"] for live in (first, second)]
        held = [state["holds_lease"] for state in states]
        return held if sorted(held) == [False, True] else None

    held = _wait_for(holders, what="exactly one holder of the singleton's lease")
    holder, standby = (first, second) if held[0] else (second, first)
    assert _workers(standby.url)["chores-keeper"]["state"] == "standby"
    # non-singletons run everywhere
    assert _workers(standby.url)["chores-flaky"]["state"] in ("running", "idle", "backoff")

    holder.process.send_signal(signal.SIGKILL)
    holder.process.wait(10)
    took_over = time.monotonic()
    state = _wait_for(
        lambda: (s := _workers(standby.url)["chores-keeper"])["holds_lease"] and s,
        timeout=10,
        what="the standby instance to take the lease over",
    )
    assert state["state"] == "running"
    assert time.monotonic() - took_over < 10
