"""List answers and totals stay exact on the faster paths: the label filter read from the label
index, and list totals kept between writes (on SQLite, until anything commits)."""

from __future__ import annotations

import itertools

import pytest

from tests.support import BACKENDS

from .conftest import OtherProcess

pytestmark = pytest.mark.parametrize("backend", BACKENDS, indirect=True)

T0 = "2026-03-10T03:15:00.123456+00:00"


async def page(api, path: str = "/issues", **query) -> tuple[list[int], int]:
    body = await api.get(path, query_string=query)
    return [item["id"] for item in body["items"]], body["total"]


async def total(api, path: str = "/issues", **query) -> int:
    """The total of a one-item page (so that it is counted, not read off a short page); asked
    twice, so that a kept total is what the second answer gives."""
    first = (await page(api, path, limit=1, **query))[1]
    second = (await page(api, path, limit=1, **query))[1]
    assert first == second
    return second


# --- the label filter --------------------------------------------------------------------------


@pytest.fixture
async def labelled(api):
    """Issues with every combination of labels, statuses, priorities, parents and text; and
    what each issue is, as the unfiltered list reports it (the oracle)."""
    parent = await api.create("parent of some")
    words = {}
    for n in range(30):
        word = "alpha" if n % 3 == 0 else "beta"
        issue_id = await api.create(
            f"issue {n} {word}",
            description="Alphabet soup" if n % 4 == 2 else None,
            priority=["low", "medium", "high", "critical"][n % 4],
            parent_id=parent if n % 5 == 0 else None,
        )
        if n % 2 == 0:
            await api.label(issue_id, "bug")
        if n % 3 != 1:
            await api.label(issue_id, "ui")
        if n % 7 == 0:
            await api.label(issue_id, "team/a b%")
        if n % 6 == 1:
            await api.comment(issue_id, "an ALPHA comment")
        if n % 4 == 1:
            await api.close(issue_id)
        if n % 9 == 4:
            await api.kernel.db.execute("UPDATE issues SET status = 'archived' WHERE id = ?", [issue_id])
        words[issue_id] = f"issue {n} {word}" + (" alphabet soup" if n % 4 == 2 else "") + (
            " an alpha comment" if n % 6 == 1 else ""
        )
    everything = (await api.get("/issues", query_string={"status": "all"}))["items"]
    return {item["id"]: {**item, "text": words.get(item["id"], item["title"].lower())} for item in everything}, parent


async def test_the_label_filter_answers_exactly_with_every_other_filter(api, labelled):
    issues, parent = labelled
    for label, status, priority, parent_id, search in itertools.product(
        ["bug", "ui", "team/a b%", "missing"],
        ["open", "closed", "archived", "all"],
        [None, "high"],
        [None, parent],
        [None, "alpha", "al"],
    ):
        expected = sorted(
            (
                issue_id
                for issue_id, item in issues.items()
                if label in item["labels"]
                and status in ("all", item["status"])
                and priority in (None, item["priority"])
                and parent_id in (None, item["parent_id"])
                and (search is None or search in item["text"])
            ),
            reverse=True,
        )
        query = {"label": label, "status": status}
        query.update({k: v for k, v in (("priority", priority), ("parent_id", parent_id), ("search", search)) if v})
        assert await page(api, **query) == (expected, len(expected)), query
        assert await page(api, limit=2, offset=1, **query) == (expected[1:3], len(expected)), query
        assert await page(api, limit=1, offset=len(expected) + 3, **query) == ([], len(expected)), query
        assert await page(api, limit=0, **query) == ([], len(expected)), query


@pytest.mark.parametrize("text", ["report", "re", "ß"])
async def test_search_pages_and_totals_at_every_offset(api, text):
    ids = [await api.create(f"Report {n}", description="Größe" if n % 2 else None) for n in range(7)]
    await api.comment(ids[3], "a remark about the REPORT")
    # "ß" folds to "ss": in Größe only
    expected = [i for i in reversed(ids) if text in f"report {ids.index(i)}" or (text == "ß" and ids.index(i) % 2)]
    assert await page(api, search=text) == (expected, len(expected))
    for limit, offset in ((0, 0), (1, 0), (3, 2), (3, 5), (5, 6), (2, len(expected)), (2, len(expected) + 4)):
        assert await page(api, search=text, limit=limit, offset=offset) == (
            expected[offset : offset + limit],
            len(expected),
        ), (limit, offset)


