"""``GET /usage/summary`` against an independent computation over random data: rows recorded
through the API at many times, rows written with plain SQL as the CLI writes them (in its
timestamp forms), then rows the CLI updates and deletes; random spans in random RFC 3339
spellings, random filters, with and without ``group_by=day``."""

from __future__ import annotations

import random
from collections import defaultdict
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

import pytest

from tests.support import BACKENDS

from .conftest import T0, expected_cost

pytestmark = pytest.mark.parametrize("backend", BACKENDS, indirect=True)

AGENTS = ["w1", "w2", "w3", "w4"]
MODELS = ["claude-sonnet-4-5", "claude-haiku-4", "gpt-4o", "unknown", "llama-3"]
OFFSETS = [timedelta(0), timedelta(hours=2), timedelta(hours=-5, minutes=-30), timedelta(hours=14)]


@dataclass(frozen=True)
class Row:
    """A row as the test wrote it, and what it should count as."""

    id: int
    at: datetime  # the instant, at microsecond precision
    agent: str
    model: str
    input: int
    output: int
    cache_read: int | None
    cache_creation: int | None
    cost: float | None  # as stored
    server_estimated: bool  # the server priced it when it stored it
    session: int | None = None

    def costs(self) -> tuple[float, float, float, int, int]:
        """(total, reported, estimated, estimated requests, unpriced requests)."""
        if self.cost is not None:
            if self.server_estimated:
                return self.cost, 0.0, self.cost, 1, 0
            return self.cost, self.cost, 0.0, 0, 0
        priced = expected_cost(self.model, self.input, self.output, self.cache_read, self.cache_creation)
        if priced is None:
            return 0.0, 0.0, 0.0, 0, 1
        return priced, 0.0, priced, 1, 0



def cli_text(moment: datetime, digits: int, rng: random.Random) -> tuple[str, datetime]:
    """The CLI's form: UTC ``+00:00`` with 0, 3, 6 or 9 fraction digits; and the instant the
    server should read (nanoseconds truncated)."""
    base = moment.strftime("%Y-%m-%dT%H:%M:%S")
    if digits == 0:
        return f"{base}+00:00", moment.replace(microsecond=0)
    if digits == 3:
        ms = moment.microsecond // 1000
        return f"{base}.{ms:03d}+00:00", moment.replace(microsecond=ms * 1000)
    if digits == 6:
        return f"{base}.{moment.microsecond:06d}+00:00", moment
    return f"{base}.{moment.microsecond:06d}{rng.randrange(1000):03d}+00:00", moment


