"""SQLite: a search never waits for the search index to take in the queue, and still finds every
committed write: issues still queued are read from their rows (SQLite only: PostgreSQL has no
queue). The writes come from the API and from a plain sqlite3 connection, as the crosslink CLI
writes them, while the index is catching up with a backlog."""

from __future__ import annotations

import asyncio
import sqlite3

from .conftest import Api, OtherProcess

T0 = "2026-03-10T03:15:00.123456+00:00"
BACKLOG = 1500


def queued(path) -> int:
    db = sqlite3.connect(path)
    try:
        return db.execute("SELECT count(*) FROM server_search_dirty").fetchone()[0]
    finally:
        db.close()


async def ids(api: Api, text: str, **query) -> tuple[list[int], int]:
    body = await api.get("/issues", query_string={"search": text, "limit": 5, **query})
    return [item["id"] for item in body["items"]], body["total"]


async def test_searches_find_queued_issues_while_the_index_catches_up(repo, app_factory):
    (repo / ".crosslink").mkdir(exist_ok=True)
    (repo / ".crosslink" / "server.toml").write_text("[plugins.issues]\nsearch_refresh_seconds = 0\n")
    api = Api(await app_factory(plugins="issues"))
    path = api.kernel.db.sqlite_path()
    cli = OtherProcess(path)

    # a backlog written by the CLI: every issue queued, none in the index yet
    await cli.execute("BEGIN")
    await cli.executemany(
        "INSERT INTO issues (title, description, status, priority, created_at, updated_at) "
        "VALUES (?, ?, 'open', 'medium', ?, ?)",
        [(f"Backlog {n} {'Wölfe' if n % 5 == 0 else 'sheep'}", f"item {n}", T0, T0) for n in range(BACKLOG)],
    )
    first = await cli.value("SELECT min(id) FROM issues")
    await cli.executemany(
        "INSERT INTO comments (issue_id, content, created_at, kind) VALUES (?, ?, ?, 'note')",
        [(first + n, "a NEEDLE in the hay", T0) for n in range(0, BACKLOG, 10)],
    )
    await cli.execute("COMMIT")
    assert queued(path) >= BACKLOG
    wolves = sorted((first + n for n in range(0, BACKLOG, 5)), reverse=True)
    needles = sorted((first + n for n in range(0, BACKLOG, 10)), reverse=True)

    # the first search answers at once from the rows, and starts the drain
    assert await ids(api, "WÖLFE") == (wolves[:5], len(wolves))
    assert await ids(api, "needle") == (needles[:5], len(needles))
    assert await ids(api, "öl") == (wolves[:5], len(wolves))  # a short query: always a scan

    # more writes from both sides while the drain takes the backlog in, chunk by chunk
    marker_ids: dict[str, int] = {}
    for k in range(40):
        api_marker, cli_marker = f"apimark{k}q", f"climark{k}q"
        marker_ids[api_marker] = await api.create(f"Written through the API {api_marker}")
        marker_ids[cli_marker] = await cli.value(
            "INSERT INTO issues (title, status, priority, created_at, updated_at) VALUES (?, 'open', 'low', ?, ?) "
            "RETURNING id",
            (f"Written by the CLI {cli_marker}", T0, T0),
        )
        renamed = wolves[k]  # a wolf no more
        await cli.execute("UPDATE issues SET title = 'Backlog renamed' WHERE id = ?", (renamed,))
        wolves.remove(renamed)
        commented = first + 10 * k + 3  # an issue without a needle gets one, through the API
        await api.comment(commented, f"another needle, number {k}")
        needles = sorted([*needles, commented], reverse=True)
        if k % 2:
            await cli.execute(
                "INSERT INTO comments (issue_id, content, created_at, kind) VALUES (?, 'CLI needle', ?, 'note')",
                (first + 10 * k + 7, T0),
            )
            needles = sorted([*needles, first + 10 * k + 7], reverse=True)

        assert await ids(api, api_marker) == ([marker_ids[api_marker]], 1)
        assert await ids(api, cli_marker.upper()) == ([marker_ids[cli_marker]], 1)
        assert await ids(api, "wölfe") == (wolves[:5], len(wolves))
        assert await ids(api, "needle") == (needles[:5], len(needles))
        hits = (await api.get("/search", query_string={"q": cli_marker, "limit": 5}))["items"]
        assert [(hit["kind"], hit["issue_id"]) for hit in hits] == [("issue", marker_ids[cli_marker])]
        hits = (await api.get("/search", query_string={"q": f"needle, number {k}"}))["items"]
        assert [(hit["kind"], hit["issue_id"]) for hit in hits] == [("comment", commented)]
        await asyncio.sleep(0)

    # once the queue is empty, the index answers the same
    for _ in range(400):
        if queued(path) == 0:
            break
        await asyncio.sleep(0.05)
    assert queued(path) == 0
    assert await ids(api, "wölfe") == (wolves[:5], len(wolves))
    assert await ids(api, "needle") == (needles[:5], len(needles))
    for marker, issue_id in marker_ids.items():
        assert await ids(api, marker) == ([issue_id], 1)
    cli.close()


async def test_the_servers_own_writes_are_taken_into_the_index_soon(api):
    issue_id = await api.create("Eagerly indexed")
    await api.comment(issue_id, "with a remark")
    path = api.kernel.db.sqlite_path()
    for _ in range(400):  # no search asks for it
        if queued(path) == 0:
            break
        await asyncio.sleep(0.05)
    assert queued(path) == 0
    db = sqlite3.connect(path)
    try:
        found = db.execute(
            "SELECT rowid FROM server_issue_fold_search WHERE server_issue_fold_search MATCH '\"remark\"'"
        ).fetchall()
    finally:
        db.close()
    assert found == [(issue_id,)]
    assert await ids(api, "eagerly") == ([issue_id], 1)


async def test_index_segments_are_merged_by_the_drain_not_inside_writes(api):
    """Each drain commits one small FTS5 segment (automatic merging, which ran inside whichever
    write crossed a threshold, is off); the drain merges them afterwards, so their number stays
    small however many drains ran, and searches still find everything."""
    path = api.kernel.db.sqlite_path()
    search = api.kernel.services.require("issues").search
    created = []
    for n in range(60):
        created.append(await api.create(f"Segment {n} marker{n}x"))
        await search.drain()  # one drain, one segment, then the merges
    db = sqlite3.connect(path)
    try:
        automerge = db.execute("SELECT v FROM server_issue_fold_search_config WHERE k = 'automerge'").fetchone()
        segments = db.execute("SELECT count(DISTINCT segid) FROM server_issue_fold_search_idx").fetchone()[0]
    finally:
        db.close()
    assert automerge == (0,)
    assert segments <= 8, segments  # 3 here; 15 without the merges (FTS5 merges only when a level reaches 16)
    for n in (0, 31, 59):
        assert await ids(api, f"marker{n}x") == ([created[n]], 1)
    assert (await ids(api, "segment"))[1] == 60
