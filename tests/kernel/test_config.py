"""GET/PATCH /api/v1/config on .crosslink/hook-config.json, shared with the crosslink CLI."""

from __future__ import annotations

import json

import pytest

DEFAULTS = {
    "tracking_mode": "normal",
    "stale_lock_timeout_minutes": 30,
    "remote": "origin",
    "signing_enforcement": "disabled",
    "intervention_tracking": False,
    "auto_steal_stale_locks": False,
}

# What `crosslink init` writes (the CLI's template), plus a key the server does not know.
CLI_TEMPLATE = {
    "tracking_mode": "strict",
    "intervention_tracking": True,
    "signing_enforcement": "audit",
    "auto_steal_stale_locks": 5,
    "comment_discipline": "encouraged",
    "kickoff_verification": "local",
    "reminder_drift_threshold": 3,
    "blocked_git_commands": ["git push --force"],
    "tracker_remote": "upstream",
}


@pytest.fixture
def config_file(repo):
    path = repo / ".crosslink" / "hook-config.json"
    path.parent.mkdir(exist_ok=True)
    return path


@pytest.fixture
async def client(app_factory):
    return (await app_factory(plugins="all")).client


async def get_config(client) -> dict:
    response = await client.get("/api/v1/config")
    assert response.status_code == 200
    return await response.get_json()


async def test_defaults_without_a_file(client, config_file):
    assert await get_config(client) == DEFAULTS
    assert not config_file.exists()


async def test_reads_what_the_cli_wrote(client, config_file):
    config_file.write_text(json.dumps(CLI_TEMPLATE, indent=2))
    assert await get_config(client) == {
        "tracking_mode": "strict",
        "stale_lock_timeout_minutes": 30,  # missing key reads as 30
        "remote": "upstream",  # stored as tracker_remote
        "signing_enforcement": "audit",
        "intervention_tracking": True,
        "auto_steal_stale_locks": True,  # a CLI multiplier reads as true
    }


@pytest.mark.parametrize(("stored", "answered"), [("off", "disabled"), ("enforce", "enforced"), ("bogus", "disabled")])
async def test_signing_enforcement_is_answered_in_the_cli_words(client, config_file, stored, answered):
    config_file.write_text(json.dumps({"signing_enforcement": stored}))
    assert (await get_config(client))["signing_enforcement"] == answered


async def test_wrongly_typed_keys_fall_back_to_defaults(client, config_file):
    config_file.write_text(json.dumps({"stale_lock_timeout_minutes": "90", "intervention_tracking": "yes",
                                       "tracker_remote": "--upload-pack=evil"}))
    assert await get_config(client) == DEFAULTS


async def test_patch_changes_only_the_given_keys_and_keeps_the_rest(client, config_file):
    config_file.write_text(json.dumps(CLI_TEMPLATE, indent=2))
    response = await client.patch(
        "/api/v1/config",
        json={"tracking_mode": "relaxed", "stale_lock_timeout_minutes": 120, "remote": "origin",
              "signing_enforcement": "enforce", "unknown_field": 1},
    )
    assert response.status_code == 200
    assert (await response.get_json())["signing_enforcement"] == "enforced"
    stored = json.loads(config_file.read_text())
    assert stored == {
        **CLI_TEMPLATE,
        "tracking_mode": "relaxed",
        "stale_lock_timeout_minutes": 120,
        "tracker_remote": "origin",
        "signing_enforcement": "enforced",  # the CLI's word is written
    }
    assert list(stored)[: len(CLI_TEMPLATE)] == list(CLI_TEMPLATE)  # key order kept
    text = config_file.read_text()
    assert text.endswith("}\n") and '\n  "tracking_mode"' in text  # pretty, trailing newline
    assert await get_config(client) == await response.get_json()


async def test_patch_creates_the_file_when_missing(client, config_file):
    response = await client.patch("/api/v1/config", json={"intervention_tracking": True})
    assert (await response.get_json())["intervention_tracking"] is True
    assert json.loads(config_file.read_text()) == {"intervention_tracking": True}


async def test_empty_patch_is_a_no_op(client, config_file):
    response = await client.patch("/api/v1/config", json={})
    assert await response.get_json() == DEFAULTS
    assert not config_file.exists()
    response = await client.patch("/api/v1/config")  # no body at all
    assert response.status_code == 200


@pytest.mark.parametrize(
    ("existing", "patch", "stored"),
    [
        (5, True, 5),  # an existing multiplier is kept
        (False, True, 2),  # the CLI's default multiplier is written
        (5, False, False),
    ],
)
async def test_auto_steal_keeps_the_cli_multiplier(client, config_file, existing, patch, stored):
    config_file.write_text(json.dumps({"auto_steal_stale_locks": existing}))
    response = await client.patch("/api/v1/config", json={"auto_steal_stale_locks": patch})
    assert (await response.get_json())["auto_steal_stale_locks"] is patch
    assert json.loads(config_file.read_text())["auto_steal_stale_locks"] == stored


@pytest.mark.parametrize(
    ("patch", "field"),
    [
        ({"tracking_mode": "chaotic"}, "tracking_mode"),
        ({"signing_enforcement": "warn"}, "signing_enforcement"),
        ({"stale_lock_timeout_minutes": 0}, "stale_lock_timeout_minutes"),
        ({"stale_lock_timeout_minutes": "60"}, "stale_lock_timeout_minutes"),
        ({"intervention_tracking": "yes"}, "intervention_tracking"),
        ({"auto_steal_stale_locks": 3}, "auto_steal_stale_locks"),
        ({"remote": "-oProxyCommand=evil"}, "remote"),
        ({"remote": "has space"}, "remote"),
        ({"remote": "../../etc"}, "remote"),
        ({"remote": ""}, "remote"),
    ],
)
async def test_invalid_values_are_400_naming_the_field(client, config_file, patch, field):
    config_file.write_text(json.dumps(CLI_TEMPLATE))
    response = await client.patch("/api/v1/config", json=patch)
    assert response.status_code == 400
    body = await response.get_json()
    assert body["detail"].startswith(field)
    assert json.loads(config_file.read_text()) == CLI_TEMPLATE  # nothing was written


async def test_a_corrupt_file_is_reported_and_never_overwritten(client, config_file):
    config_file.write_text("{ this is not json")
    response = await client.get("/api/v1/config")
    assert response.status_code == 500
    assert "hook-config.json is not valid JSON" in (await response.get_json())["detail"]
    response = await client.patch("/api/v1/config", json={"tracking_mode": "strict"})
    assert response.status_code == 500
    assert config_file.read_text() == "{ this is not json"
