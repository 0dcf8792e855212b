"""The usage plugin's benchmark: ``python -m bench.usage`` (1M rows) or ``--smoke`` (seconds).

A repository's ``token_usage`` table is filled the way the crosslink CLI fills it (plain SQL, its
timestamp format) with N rows of 30 agents and 5 models over the 30 days before now; then
``crosslink serve --plugins usage`` starts on it (its first start indexes the table and builds
the rollups from the rows: that time is reported) pinned to CPU 0, and each scenario is replayed
on one connection from CPU 1 (wrk when installed, else the asyncio client): summaries over
everything, by day, over the last 24 hours (ragged edges at both ends), over random spans in
mixed RFC 3339 forms and for one agent's month; listings; single and batch records. It prints
p50/p99 per scenario and the target (summary over every row: p50 <= 20 ms).

``--pg postgres://user@host/db`` measures PostgreSQL instead: a fresh database is created next to
the one named (and dropped afterwards), filled with COPY, and served with ``--db``.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import shutil
import sqlite3
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import quote

from kernel.storage.cli_schema import INDEXES, SQLITE_TABLES, postgres_tables

from . import load, servers
from .load import Request, get, post
from .report import num, summarise

SERVER_CPU, LOAD_CPU = 0, 1
AGENTS = [f"agent-{i:02d}" for i in range(30)]
MODELS = ["claude-sonnet-4-5", "claude-haiku-4-5", "gpt-4o", "gpt-4o-mini", "unknown"]
MODEL_WEIGHTS = [40, 25, 15, 15, 5]
SPAN = timedelta(days=30)
SERVER_TOML = """[plugins.usage]
[plugins.usage.prices]
"claude-sonnet-4-5" = { input = 3.0, output = 15.0, cache_read = 0.3, cache_creation = 3.75 }
"claude-haiku-*" = { input = 1.0, output = 5.0, cache_read = 0.1, cache_creation = 1.25 }
"gpt-4o" = { input = 2.5, output = 10.0, cache_read = 1.25 }
"gpt-4o-mini" = { input = 0.15, output = 0.6 }
"""
COLUMNS = ("agent_id", "session_id", "timestamp", "input_tokens", "output_tokens", "cache_read_tokens",
           "cache_creation_tokens", "model", "cost_estimate")

FULL = dict(rows=1_000_000, runs=3, seconds=5.0, warmup=1.0)
SMOKE = dict(rows=2_000, runs=1, seconds=0.3, warmup=0.0)
TARGET = ("summary, every row", 20.0)


@dataclass
class Scenario:
    name: str
    detail: str
    requests: list[Request]
    expect: int = 200


def rows(count: int, now: datetime, seed: int):
    """``count`` rows in time order over the 30 days before ``now``, reproducible from ``seed``."""
    rng = random.Random(seed)
    start = now - SPAN
    step = SPAN / count
    weights = [1 / (i + 1) ** 0.7 for i in range(len(AGENTS))]
    agents = rng.choices(AGENTS, weights, k=count)
    models = rng.choices(MODELS, MODEL_WEIGHTS, k=count)
    for i in range(count):
        moment = start + step * i + timedelta(microseconds=rng.randrange(max(1, int(step / timedelta(microseconds=1)))))
        input_tokens = int(10 ** rng.uniform(2, 5.3))
        output_tokens = int(10 ** rng.uniform(1, 4))
        cache_read = int(10 ** rng.uniform(3, 5.5)) if rng.random() < 0.5 else None
        cache_creation = int(10 ** rng.uniform(2, 4)) if rng.random() < 0.2 else None
        cost = round(input_tokens * 3e-6 + output_tokens * 15e-6, 6) if rng.random() < 0.6 else None
        yield (agents[i], None, moment.isoformat(timespec="microseconds"), input_tokens, output_tokens, cache_read,
               cache_creation, models[i], cost)


def fill_sqlite(path: Path, count: int, now: datetime, seed: int) -> None:
    """The CLI's schema and ``count`` rows, written as the CLI writes them."""
    path.parent.mkdir(parents=True, exist_ok=True)
    db = sqlite3.connect(path)
    db.execute("PRAGMA journal_mode = WAL")
    for statement in [*SQLITE_TABLES, *INDEXES]:
        db.execute(statement)
    db.execute("PRAGMA user_version = 15")
    db.executemany(f"INSERT INTO token_usage ({', '.join(COLUMNS)}) VALUES ({', '.join('?' for _ in COLUMNS)})",
                   rows(count, now, seed))
    db.commit()
    db.close()


