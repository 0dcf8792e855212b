"""Plugin loading through the public surface: selection, disabling, replacement, requirements,
broken third-party plugins (a real installed distribution), misspelt hooks, services, config
sections, lifecycle hooks and plugin commands."""

from __future__ import annotations

import json
import subprocess

import pytest

from kernel import StartupError
from kernel.builtin_plugins import BUILTIN_PLUGINS
from tests.fixtures.plugins import notes, typo, wraps_startup
from tests.support import crosslink_command, open_ws, receive_json


@pytest.fixture
def notes_builtin(monkeypatch):
    """Make the test 'notes' plugin a built-in for the duration of a test."""
    monkeypatch.setitem(BUILTIN_PLUGINS, "notes", "tests.fixtures.plugins.notes")
    monkeypatch.setitem(BUILTIN_PLUGINS, "needs_notes", "tests.fixtures.plugins.needs_notes")


async def plugins_by_name(client) -> dict[str, dict]:
    response = await client.get("/api/v1/plugins")
    assert response.status_code == 200
    return {p["name"]: p for p in await response.get_json()}


async def test_all_enables_every_builtin(notes_builtin, app_factory):
    server = await app_factory(plugins="all")
    listed = await plugins_by_name(server.client)
    for name in BUILTIN_PLUGINS:
        assert listed[name]["enabled"], name
        assert listed[name]["source"] == "built-in"
    assert "crosslink_register_blueprints" in listed["notes"]["hooks"]
    response = await server.client.post("/api/v1/notes", json={"body": "hi"})
    assert response.status_code == 201


async def test_disabled_plugin_has_no_routes_and_no_channel(notes_builtin, app_factory):
    server = await app_factory(plugins="all,-notes,-needs_notes")
    listed = await plugins_by_name(server.client)
    assert listed["notes"]["enabled"] is False
    response = await server.client.post("/api/v1/notes", json={"body": "hi"})
    assert response.status_code == 404
    body = await response.get_json()
    assert body["error"] == "not found" and "/api/v1/notes" in body["detail"]
    ws, connection = await open_ws(server.client)
    try:
        await connection.send(json.dumps({"type": "subscribe", "channels": ["notes", "issues"]}))
        reply = await receive_json(connection)
        # the disabled plugin's channel is named as unknown; the known one is subscribed
        assert reply == {"seq": 2, "type": "subscribed", "channels": ["issues"], "unknown": ["notes"]}
    finally:
        await ws.__aexit__(None, None, None)


async def test_a_disabled_builtin_is_described_and_its_routes_say_so(app_factory):
    server = await app_factory(plugins="issues")
    listed = await plugins_by_name(server.client)
    sync = listed["sync"]
    assert sync["enabled"] is False and sync["description"].startswith("Hub sync")
    assert "crosslink_register_blueprints" in sync["hooks"]
    response = await server.client.get("/api/v1/sync/status")
    assert response.status_code == 404
    detail = (await response.get_json())["detail"]
    assert "'sync' plugin, which is disabled" in detail and "--plugins" in detail
    unknown = await server.client.get("/api/v1/no-such-thing")
    assert (await unknown.get_json())["detail"] == "No such route: /api/v1/no-such-thing"


async def test_only_the_listed_plugins_are_enabled(notes_builtin, app_factory):
    server = await app_factory(plugins="notes")
    listed = await plugins_by_name(server.client)
    # the built-in interfaces (pages, MCP tools) follow any selection, unless excluded by name
    assert [name for name, p in listed.items() if p["enabled"]] == ["dashboard", "mcp", "notes"]


def test_interfaces_are_left_out_by_name(notes_builtin):
    from kernel.plugins import load_plugins

    assert load_plugins("notes,-dashboard,-mcp", autoload=False).order == ["notes"]
    assert load_plugins("notes,-mcp", autoload=False).order == ["dashboard", "notes"]