async def test_the_label_filter_items_carry_their_labels_and_blocker_counts(api):
    first, second, blocker = await api.create("first"), await api.create("second"), await api.create("blocker")
    for issue_id, labels in ((first, ["b", "a"]), (second, ["a"])):
        for label in labels:
            await api.label(issue_id, label)
    await api.block(first, blocker)
    body = await api.get("/issues", query_string={"label": "a"})
    assert [(item["id"], item["labels"], item["blocker_count"]) for item in body["items"]] == [
        (second, ["a"], 0),
        (first, ["a", "b"], 1),
    ]


# --- totals right after a write ----------------------------------------------------------------


async def test_totals_are_right_after_every_kind_of_write(api):
    ids = [await api.create(f"report {n}") for n in range(4)]
    other = await api.create("other thing")
    assert await total(api) == 5
    assert await total(api, search="report") == 4
    assert await total(api, search="re") == 4  # a short query: the scan
    assert await total(api, label="bug") == 0
    assert await total(api, "/issues/ready") == 5
    assert await total(api, "/issues/blocked") == 0

    await api.create("report 5")
    assert await total(api) == 6
    assert await total(api, search="report") == 5
    await api.close(ids[0])
    assert await total(api) == 5
    assert await total(api, status="closed") == 1
    assert await total(api, search="report") == 4
    await api.post(f"/issues/{ids[0]}/reopen", expect=200)
    assert await total(api, search="report") == 5

    await api.comment(other, "this one is a REPORT too")
    assert await total(api, search="report") == 6
    assert await total(api, search="re") == 6
    await api.patch(f"/issues/{ids[1]}", {"title": "renamed"}, expect=200)
    assert await total(api, search="report") == 5

    await api.label(ids[2], "bug")
    await api.label(other, "bug")
    assert await total(api, label="bug") == 2
    assert await total(api, label="bug", search="report") == 2
    await api.delete(f"/issues/{other}/labels/bug", expect=200)
    assert await total(api, label="bug") == 1

    await api.block(ids[2], ids[3])
    assert await total(api, "/issues/blocked") == 1
    assert await total(api, "/issues/ready") == 5
    await api.close(ids[3])
    assert await total(api, "/issues/blocked") == 0
    assert await total(api, "/issues/ready") == 5

    await api.delete(f"/issues/{ids[2]}", expect=200)
    assert await total(api) == 4
    assert await total(api, label="bug") == 0
    assert await total(api, search="report") == 3


async def test_totals_are_right_after_a_write_by_another_process(api, backend):
    if backend != "sqlite":
        pytest.skip("the crosslink CLI writes the SQLite file")
    ids = [await api.create(f"shared {n}") for n in range(3)]
    await api.label(ids[0], "bug")
    assert await total(api) == 3
    assert await total(api, search="shared") == 3
    assert await total(api, search="sh") == 3
    assert await total(api, label="bug") == 1
    assert await total(api, "/issues/ready") == 3

    cli = OtherProcess(api.kernel.db.sqlite_path())
    try:
        await cli.execute(
            "INSERT INTO issues (title, status, priority, created_at, updated_at) "
            "VALUES ('Shared by the CLI', 'open', 'low', ?, ?)",
            (T0, T0),
        )
        assert await total(api) == 4
        assert await total(api, search="shared") == 4
        assert await total(api, search="sh") == 4
        await cli.execute("INSERT INTO labels (issue_id, label) VALUES (?, 'bug')", (ids[1],))
        assert await total(api, label="bug") == 2
        await cli.execute("INSERT INTO dependencies (blocker_id, blocked_id) VALUES (?, ?)", (ids[0], ids[1]))
        assert await total(api, "/issues/ready") == 3
        assert await total(api, "/issues/blocked") == 1
        await cli.execute("UPDATE issues SET status = 'closed' WHERE id = ?", (ids[0],))
        assert await total(api) == 3
        assert await total(api, "/issues/blocked") == 0
        assert await total(api, label="bug") == 1
        await cli.execute("DELETE FROM issues WHERE id = ?", (ids[2],))
        assert await total(api, search="shared") == 2
    finally:
        cli.close()


async def test_totals_are_exact_with_the_kept_totals_turned_off(repo, app_factory):
    from .conftest import Api

    (repo / ".crosslink").mkdir(exist_ok=True)
    (repo / ".crosslink" / "server.toml").write_text("[plugins.issues]\ncount_cache_size = 0\n")
    api = Api(await app_factory(plugins="issues"))
    for n in range(3):
        await api.create(f"uncounted {n}")
    assert await total(api, search="uncounted") == 3
    await api.create("uncounted 3")
    assert await total(api, search="uncounted") == 4
