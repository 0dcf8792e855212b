"""``GET /usage``: filters, ``from``/``to`` compared as instants whatever their RFC 3339 form,
newest first, pages with a true ``total``; rows in the CLI's formats read back."""

from __future__ import annotations

import pytest

from tests.support import BACKENDS

from .conftest import RECORD_KEYS

pytestmark = pytest.mark.parametrize("backend", BACKENDS, indirect=True)


async def listed(api, **query) -> list[int]:
    body = await api.get("/usage", **query)
    return [item["id"] for item in body["items"]]


@pytest.fixture
async def timeline(api, clock):
    """Rows at known instants (server rows and CLI rows in the CLI's timestamp forms)."""
    rows = {}
    rows["a"] = (await api.record(agent_id="w1", input_tokens=1, output_tokens=1))["id"]  # 03:15:00
    clock.advance(microseconds=500_000)
    rows["b"] = (await api.record(agent_id="w2", input_tokens=2, output_tokens=1, model="gpt-4o"))["id"]  # 03:15:00.5
    clock.advance(hours=2, microseconds=500_000)
    rows["c"] = (await api.record(agent_id="w1", input_tokens=3, output_tokens=1, model="gpt-4o"))["id"]  # 05:15:01
    # the CLI's forms: no fraction, milliseconds, nanoseconds (chrono's to_rfc3339)
    rows["d"] = await api.cli_insert("w3", "2026-03-10T04:00:00+00:00", 4, 1)
    rows["e"] = await api.cli_insert("w3", "2026-03-10T04:00:00.123+00:00", 5, 1)
    rows["f"] = await api.cli_insert("w1", "2026-03-10T04:00:00.123456789+00:00", 6, 1, model="gpt-4o")
    rows["g"] = await api.cli_insert("w2", "2026-03-09T23:59:59.999999+00:00", 7, 1)
    return rows


async def test_newest_first_with_every_key(api, timeline):
    body = await api.get("/usage")
    assert body["total"] == 7
    t = timeline
    assert [i["id"] for i in body["items"]] == [t["c"], t["f"], t["e"], t["d"], t["b"], t["a"], t["g"]]
    for item in body["items"]:
        assert set(item) == RECORD_KEYS
    stamps = {i["id"]: i["timestamp"] for i in body["items"]}
    assert stamps[t["f"]] == "2026-03-10T04:00:00.123456Z"
    assert stamps[t["d"]] == "2026-03-10T04:00:00Z"
    assert stamps[t["e"]] == "2026-03-10T04:00:00.123000Z"


async def test_from_and_to_are_instants_in_any_form(api, timeline):
    t = timeline
    # the same instant, 04:00:00 UTC, spelled five ways
    for spelled in ("2026-03-10T04:00:00Z", "2026-03-10T04:00:00+00:00", "2026-03-10T06:00:00+02:00",
                    "2026-03-09T22:30:00-05:30", "2026-03-10T04:00:00.000000000z"):
        assert await listed(api, **{"from": spelled}) == [t["c"], t["f"], t["e"], t["d"]], spelled
        assert await listed(api, to=spelled) == [t["d"], t["b"], t["a"], t["g"]], spelled
    # fractions of every length; both bounds inclusive
    assert await listed(api, **{"from": "2026-03-10T04:00:00.123Z"}) == [t["c"], t["f"], t["e"]]
    assert await listed(api, **{"from": "2026-03-10T06:00:00.1230011+02:00"}) == [t["c"], t["f"]]
    assert await listed(api, **{"from": "2026-03-10T04:00:00.123457Z"}) == [t["c"]]
    assert await listed(api, to="2026-03-10T04:00:00.1229999Z") == [t["d"], t["b"], t["a"], t["g"]]
    assert await listed(api, to="2026-03-10T04:00:00.123456Z") == [t["f"], t["e"], t["d"], t["b"], t["a"], t["g"]]
    assert await listed(api, **{"from": "2026-03-10T03:15:00.5Z", "to": "2026-03-10T05:15:01Z"}) == [
        t["c"], t["f"], t["e"], t["d"], t["b"]]
    assert await listed(api, **{"from": "2026-03-10T05:15:00.5+02:00", "to": "2026-03-10T05:15:00.5+02:00"}) == [t["b"]]
    # a day boundary: the CLI's last microsecond of the 9th
    assert await listed(api, to="2026-03-10T00:00:00+00:00") == [t["g"]]
    assert await listed(api, to="2026-03-10T01:59:59.999998+02:00") == []
    assert await listed(api, **{"from": "2026-03-10T00:00:00Z"}) == [t["c"], t["f"], t["e"], t["d"], t["b"], t["a"]]


async def test_equality_filters_combine(api, timeline):
    t = timeline
    assert await listed(api, agent_id="w1") == [t["c"], t["f"], t["a"]]
    assert await listed(api, model="gpt-4o") == [t["c"], t["f"], t["b"]]
    assert await listed(api, agent_id="w1", model="gpt-4o") == [t["c"], t["f"]]
    assert await listed(api, agent_id="w1", model="gpt-4o", to="2026-03-10T05:00:00Z") == [t["f"]]
    assert await listed(api, agent_id="nobody") == []
    assert (await api.get("/usage", agent_id="w1", model="gpt-4o", to="2026-03-10T05:00:00Z"))["total"] == 1


async def test_session_filter(api, clock):
    session = await api.session("w")
    other = await api.session("w")
    ids = [(await api.record(agent_id="w", input_tokens=i, output_tokens=0, session_id=session))["id"] for i in range(3)]
    await api.record(agent_id="w", input_tokens=9, output_tokens=0, session_id=other)
    await api.record(agent_id="w", input_tokens=9, output_tokens=0)
    body = await api.get("/usage", session_id=str(session), limit="2")
    assert [i["id"] for i in body["items"]] == ids[::-1][:2] and body["total"] == 3
    assert (await api.get("/usage", session_id=str(session), offset="2"))["items"][0]["id"] == ids[0]


async def test_pages_have_a_true_total(api, clock):
    for _day in range(3):
        await api.batch([{"agent_id": f"w{i % 3}", "input_tokens": i, "output_tokens": 1} for i in range(40)])
        clock.advance(hours=11)
    everything = await api.get("/usage", limit="1000")
    assert everything["total"] == 120 and len(everything["items"]) == 120
    order = [i["id"] for i in everything["items"]]
    pages = []
    for offset in range(0, 130, 25):
        body = await api.get("/usage", limit="25", offset=str(offset))
        assert body["total"] == 120, offset
        pages += [i["id"] for i in body["items"]]
    assert pages == order
    beyond = await api.get("/usage", offset="500")
    assert beyond == {"items": [], "total": 120}
    # a range cutting hours and days, counted through the rollups
    window = {"from": "2026-03-10T05:00:00Z", "to": "2026-03-11T02:00:00+02:00", "limit": "5"}
    body = await api.get("/usage", **window)
    assert body["total"] == 40 and len(body["items"]) == 5
    assert (await api.get("/usage", agent_id="w1", **window))["total"] == 13


async def test_default_and_largest_page(api):
    await api.batch([{"agent_id": "w", "input_tokens": i, "output_tokens": 0} for i in range(60)])
    body = await api.get("/usage")
    assert len(body["items"]) == 50 and body["total"] == 60
    assert [i["input_tokens"] for i in body["items"]][:3] == [59, 58, 57]