async def test_missing_requirement_is_a_clear_startup_error(notes_builtin, settings_factory):
    from kernel.app import create_app

    with pytest.raises(StartupError) as failure:
        create_app(settings_factory(plugins="needs_notes"))
    message = str(failure.value)
    assert "'needs_notes' requires 'notes'" in message
    assert "--plugins needs_notes,notes" in message  # how to fix it


async def test_a_given_plugin_replaces_the_builtin_of_the_same_name(notes_builtin, app_factory):
    import types

    from kernel import PluginInfo, hookimpl

    replacement = types.ModuleType("acme_notes")
    replacement.PLUGIN = PluginInfo(name="notes", description="ACME notes")

    def crosslink_register_blueprints(kernel):
        from quart import Blueprint

        from kernel.api import json_response

        bp = Blueprint("acme_notes", __name__)

        @bp.get("/notes/which")
        async def which():
            return json_response({"implementation": "acme"})

        return [bp]

    replacement.crosslink_register_blueprints = hookimpl(crosslink_register_blueprints)
    server = await app_factory(plugins="notes", extra_plugins={"notes": replacement})
    response = await server.client.get("/api/v1/notes/which")
    assert await response.get_json() == {"implementation": "acme"}
    listed = await plugins_by_name(server.client)
    assert listed["notes"]["replaces_builtin"] is True
    assert listed["notes"]["description"] == "ACME notes"
    # the built-in's routes are gone with it
    assert (await server.client.post("/api/v1/notes", json={"body": "x"})).status_code == 404


async def test_installed_entry_point_replaces_builtin_issues(with_testdist, app_factory):
    if "issues" not in BUILTIN_PLUGINS:
        pytest.fail("the issues plugin is a built-in")
    server = await app_factory(plugins="issues", autoload=True)
    response = await server.client.get("/api/v1/issues")
    assert (await response.get_json())["implementation"] == "crosslink-testplugins"
    listed = await plugins_by_name(server.client)
    assert listed["issues"]["replaces_builtin"] is True
    assert listed["issues"]["source"].startswith("crosslink-testplugins")
    assert listed["issues"]["version"] == "1.2.3"


async def test_broken_third_party_plugin_is_reported_and_skipped(with_testdist, app_factory):
    server = await app_factory(plugins="burst,broken", autoload=True)
    assert (await server.client.get("/api/v1/health")).status_code == 200
    listed = await plugins_by_name(server.client)
    assert listed["broken"]["enabled"] is False
    assert "needs a module that is not installed" in listed["broken"]["error"]
    assert listed["burst"]["enabled"] is True


async def test_strict_mode_makes_a_broken_plugin_fatal(with_testdist, settings_factory):
    from kernel.app import create_app

    with pytest.raises(StartupError, match="plugin 'broken'.*failed to import"):
        create_app(settings_factory(plugins="all", autoload=True, strict_plugins=True))


async def test_a_misspelt_hook_is_caught(settings_factory):
    from kernel.app import create_app

    with pytest.raises(StartupError, match="'typo' implements an unknown hook.*crosslink_register_blueprint"):
        create_app(settings_factory(plugins="typo"), extra_plugins={"typo": typo})


def test_a_wrapper_on_a_kernel_hook_is_refused_with_what_to_do_instead(settings_factory):
    from kernel.app import create_app

    with pytest.raises(StartupError, match="'wraps' implements crosslink_startup with hookwrapper.*requires"):
        create_app(settings_factory(plugins="wraps"), extra_plugins={"wraps": wraps_startup})


async def test_unknown_plugin_name_lists_the_available_ones(settings_factory):
    from kernel.app import create_app

    with pytest.raises(StartupError, match="unknown plugin\\(s\\): nosuch; available:"):
        create_app(settings_factory(plugins="nosuch"))


