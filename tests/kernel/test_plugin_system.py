"""The plugin system kept honest, as datasette keeps its own: every hook documented and
exercised, a plugin's own hookspecs, a built-in replaced while its dependents stay enabled, and
plugins that use only the kernel's plugin interface (:class:`kernel.PluginKernel`)."""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

import pytest

from kernel import PluginKernel, hookspecs
from tests.fixtures.plugins.greetings import Friendly, Greeter

ROOT = Path(__file__).resolve().parents[2]
KERNEL_HOOKS = sorted(name for name in dir(hookspecs) if name.startswith("crosslink_"))


@pytest.mark.parametrize("hook", KERNEL_HOOKS)
def test_every_hookspec_is_documented_and_exercised_by_a_test(hook):
    doc = inspect.getdoc(getattr(hookspecs, hook)) or ""
    assert len(doc) > 40, f"{hook} needs a docstring that says when it runs and what it returns"
    users = [p for p in (ROOT / "tests").rglob("*.py") if hook in p.read_text() and p.name != Path(__file__).name]
    assert users, f"no test implements or calls {hook}"


async def test_a_plugin_adds_its_own_hook_and_another_implements_it(app_factory):
    server = await app_factory(plugins="greeter,friendly", extra_plugins={"greeter": Greeter(), "friendly": Friendly()})
    response = await server.client.get("/api/v1/greetings")
    assert response.status_code == 200
    assert await response.get_json() == [{"plugin": "friendly", "greetings": ["hello", "notes enabled: False"]}]


def test_an_implementer_without_the_defining_plugin_is_a_clear_startup_error(settings_factory):
    from kernel import StartupError
    from kernel.app import create_app

    with pytest.raises(StartupError, match="greeter"):
        create_app(settings_factory(plugins="friendly"), extra_plugins={"friendly": Friendly()})


async def test_a_replaced_builtin_with_its_dependents_enabled_still_boots(with_testdist, app_factory):
    """The installed third-party ``issues`` replaces the built-in; locks and sessions, which
    require ``issues``, run on the replacement's ``issues`` service."""
    server = await app_factory(plugins="issues,locks,sessions", autoload=True)
    listed = {p["name"]: p for p in await (await server.client.get("/api/v1/plugins")).get_json()}
    assert listed["issues"]["replaces_builtin"] is True and listed["locks"]["enabled"] is True
    claimed = await server.client.post("/api/v1/locks/2/claim", json={"agent_id": "worker-1"})
    assert claimed.status_code == 201, await claimed.get_data(as_text=True)
    released = await server.client.post("/api/v1/locks/2/release", json={"agent_id": "worker-1"})
    assert released.status_code == 200, await released.get_data(as_text=True)
    missing = await server.client.post("/api/v1/locks/99/claim", json={"agent_id": "worker-1"})
    assert missing.status_code == 404 and (await missing.get_json())["error"] == "not found"
    started = await server.client.post("/api/v1/sessions/start", json={"agent_id": "worker-1"})
    assert started.status_code in (200, 201), await started.get_data(as_text=True)
    ended = await server.client.post("/api/v1/sessions/end", json={"agent_id": "worker-1", "notes": "done"})
    assert ended.status_code == 200, await ended.get_data(as_text=True)
    issues = await (await server.client.get("/api/v1/issues")).get_json()
    assert issues["implementation"] == "crosslink-testplugins"


def _kernel_attributes_used(path: Path) -> set[str]:
    """Attributes read off a ``kernel`` (a name, or ``self.kernel`` / ``self._kernel``)."""
    used = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Attribute):
            owner = node.value
            if (isinstance(owner, ast.Name) and owner.id == "kernel") or (
                isinstance(owner, ast.Attribute) and owner.attr in ("kernel", "_kernel")
            ):
                used.add(node.attr)
    return used


def test_plugins_use_only_the_plugin_interface_of_the_kernel():
    promised = {name for name in dir(PluginKernel) if not name.startswith("_")} | set(
        PluginKernel.__annotations__
    )
    reaching = {}
    for path in sorted((ROOT / "plugins").rglob("*.py")):
        beyond = _kernel_attributes_used(path) - promised
        if beyond:
            reaching[str(path.relative_to(ROOT))] = sorted(beyond)
    assert reaching == {}, f"plugins reach past kernel.PluginKernel: {reaching}"


async def test_the_kernel_handed_to_plugins_is_a_plugin_kernel(app_factory):
    server = await app_factory(plugins="issues")
    assert isinstance(server.kernel, PluginKernel)
