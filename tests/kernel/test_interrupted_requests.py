"""Clients that disconnect in the middle of a write (an agent that crashed, a timeout that gave
up) leave nothing held: the server keeps answering, and the database file stays writable for
the crosslink CLI. A disconnect cancels the request's task; it must not strand the server's
connection inside a half-started transaction."""

from __future__ import annotations

import random
import sqlite3
import threading
import time

import httpx
import pytest

from tests.support import send_and_abort

pytestmark = pytest.mark.slow


def db_file(repo):
    return repo / ".crosslink" / "issues.db"


def assert_still_serving(url: str) -> None:
    with httpx.Client(base_url=url, timeout=10) as client:
        created = client.post("/api/v1/issues", json={"title": "after the disconnects"})
        assert created.status_code == 201, created.text
        listed = client.get("/api/v1/issues", params={"search": "after the disconnects"})
        assert listed.status_code == 200 and listed.json()["total"] == 1


def assert_cli_can_write(repo) -> None:
    cli = sqlite3.connect(db_file(repo), timeout=5, isolation_level=None)
    try:
        cli.execute("BEGIN IMMEDIATE")  # "database is locked" after 5 s if the server kept the lock
        cli.execute(
            "INSERT INTO issues (title, status, priority, created_at, updated_at) "
            "VALUES ('cli after the disconnects', 'open', 'low', '2026-03-10T03:15:00.000000+00:00', "
            "'2026-03-10T03:15:00.000000+00:00')"
        )
        cli.execute("COMMIT")
    finally:
        cli.close()


def test_requests_abandoned_while_waiting_for_the_write_lock(repo, live_server_factory):
    """The CLI holds the write lock; five creates wait for it and their clients go away. When
    the CLI lets go, none of them is written, and the server and the CLI both write at once."""
    live = live_server_factory("--plugins", "issues")
    with httpx.Client(base_url=live.url, timeout=10) as client:
        assert client.post("/api/v1/issues", json={"title": "before"}).status_code == 201

    cli = sqlite3.connect(db_file(repo), isolation_level=None)
    cli.execute("BEGIN IMMEDIATE")
    try:
        clients = [
            threading.Thread(
                target=send_and_abort,
                args=(live.url, "POST", "/api/v1/issues", {"title": f"abandoned {n}"}, 0.5),
            )
            for n in range(5)
        ]
        for thread in clients:
            thread.start()
        for thread in clients:
            thread.join()
        time.sleep(0.3)  # the server sees the disconnects while still waiting for the lock
    finally:
        cli.execute("COMMIT")
        cli.close()

    assert_still_serving(live.url)
    assert_cli_can_write(repo)
    titles = [row[0] for row in sqlite3.connect(db_file(repo)).execute("SELECT title FROM issues ORDER BY id")]
    assert titles == ["before", "after the disconnects", "cli after the disconnects"]
    assert "Traceback" not in live.text()


@pytest.mark.parametrize("backend", ["sqlite", "postgres"], indirect=True)
def test_many_writes_abandoned_at_random_moments(repo, backend, live_server_factory):
    """200 creates and comments, each abandoned after 0 to 5 ms: every one either happened
    whole or not at all, and the server answers afterwards (it had a pool of 10 connections and
    one SQLite lock to lose)."""
    live = live_server_factory("--plugins", "issues")
    with httpx.Client(base_url=live.url, timeout=10) as client:
        target = client.post("/api/v1/issues", json={"title": "commented"}).json()["id"]
    rng = random.Random(7)
    for n in range(200):
        if n % 2:
            send_and_abort(live.url, "POST", "/api/v1/issues", {"title": f"abandoned {n}"}, rng.random() / 200)
        else:
            path = f"/api/v1/issues/{target}/comments"
            send_and_abort(live.url, "POST", path, {"content": f"abandoned {n}"}, rng.random() / 200)

    assert_still_serving(live.url)
    if backend == "sqlite":
        assert_cli_can_write(repo)
    with httpx.Client(base_url=live.url, timeout=10) as client:
        issues = client.get("/api/v1/issues", params={"status": "all", "limit": 500}).json()["items"]
        comments = client.get(f"/api/v1/issues/{target}/comments").json()
        found = client.get("/api/v1/issues", params={"status": "all", "search": "abandoned"}).json()["total"]
    titles = [issue["title"] for issue in issues]
    contents = [comment["content"] for comment in comments]
    # each abandoned write happened once or not at all, and the search index agrees
    assert len(set(titles)) == len(titles) and len(set(contents)) == len(contents)
    assert set(titles) - {"commented", "after the disconnects", "cli after the disconnects"} <= {f"abandoned {n}" for n in range(1, 200, 2)}
    assert set(contents) <= {f"abandoned {n}" for n in range(0, 200, 2)}
    assert found == sum(title.startswith("abandoned") for title in titles) + (1 if contents else 0)
    assert "Traceback" not in live.text()