def spelled(moment: datetime, rng: random.Random) -> tuple[str, datetime]:
    """``moment`` in a random RFC 3339 spelling; and the instant it names at µs precision."""
    offset = rng.choice(OFFSETS)
    digits = rng.choice([0, 1, 3, 6, 9])
    if digits == 0:
        moment = moment.replace(microsecond=0)
    elif digits < 6:
        step = 10 ** (6 - digits)
        moment = moment.replace(microsecond=moment.microsecond // step * step)
    local = (moment + offset).replace(tzinfo=None)
    text = local.strftime("%Y-%m-%dT%H:%M:%S")
    if digits:
        fraction = f"{moment.microsecond:06d}"[:digits] if digits <= 6 else f"{moment.microsecond:06d}{rng.randrange(1000):03d}"
        text += "." + fraction
    if offset == timedelta(0):
        text += rng.choice(["Z", "z", "+00:00"])
    else:
        total = int(offset.total_seconds() // 60)
        sign = "+" if total >= 0 else "-"
        text += f"{sign}{abs(total) // 60:02d}:{abs(total) % 60:02d}"
    return text, moment


def expected(rows: list[Row], low: datetime | None, high: datetime | None, agent: str | None, model: str | None,
             session: int | None, by_day: bool) -> dict:
    groups: dict[tuple, list] = defaultdict(lambda: [0, 0, 0, 0, 0, 0.0, 0.0, 0.0, 0, 0])
    for row in rows:
        if low is not None and row.at < low or high is not None and row.at > high:
            continue
        if agent is not None and row.agent != agent or model is not None and row.model != model:
            continue
        if session is not None and row.session != session:
            continue
        key = (row.agent, row.model, row.at.strftime("%Y-%m-%d") if by_day else None)
        g = groups[key]
        total, reported, estimated, estimated_n, unpriced_n = row.costs()
        for i, value in enumerate((1, row.input, row.output, row.cache_read or 0, row.cache_creation or 0,
                                   total, reported, estimated, estimated_n, unpriced_n)):
            g[i] += value
    return groups


NAMES = ("request_count", "total_input_tokens", "total_output_tokens", "total_cache_read_tokens",
         "total_cache_creation_tokens", "total_cost", "reported_cost", "estimated_cost", "estimated_requests",
         "unpriced_requests")


def check(body: dict, groups: dict, by_day: bool, context) -> None:
    got = {(i["agent_id"], i["model"], i["day"]): i for i in body["items"]}
    assert set(got) == set(groups), context
    for key, sums in groups.items():
        item = got[key]
        for name, value in zip(NAMES, sums):
            if isinstance(value, float):
                assert item[name] == pytest.approx(value, rel=1e-9, abs=1e-9), (context, key, name)
            else:
                assert item[name] == value, (context, key, name)
        assert item["cost_estimated"] == (sums[8] > 0), (context, key)
    for index, name in enumerate(NAMES):
        total = sum(sums[index] for sums in groups.values())
        assert body[name] == pytest.approx(total, rel=1e-9, abs=1e-9), (context, name)
    items = body["items"]
    for before, after in zip(items, items[1:]):
        if by_day:
            assert before["day"] <= after["day"], context
            if before["day"] == after["day"]:
                assert before["total_cost"] >= after["total_cost"] - 1e-9, context
        else:
            assert before["total_cost"] >= after["total_cost"] - 1e-9, context


async def write_random_rows(api, clock, rng: random.Random) -> list[Row]:
    rows: list[Row] = []
    sessions = [await api.session(agent) for agent in AGENTS[:2]]
    now = T0
    for _ in range(30):  # batches through the API, the clock moving between them
        step = rng.choice([timedelta(microseconds=rng.randrange(1, 10**6)), timedelta(minutes=rng.randrange(1, 90)),
                           timedelta(hours=rng.randrange(1, 20))])
        clock.advance(seconds=step.total_seconds())
        now += step
        records = []
        for _ in range(rng.randrange(1, 8)):
            record = {"agent_id": rng.choice(AGENTS), "model": rng.choice(MODELS),
                      "input_tokens": rng.randrange(0, 200_000), "output_tokens": rng.randrange(0, 20_000)}
            if rng.random() < 0.5:
                record["cache_read_tokens"] = rng.randrange(0, 500_000)
            if rng.random() < 0.3:
                record["cache_creation_tokens"] = rng.randrange(0, 50_000)
            if rng.random() < 0.4:
                record["cost_estimate"] = round(rng.uniform(0, 3), 6)
            if rng.random() < 0.2:
                record["session_id"] = rng.choice(sessions)
            records.append(record)
        body = await api.batch(records)
        for record, item in zip(records, body["items"]):
            server_estimated = "cost_estimate" not in record and item["cost_estimate"] is not None
            assert item["cost_source"] == ("reported" if "cost_estimate" in record else
                                           "estimated" if server_estimated else None)
            rows.append(Row(item["id"], datetime.fromisoformat(item["timestamp"].replace("Z", "+00:00")),
                            record["agent_id"], record["model"], record["input_tokens"], record["output_tokens"],
                            record.get("cache_read_tokens"), record.get("cache_creation_tokens"),
                            item["cost_estimate"], server_estimated, record.get("session_id")))
    start, span = T0 - timedelta(hours=30), (now - T0) + timedelta(hours=60)
    for i in range(240):  # the CLI's rows, around and among the server's
        if i % 20 == 0:  # on an hour or a day boundary exactly
            moment = (start + span * rng.random()).replace(minute=0, second=0, microsecond=0)
            if i % 40 == 0:
                moment = moment.replace(hour=0)
        elif i % 2:  # months around: whole months in the monthly rollup
            moment = T0 + timedelta(microseconds=rng.randrange(-45 * 86_400 * 10**6, 45 * 86_400 * 10**6))
        else:
            moment = start + timedelta(microseconds=rng.randrange(int(span.total_seconds() * 10**6)))
        text, at = cli_text(moment.astimezone(UTC), rng.choice([0, 3, 6, 9]), rng)
        agent, model = rng.choice(AGENTS), rng.choice(MODELS)
        tokens = (rng.randrange(0, 100_000), rng.randrange(0, 10_000), rng.choice([None, rng.randrange(0, 90_000)]),
                  rng.choice([None, rng.randrange(0, 9_000)]))
        cost = rng.choice([None, round(rng.uniform(0, 2), 6)])
        usage_id = await api.cli_insert(agent, text, tokens[0], tokens[1], model=model, cost=cost,
                                        cache_read=tokens[2], cache_creation=tokens[3])
        rows.append(Row(usage_id, at, agent, model, *tokens, cost, False))
    return rows


def random_bound(rows: list[Row], rng: random.Random) -> datetime | None:
    choice = rng.random()
    if choice < 0.15:
        return None
    moment = rng.choice(rows).at
    if choice < 0.4:  # a row's own instant, or a microsecond beside it
        return moment + timedelta(microseconds=rng.choice([-1, 0, 0, 1]))
    if choice < 0.6:  # an hour, a day or a month boundary
        moment = moment.replace(minute=0, second=0, microsecond=0)
        return rng.choice([moment, moment.replace(hour=0), moment.replace(day=1, hour=0)])
    return moment + timedelta(seconds=rng.uniform(-40_000, 40_000))


async def run_queries(api, rows: list[Row], rng: random.Random, count: int, sessions: list[int | None]) -> None:
    for n in range(count):
        query, low, high = {}, random_bound(rows, rng), random_bound(rows, rng)
        if low is not None and high is not None and low > high:
            low, high = high, low
        if low is not None:
            query["from"], low = spelled(low, rng)
        if high is not None:
            query["to"], high = spelled(high, rng)
        if low is not None and high is not None and low > high:  # spelling rounded them past each other
            low = high
            query["from"] = query["to"]
        agent = rng.choice([None, None, *AGENTS])
        model = rng.choice([None, None, None, *MODELS])
        session = rng.choice(sessions) if rng.random() < 0.15 else None
        by_day = rng.random() < 0.4
        for name, value in (("agent_id", agent), ("model", model), ("session_id", session)):
            if value is not None:
                query[name] = str(value)
        if by_day:
            query["group_by"] = "day"
        body = await api.get("/usage/summary", **query)
        check(body, expected(rows, low, high, agent, model, session, by_day), by_day, (n, query))
        listed = await api.get("/usage", **{k: v for k, v in query.items() if k != "group_by"}, limit="1")
        assert listed["total"] == body["request_count"], (n, query)


async def test_summary_arithmetic_matches_an_independent_computation(api, clock):
    rng = random.Random(18)
    rows = await write_random_rows(api, clock, rng)
    sessions = sorted({r.session for r in rows if r.session is not None}) + [None]
    await run_queries(api, rows, rng, 60, sessions)

    # the CLI changes and deletes rows: the rollups follow through their triggers
    by_id = {row.id: row for row in rows}
    cli_rows = [row for row in rows if not row.server_estimated and row.session is None]
    for row in rng.sample(cli_rows, 25):
        new_at = row.at + timedelta(hours=rng.choice([-30, -3, 2, 26]))
        text, at = cli_text(new_at, 6, rng)
        new_agent, new_tokens = rng.choice(AGENTS), rng.randrange(0, 50_000)
        await api.db.execute("UPDATE token_usage SET agent_id = ?, timestamp = ?, input_tokens = ? WHERE id = ?",
                             [new_agent, text, new_tokens, row.id])
        by_id[row.id] = replace(row, agent=new_agent, at=at, input=new_tokens)
    uncosted = [row for row in by_id.values() if row.cost is None and not row.server_estimated]
    for row in rng.sample(uncosted, min(10, len(uncosted))):
        await api.db.execute("UPDATE token_usage SET cost_estimate = ? WHERE id = ?", [0.25, row.id])
        by_id[row.id] = replace(row, cost=0.25)
    estimated = [row for row in by_id.values() if row.server_estimated]
    doomed = rng.sample(list(by_id.values()), 30) + estimated[:5]
    for row in doomed:
        await api.db.execute("DELETE FROM token_usage WHERE id = ?", [row.id])
        by_id.pop(row.id, None)
    # an estimated row moved to another agent and day keeps counting as estimated
    for row in estimated[5:8]:
        await api.db.execute("UPDATE token_usage SET agent_id = ?, timestamp = ? WHERE id = ?",
                             ["w9", "2026-03-01T12:00:00.000000+00:00", row.id])
        by_id[row.id] = replace(row, agent="w9", at=datetime(2026, 3, 1, 12, tzinfo=UTC))
    rows = list(by_id.values())
    await run_queries(api, rows, rng, 40, sessions)
    whole = await api.get("/usage/summary")
    assert whole["request_count"] == len(rows)
    assert {i["agent_id"] for i in whole["items"] if i["agent_id"] == "w9"} == ({"w9"} if estimated[5:8] else set())


async def test_a_summary_of_nothing(api):
    body = await api.get("/usage/summary", **{"from": "2026-03-10T00:00:00Z", "to": "2026-03-10T00:00:00Z"})
    assert body["items"] == [] and body["request_count"] == 0 and body["total_cost"] == 0.0
    assert body["cost_estimated"] is False
    assert set(body["budget"]) == {"threshold_percent", "overall", "agents"}