async def fill_postgres(url: str, count: int, now: datetime, seed: int) -> None:
    import asyncpg

    connection = await asyncpg.connect(url)
    try:
        for statement in [*postgres_tables(), *INDEXES]:
            await connection.execute(statement)
        await connection.copy_records_to_table("token_usage", records=rows(count, now, seed), columns=COLUMNS)
        await connection.execute("ANALYZE token_usage")
    finally:
        await connection.close()


async def _admin(url: str, sql: str) -> None:
    import asyncpg

    connection = await asyncpg.connect(url)
    try:
        await connection.execute(sql)
    finally:
        await connection.close()


def rfc3339(moment: datetime, rng: random.Random) -> str:
    """``moment`` in one of several RFC 3339 spellings (URL-quoted)."""
    offset = rng.choice([timedelta(0), timedelta(hours=2), timedelta(hours=-5, minutes=-30)])
    local = (moment + offset).replace(tzinfo=None).isoformat(timespec=rng.choice(["seconds", "milliseconds", "microseconds"]))
    if not offset:
        return quote(local + rng.choice(["Z", "+00:00"]))
    minutes = int(offset.total_seconds() // 60)
    return quote(f"{local}{'+' if minutes >= 0 else '-'}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}")


def scenarios(now: datetime, seed: int) -> list[Scenario]:
    rng = random.Random(seed + 1)
    api = "/api/v1/usage"
    month_start = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    last_day = [get(f"{api}/summary?from={rfc3339(now - timedelta(hours=24, seconds=rng.uniform(0, 3600)), rng)}")
                for _ in range(200)]
    spans = []
    for _ in range(200):
        low = now - SPAN * rng.random()
        high = low + (now - low) * rng.random()
        spans.append(get(f"{api}/summary?from={rfc3339(low, rng)}&to={rfc3339(high, rng)}"))
    agent_month = [get(f"{api}/summary?agent_id={agent}&from={rfc3339(month_start, rng)}") for agent in AGENTS]
    agent_pages = [get(f"{api}?agent_id={agent}&from={rfc3339(now - timedelta(days=7), rng)}&limit=50")
                   for agent in AGENTS]
    one = []
    for _ in range(200):
        payload = {"agent_id": rng.choice(AGENTS), "model": rng.choice(MODELS), "input_tokens": rng.randrange(10**5),
                   "output_tokens": rng.randrange(10**4)}
        if rng.random() < 0.5:
            payload["cost_estimate"] = 0.01
        one.append(post(api, payload))
    batch = [post(f"{api}/batch", {"records": [{"agent_id": rng.choice(AGENTS), "model": rng.choice(MODELS),
                                                "input_tokens": rng.randrange(10**5), "output_tokens": rng.randrange(10**4)}
                                               for _ in range(100)]}) for _ in range(20)]
    return [
        Scenario("summary, every row", f"GET {api}/summary", [get(f"{api}/summary")]),
        Scenario("summary by day, every row", f"GET {api}/summary?group_by=day", [get(f"{api}/summary?group_by=day")]),
        Scenario("summary, last 24 hours", f"GET {api}/summary?from=<now - 24..25 h, mixed RFC 3339 forms>", last_day),
        Scenario("summary, random spans", f"GET {api}/summary?from=<t1>&to=<t2> (random within the data, mixed forms)",
                 spans),
        Scenario("summary, one agent's month", f"GET {api}/summary?agent_id=<agent>&from=<start of this month>",
                 agent_month),
        Scenario("list, newest 50", f"GET {api}?limit=50", [get(f"{api}?limit=50")]),
        Scenario("list, one agent's week", f"GET {api}?agent_id=<agent>&from=<now - 7 days>&limit=50", agent_pages),
        Scenario("record one", f"POST {api}", one, 201),
        Scenario("record a batch of 100", f"POST {api}/batch", batch, 201),
    ]


def say(message: str) -> None:
    print(f"[bench.usage {time.strftime('%H:%M:%S')}] {message}", flush=True)


def measure(workdir: Path, *, rows_count: int, runs: int, seconds: float, warmup: float, seed: int = 1,
            tool: str = "python", pg: str | None = None) -> dict:
    """Fill, serve and measure; returns ``{"rows", "fill_s", "first_start_s", "start_s", "results"}``."""
    repo = workdir / "usage-repo"
    (repo / ".crosslink").mkdir(parents=True, exist_ok=True)
    (repo / ".crosslink" / "server.toml").write_text(SERVER_TOML)
    now = datetime.now(UTC)
    db_url, drop = None, None
    began = time.perf_counter()
    if pg:
        base = pg.rsplit("/", 1)[0]
        name = f"crosslink_bench_usage_{uuid.uuid4().hex[:8]}"
        asyncio.run(_admin(pg, f'CREATE DATABASE "{name}"'))
        db_url, drop = f"{base}/{name}", (pg, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        asyncio.run(fill_postgres(db_url, rows_count, now, seed))
    else:
        fill_sqlite(repo / ".crosslink" / "issues.db", rows_count, now, seed)
    filled = time.perf_counter() - began
    say(f"{rows_count:,} rows written as the CLI writes them in {filled:.1f} s ({'PostgreSQL' if pg else 'SQLite'})")
    logs = workdir / "logs"
    extra = ["--plugins", "usage"] + (["--db", db_url] if db_url else [])
    results = []
    try:
        first = _serve(repo, logs / "usage-first.log", extra)
        with first:
            first_start = first.started_in
        say(f"first start (indexes, rollups built from {rows_count:,} rows): {first_start:.2f} s")
        server = _serve(repo, logs / "usage.log", extra)
        with server:
            say(f"start: {server.started_in:.2f} s")
            for scenario in scenarios(now, seed):
                figures = _load(tool, server.url, scenario, runs, seconds, warmup)
                results.append((scenario, figures))
                say(f"{scenario.name}: p50 {num(figures['p50_ms'])} ms, p99 {num(figures['p99_ms'])} ms"
                    + (f" ({figures['unexpected']} unexpected statuses)" if figures.get("unexpected") else ""))
            restart = server.started_in
    finally:
        if drop:
            asyncio.run(_admin(*drop))
    return {"rows": rows_count, "fill_s": filled, "first_start_s": first_start, "start_s": restart,
            "backend": "postgres" if pg else "sqlite", "results": results}


def _serve(repo: Path, log: Path, extra: list[str]) -> servers.Server:
    port = servers.free_port()
    command = [str(servers.BIN / "crosslink"), "serve", "--repo", str(repo), "--port", str(port), "--no-autoload",
               "--log-level", "warning", *extra]
    return servers.start("crosslink", command, port, log, cpu=SERVER_CPU, timeout=900)


def _load(tool: str, url: str, scenario: Scenario, runs: int, seconds: float, warmup: float) -> dict:
    if warmup:
        load.run(tool, url, scenario.requests, connections=1, duration=warmup, expect=scenario.expect, cpu=LOAD_CPU)
    outcomes = [load.run(tool, url, scenario.requests, connections=1, duration=seconds, expect=scenario.expect,
                         cpu=LOAD_CPU) for _ in range(runs)]
    return summarise(outcomes)


def table(measured: dict) -> str:
    lines = [f"{'scenario':<30} {'p50 ms':>8} {'p99 ms':>8} {'req/s':>8}  request", "-" * 100]
    for scenario, figures in measured["results"]:
        lines.append(f"{scenario.name:<30} {num(figures['p50_ms']):>8} {num(figures['p99_ms']):>8} "
                     f"{num(figures['rps']):>8}  {scenario.detail}")
    target_name, limit = TARGET
    value = next((f["p50_ms"] for s, f in measured["results"] if s.name == target_name), None)
    verdict = "not measured" if value is None else "met" if value <= limit else "MISSED"
    lines.append("")
    lines.append(f"target: {target_name} p50 <= {limit:g} ms at {measured['rows']:,} rows "
                 f"({measured['backend']}): {num(value)} ms, {verdict}")
    lines.append(f"fill {measured['fill_s']:.1f} s; first start {measured['first_start_s']:.2f} s; "
                 f"start {measured['start_s']:.2f} s")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.usage", description=__doc__.split("\n")[0])
    parser.add_argument("--smoke", action="store_true", help="2,000 rows, one short run of each scenario")
    parser.add_argument("--rows", type=int, help="rows in token_usage (full: 1,000,000)")
    parser.add_argument("--runs", type=int, help="runs per scenario, the median is shown (full: 3)")
    parser.add_argument("--seconds", type=float, help="seconds per run (full: 5)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--tool", choices=["wrk", "python"], help="load client (default: wrk when installed)")
    parser.add_argument("--pg", metavar="URL", help="measure PostgreSQL: a fresh database next to this one")
    args = parser.parse_args(argv)
    plan = dict(SMOKE if args.smoke else FULL)
    for key in ("rows", "runs", "seconds"):
        if getattr(args, key) is not None:
            plan[key] = getattr(args, key)
    tool = args.tool or ("wrk" if load.wrk_available() and not args.smoke else "python")
    import os

    if (os.cpu_count() or 1) >= 2 and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {LOAD_CPU})
    workdir = Path(tempfile.mkdtemp(prefix="bench-usage-"))
    try:
        measured = measure(workdir, rows_count=plan["rows"], runs=plan["runs"], seconds=plan["seconds"],
                           warmup=plan["warmup"], seed=args.seed, tool=tool, pg=args.pg)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    print()
    print(table(measured))
    failed = any(f.get("unexpected") or f.get("errors") or not f["requests"] for _, f in measured["results"])
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