async def test_disabling_a_plugin_that_is_not_installed_is_harmless(notes_builtin, app_factory, caplog):
    server = await app_factory(plugins="all,-telemetry")
    assert (await server.client.get("/api/v1/notes/count")).status_code == 200
    assert "disables 'telemetry', which is not installed" in caplog.text


async def test_two_plugins_with_one_event_type_refuse_to_start(settings_factory):
    import types

    from kernel import Event, hookimpl
    from kernel.app import create_app

    class Clash(Event):
        """Same wire type as notes' event."""

        type = "note_added"
        channel = "other"
        note_id: int

    clashing = types.ModuleType("clashing")
    clashing.crosslink_register_events = hookimpl(lambda: [Clash])
    with pytest.raises(StartupError, match="event type 'note_added' is registered twice"):
        create_app(settings_factory(plugins="notes,clashing"), extra_plugins={"notes": notes, "clashing": clashing})


async def test_config_section_is_validated_and_served(repo, app_factory, settings_factory):
    (repo / ".crosslink").mkdir(exist_ok=True)
    (repo / ".crosslink" / "server.toml").write_text('[plugins.notes]\ngreeting = "hej"\n')
    server = await app_factory(plugins="notes", extra_plugins={"notes": notes})
    response = await server.client.get("/api/v1/notes/config")
    assert await response.get_json() == {"greeting": "hej", "limit": 10}

    (repo / ".crosslink" / "server.toml").write_text("[plugins.notes]\nlimit = 0\n")
    from kernel.app import create_app

    with pytest.raises(StartupError, match=r"\[plugins.notes\]: limit: "):
        create_app(settings_factory(plugins="notes"), extra_plugins={"notes": notes})


async def test_services_and_lifecycle_hooks(app_factory):
    notes.LIFECYCLE.clear()
    server = await app_factory(plugins="notes", extra_plugins={"notes": notes})
    assert notes.LIFECYCLE == ["startup"]
    await server.client.post("/api/v1/notes", json={"body": "a", "count": 3})
    assert await (await server.client.get("/api/v1/notes/count")).get_json() == {"count": 3}
    assert server.kernel.services.provider_of("notes") == "notes"


async def test_search_merges_plugin_hits(app_factory):
    server = await app_factory(plugins="notes", extra_plugins={"notes": notes})
    response = await server.client.get("/api/v1/search", query_string={"q": "cats"})
    body = await response.get_json()
    assert body["total"] == 1 and body["items"][0]["title"] == "note about cats"
    response = await server.client.get("/api/v1/search", query_string={"q": "  "})
    assert response.status_code == 400


def run_cli(*args: str, pythonpath: str | None = None) -> subprocess.CompletedProcess:
    import os

    env = {**os.environ, "CROSSLINK_DISABLE_PLUGIN_AUTOLOAD": "0"}
    if pythonpath:
        env["PYTHONPATH"] = pythonpath
    return subprocess.run(crosslink_command(*args, env=env), capture_output=True, text=True, env=env, timeout=60)


def test_cli_plugins_lists_every_plugin(testdist_path):
    result = run_cli("plugins", "--json", pythonpath=str(testdist_path))
    assert result.returncode == 0, result.stderr
    listed = {p["name"]: p for p in json.loads(result.stdout)}
    assert listed["burst"]["enabled"] and listed["burst"]["version"] == "1.2.3"
    assert "crosslink_register_events" in listed["burst"]["hooks"]
    assert listed["broken"]["enabled"] is False and listed["broken"]["error"]
    for name in BUILTIN_PLUGINS:
        assert name in listed
    table = run_cli("plugins", pythonpath=str(testdist_path))
    assert "broken" in table.stdout and "FAILED" in table.stdout


def test_plugins_add_cli_commands(testdist_path):
    help_text = run_cli("--help", pythonpath=str(testdist_path))
    assert "burst-info" in help_text.stdout
    result = run_cli("burst-info", pythonpath=str(testdist_path))
    assert result.returncode == 0 and result.stdout.strip() == "burst plugin: publishes test events"
