"""``crosslink db migrate`` and ``crosslink db copy``: a generated repository copied SQLite ->
PostgreSQL -> SQLite answers every list and detail route exactly as the original does."""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import asyncpg
import httpx
import pytest

from tests.support import PG_ADMIN_DSN, crosslink_command, git, start_live_server

pytestmark = pytest.mark.slow


def crosslink(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(crosslink_command(*args), cwd=cwd, capture_output=True, text=True, timeout=600)


@pytest.fixture
async def pg_database():
    """A fresh, empty PostgreSQL database URL."""
    name = f"crosslink_copy_{uuid.uuid4().hex[:10]}"
    admin = await asyncpg.connect(PG_ADMIN_DSN)
    await admin.execute(f'CREATE DATABASE "{name}"')
    await admin.close()
    yield f"{PG_ADMIN_DSN.rsplit('/', 1)[0]}/{name}"
    admin = await asyncpg.connect(PG_ADMIN_DSN)
    await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    await admin.close()


@pytest.fixture(scope="module")
def generated(tmp_path_factory) -> Path:
    """A repository with 10,000 generated issues (comments, labels, blockers, milestones, sessions)."""
    root = tmp_path_factory.mktemp("generated") / "project"
    root.mkdir()
    git(root, "init", "-q", "-b", "main")
    subprocess.run([sys.executable, "-m", "bench.generate", str(root), "--issues", "10000", "--seed", "7"],
                   check=True, capture_output=True, cwd=Path(__file__).parents[2], timeout=600)
    return root


def test_migrate_creates_every_table_without_serving(pg_database, tmp_path):
    done = crosslink("db", "migrate", "--db", pg_database, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "applied" in done.stdout and "0002_event_log" in done.stdout
    again = crosslink("db", "migrate", "--db", pg_database, cwd=tmp_path)
    assert again.returncode == 0 and "up to date" in again.stdout


def routes(manifest: dict, detail_ids: list[int]) -> list[str]:
    paths = []
    for offset in range(0, 10_000, 1000):  # every issue, as a list item
        paths.append(f"/api/v1/issues?status=all&limit=1000&offset={offset}")
    for status in ("open", "closed", "archived"):
        paths.append(f"/api/v1/issues?status={status}&limit=200")
    for label in ("bug", "docs", "upstream"):
        paths.append(f"/api/v1/issues?status=all&label={label}&limit=500")
    for priority in ("low", "critical"):
        paths.append(f"/api/v1/issues?status=all&priority={priority}&limit=500")
    for word in [*manifest.get("search", {}).get("common", [])[:2], *manifest.get("search", {}).get("rare", [])[:2]]:
        paths.append(f"/api/v1/issues?status=all&search={word}&limit=200")
    for endpoint in ("ready", "blocked"):
        for offset in (0, 1000, 2000):
            paths.append(f"/api/v1/issues/{endpoint}?limit=1000&offset={offset}")
    paths += ["/api/v1/milestones?status=all", "/api/v1/locks", "/api/v1/agents"]
    for issue in detail_ids:
        paths += [f"/api/v1/issues/{issue}", f"/api/v1/issues/{issue}/comments", f"/api/v1/issues/{issue}/labels"]
    for issue in detail_ids[:50]:
        paths.append(f"/api/v1/issues/{issue}/tree")
    return paths


def answers(url: str, paths: list[str]) -> dict[str, object]:
    with httpx.Client(base_url=url, timeout=60) as client:
        result = {}
        for path in paths:
            response = client.get(path)
            result[path] = (response.status_code, response.json())
        milestones = result["/api/v1/milestones?status=all"][1]["items"]
        for milestone in milestones:
            path = f"/api/v1/milestones/{milestone['id']}"
            result[path] = (client.get(path).status_code, client.get(path).json())
        for agent in ("agent-ada", "agent-bo", "agent-jo"):
            path = f"/api/v1/sessions/current?agent_id={agent}"
            result[path] = (client.get(path).status_code, client.get(path).json())
        return result


def test_a_copy_round_trip_gives_identical_answers(generated, pg_database, tmp_path):
    manifest = json.loads((generated / "bench-manifest.json").read_text())
    source_db = generated / ".crosslink" / "issues.db"
    back_repo = tmp_path / "back"
    back_repo.mkdir()
    git(back_repo, "init", "-q", "-b", "main")
    back_db = back_repo / ".crosslink" / "issues.db"

    there = crosslink("db", "copy", "--from", str(source_db), "--to", pg_database, cwd=generated)
    assert there.returncode == 0, there.stderr[-2000:]
    assert "every count matches the source" in there.stdout
    counted = {line.split()[0]: int(line.split()[1]) for line in there.stdout.splitlines()[1:] if line.endswith(" ok")}
    assert counted["issues"] == 10_000 and counted["comments"] > 10_000
    refused = crosslink("db", "copy", "--from", str(source_db), "--to", pg_database, cwd=generated)
    assert refused.returncode != 0 and "already holds data" in refused.stderr
    back = crosslink("db", "copy", "--from", pg_database, "--to", str(back_db), cwd=back_repo)
    assert back.returncode == 0, back.stderr[-2000:]

    detail_ids = list(range(1, 10_001, 97))
    paths = routes(manifest, detail_ids)
    servers = [
        start_live_server(generated, ["--plugins", "all"]),
        start_live_server(generated, ["--plugins", "all", "--db", pg_database]),
        start_live_server(back_repo, ["--plugins", "all"]),
    ]
    try:
        with ThreadPoolExecutor(len(servers)) as pool:  # three servers asked at once
            original, on_postgres, returned = pool.map(lambda live: answers(live.url, paths), servers)
    finally:
        for live in servers:
            live.stop()
    assert all(status == 200 for status, _ in original.values())
    for path, answer in original.items():
        assert on_postgres[path] == answer, f"PostgreSQL copy differs on {path}"
        assert returned[path] == answer, f"SQLite copy of the copy differs on {path}"
