"""Third parties add decomposers and launchers through the orchestrator's own hooks, as the
built-in ones are added (``tests/fixtures/plugins/orchestrator_extras.py``)."""

from __future__ import annotations

import pytest

from kernel import StartupError
from tests.fixtures.plugins import orchestrator_extras

from .conftest import Api, assert_error


@pytest.fixture
async def extended(app_factory) -> Api:
    orchestrator_extras.LAUNCHED.clear()
    return Api(await app_factory(plugins="issues,orchestrator,orchestrator_extras",
                                 extra_plugins={"orchestrator_extras": orchestrator_extras}))


async def test_the_hooks_list_built_in_and_third_party_entries(extended):
    decomposers = await extended.get("/orchestrator/decomposers")
    assert [(d["name"], d["plugin"], d["default"]) for d in decomposers] == [
        ("command", "orchestrator", False), ("lines", "orchestrator_extras", False), ("markdown", "orchestrator", True)]
    launchers = await extended.get("/orchestrator/launchers")
    assert [(d["name"], d["plugin"], d["default"]) for d in launchers] == [
        ("command", "orchestrator", False), ("instant", "orchestrator_extras", False), ("manual", "orchestrator", True)]
    assert all(d["description"] for d in decomposers + launchers)
    plugins = {p["name"]: p for p in await extended.get("/plugins")}
    assert "crosslink_orchestrator_launchers" in plugins["orchestrator_extras"]["hooks"]
    assert "crosslink_orchestrator_decomposers" in plugins["orchestrator"]["hooks"]


async def test_a_third_party_decomposer_and_launcher_run_an_execution(extended):
    plan = await extended.decompose("build\ntest < build\nfail on purpose < build\nship < test\n", decomposer="lines")
    stages = {s["title"]: s for s in plan["phases"][0]["stages"]}
    assert stages["ship"]["depends_on"] == [stages["test"]["id"]]
    assert (await extended.get(f"/orchestrator/plans/{plan['id']}"))["decomposer"] == "lines"
    await extended.post("/orchestrator/execute", {"launcher": "instant"}, expect=200)
    status = await extended.wait_status(lambda s: s["state"] == "failed")
    by_title = {s["title"]: s for s in status["stages"]}
    assert [by_title[t]["status"] for t in ("build", "test", "fail on purpose", "ship")] == ["done", "done", "failed", "done"]
    assert by_title["fail on purpose"]["message"] == "the title says so" and by_title["fail on purpose"]["exit_code"] == 1
    assert [title for _, title in orchestrator_extras.LAUNCHED][0] == "build"
    assert status["launcher"] == "instant"
    await extended.post(f"/orchestrator/stages/{by_title['fail on purpose']['id']}/skip", expect=200)
    assert (await extended.wait_status(lambda s: s["state"] == "done"))["counts"] == {
        "pending": 0, "running": 0, "done": 3, "failed": 0, "skipped": 1, "blocked": 0}


async def test_the_extension_loads_without_the_orchestrator(app_factory):
    server = Api(await app_factory(plugins="issues,orchestrator_extras",
                                   extra_plugins={"orchestrator_extras": orchestrator_extras}))
    assert_error(await server.call("GET", "/orchestrator/status"), 404)
    assert "orchestrator_extras" in {p["name"] for p in await server.get("/plugins") if p["enabled"]}


async def test_two_launchers_with_one_name_are_a_startup_error(app_factory):
    class Clash:
        from kernel import hookimpl

        @staticmethod
        @hookimpl(optionalhook=True)
        def crosslink_orchestrator_launchers(kernel):
            return [orchestrator_extras.InstantLauncher(), type("Manual", (), {"name": "manual"})()]

    with pytest.raises(StartupError, match="launcher 'manual' is offered twice: by plugin 'clash' and by plugin 'orchestrator'"):
        await app_factory(plugins="issues,orchestrator,clash", extra_plugins={"clash": Clash})
