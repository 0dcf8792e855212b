"""Figures into words: the machine's description, the console table and ``BENCHMARKS.md``."""

from __future__ import annotations

import importlib.metadata
import os
import platform
import sqlite3
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from statistics import median

PACKAGES = ["quart", "quart-schema", "pydantic", "tortoise-orm", "aiosqlite", "uvicorn", "uvloop", "httptools",
            "orjson", "granian", "hypercorn"]
NOTES = Path(__file__).with_name("notes.md")


def _first(path: str, key: str) -> str:
    try:
        for line in Path(path).read_text().splitlines():
            if line.startswith(key):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "?"


def _command(*args: str) -> str:
    try:
        done = subprocess.run(args, capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return "absent"
    return (done.stdout or done.stderr).strip().splitlines()[0] if (done.stdout or done.stderr).strip() else "?"


def others_running() -> list[str]:
    """Other test or benchmark processes on the machine (they disturb timings)."""
    done = subprocess.run(["ps", "-eo", "pid=,args="], capture_output=True, text=True)
    me = os.getpid()
    return [line.strip() for line in done.stdout.splitlines()
            if "pytest" in line and int(line.split()[0]) != me and "ps -eo" not in line]


def load_average() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def machine() -> dict[str, str]:
    versions = []
    for name in PACKAGES:
        try:
            versions.append(f"{name} {importlib.metadata.version(name)}")
        except importlib.metadata.PackageNotFoundError:
            pass
    mem_kib = int(_first("/proc/meminfo", "MemTotal").split()[0]) if _first("/proc/meminfo", "MemTotal") != "?" else 0
    return {
        "cpu": _first("/proc/cpuinfo", "model name"),
        "cores": str(os.cpu_count()),
        "memory": f"{mem_kib / 2**20:.1f} GiB",
        "os": f"{platform.system()} {platform.release()} ({platform.machine()})",
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "sqlite": sqlite3.sqlite_version,
        "packages": ", ".join(versions),
        "wrk": _command("wrk", "--version").split(" Copyright")[0],
        "commit": _command("git", "-C", str(Path(__file__).parent), "rev-parse", "--short", "HEAD"),
    }


# --- figures -------------------------------------------------------------------------------------


@dataclass
class Row:
    """One measurement: its section, data size (or None), name and figures."""

    section: str
    size: int | None
    name: str
    figures: dict
    detail: str = ""  # the request or method, for the report


@dataclass
class Target:
    label: str
    section: str
    size: int | None
    name: str
    key: str
    limit: float
    at_least: bool = False  # the figure must be >= limit (else <=)
    unit: str = "ms"


@dataclass
class Results:
    plan: dict
    command: str
    machine: dict
    rows: list[Row] = field(default_factory=list)
    conditions: dict = field(default_factory=dict)
    data: dict = field(default_factory=dict)  # size -> manifest summary

    def add(self, section: str, size: int | None, name: str, figures: dict, detail: str = "") -> Row:
        row = Row(section, size, name, figures, detail)
        self.rows.append(row)
        return row

    def find(self, section: str, size: int | None, name: str) -> Row | None:
        return next((r for r in self.rows if (r.section, r.size, r.name) == (section, size, name)), None)


def summarise(runs: list) -> dict:
    """Median figures of several load runs (each a LoadResult); a run with no answer has none."""
    answered = [r for r in runs if r.requests]
    figures = {
        "rps": median(r.rps for r in runs),
        "p50_ms": median(r.p50_ms for r in answered) if answered else None,
        "p99_ms": median(r.p99_ms for r in answered) if answered else None,
        "max_ms": max((r.max_ms for r in answered), default=None),
        "runs_rps": [round(r.rps) for r in runs],
        "runs_p50_ms": [round(r.p50_ms, 2) if r.requests else None for r in runs],
        "errors": sum(r.errors for r in runs),
        "unexpected": sum(r.unexpected for r in runs),
        "requests": sum(r.requests for r in runs),
    }
    if len(answered) < len(runs):
        figures["unanswered_runs"] = len(runs) - len(answered)
    return figures


def evaluate(results: Results, targets: list[Target]) -> list[dict]:
    verdicts = []
    for target in targets:
        row = results.find(target.section, target.size, target.name)
        value = None if row is None else row.figures.get(target.key)
        if value is None:
            status = "not measured"
        elif target.at_least:
            status = "met" if value >= target.limit else "MISSED"
        else:
            status = "met" if value <= target.limit else "MISSED"
        verdicts.append({"target": target, "value": value, "status": status})
    return verdicts


def num(value, unit: str = "") -> str:
    if value is None:
        return "-"
    if unit == "%":
        return f"{value * 100:.0f} %"
    if isinstance(value, float):
        text = f"{value:,.0f}" if abs(value) >= 100 else f"{value:.2f}" if abs(value) < 10 else f"{value:.1f}"
    else:
        text = f"{value:,}"
    return f"{text} {unit}".strip()


def _target_text(t: Target) -> str:
    return ("≥ " if t.at_least else "≤ ") + num(t.limit, t.unit)


def size_name(size: int | None) -> str:
    return "-" if size is None else (f"{size // 1000}k" if size >= 1000 and size % 1000 == 0 else str(size))


# --- console -------------------------------------------------------------------------------------


def console(results: Results, verdicts: list[dict]) -> str:
    lines = [f"{'section':<11} {'size':>5}  {'measurement':<44} {'req/s':>8} {'ratio':>6} {'p50 ms':>8} {'p99 ms':>8}  other"]
    lines.append("-" * len(lines[0]))
    for row in results.rows:
        f = row.figures
        ratio = f"{f['ratio'] * 100:.0f}%" if "ratio" in f else ""
        other = ", ".join(f"{k}={num(v)}" for k, v in f.items()
                          if k in ("started_s", "rss_mb", "peak_mb", "last_p50_ms", "last_p99_ms", "missing",
                                   "seconds", "queued", "errors", "unexpected", "unanswered_runs", "overhead_ms",
                                   "per_stage_ms", "server_cpu_ms", "wall_s") and v not in (0, None)
                          or k in ("last_p50_ms", "last_p99_ms") and v is not None)
        lines.append(f"{row.section:<11} {size_name(row.size):>5}  {row.name[:44]:<44} {num(f.get('rps')):>8} {ratio:>6} "
                     f"{num(f.get('p50_ms')):>8} {num(f.get('p99_ms')):>8}  {other}")
    for failure in results.conditions.get("failures", []):
        lines.append(f"FAILED: {failure[:300]}")
    lines.append("")
    lines.append("targets:")
    for v in verdicts:
        t = v["target"]
        lines.append(f"  {v['status']:<12} {t.label:<52} {num(v['value'], t.unit):>10}  (target {_target_text(t)})")
    return "\n".join(lines)


# --- BENCHMARKS.md -------------------------------------------------------------------------------


def _table(headers: list[str], rows: list[list[str]]) -> str:
    out = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    out += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(out)


def markdown(results: Results, verdicts: list[dict]) -> str:
    m, plan, c = results.machine, results.plan, results.conditions
    out = ["# Benchmarks", ""]
    out.append("Written by the benchmark suite in `bench/` (`make bench`); every figure below comes from the "
               "run described here. Method, data and the notes on missed targets follow the tables.")
    out += ["", "## The run", ""]
    out.append(_table(["", ""], [
        ["command", f"`{results.command}`"],
        ["date", c.get("date", "?")],
        ["commit", m["commit"]],
        ["CPU", f"{m['cpu']}, {m['cores']} cores"],
        ["memory", m["memory"]],
        ["OS", m["os"]],
        ["Python / SQLite", f"{m['python']} / SQLite {m['sqlite']}"],
        ["packages", m["packages"]],
        ["load generator", f"{plan['tool']} ({m['wrk']})" if plan["tool"] == "wrk" else plan["tool"]],
        ["pinning", "server on CPU 0, load generator and WebSocket clients on CPU 1 (`taskset`)"],
        ["runs", f"median of {plan['runs']} runs; throughput runs {plan['throughput_s']:g} s at "
                 f"{plan['connections']} connections after a {plan['warmup_s']:g} s warm-up; latency runs "
                 f"{plan['latency_s']:g} s at 1 connection"],
        ["load average", f"{c.get('load_before', '?')} before, {c.get('load_after', '?')} after"],
        ["other activity", c.get("others", "none seen")],
    ]))
    if c.get("failures"):
        out += ["", "**Measurements that failed in this run:**", ""]
        out += [f"* {failure}" for failure in c["failures"]]

    out += ["", "## Targets", ""]
    rows = []
    for v in verdicts:
        t = v["target"]
        rows.append([t.label, num(v["value"], t.unit), _target_text(t), "**MISSED**" if v["status"] == "MISSED" else v["status"]])
    out.append(_table(["target", "figure", "target", "verdict"], rows))

    servers = [r for r in results.rows if r.section == "servers"]
    if servers:
        out += ["", "## ASGI servers (one worker, pinned to one core)", ""]
        out.append(_table(["app", "server", "req/s (median)", "p50 ms", "p99 ms", "runs (req/s)"], [
            [r.detail, r.name, num(r.figures["rps"]), num(r.figures["p50_ms"]), num(r.figures["p99_ms"]),
             " / ".join(f"{x:,}" for x in r.figures["runs_rps"])] for r in servers]))

    for size in plan["sizes"]:
        data = results.data.get(size, {})
        out += ["", f"## {size:,} issues", ""]
        if data:
            counts = data["counts"]
            out.append(f"Data (seed {data['seed']}): {counts['issues']:,} issues ({data['open']:,} open), "
                       f"{counts['comments']:,} comments, {counts['labels']:,} labels, "
                       f"{counts['dependencies']:,} dependency edges (a {len(data['chain']):,}-issue chain included), "
                       f"{counts['milestones']:,} milestones, {counts['sessions']:,} sessions; "
                       f"generated in {data['build_s'] + data['insert_s'] + data['index_s']:.1f} s "
                       f"({data['insert_s']:.1f} s inserting, {data['index_s']:.1f} s indexing for search), "
                       f"database {data['db_mib']:,.0f} MiB.")
            out.append("")
        def pg(r: Row, size: int = size) -> Row | None:
            return results.find("pg:" + r.section, size, r.name)

        through = [r for r in results.rows if r.size == size and r.section in ("ceiling", "throughput")]
        if through:
            on_pg = any(pg(r) for r in through)
            headers = ["throughput", "request", "req/s", "of hello", "p50 ms", "p99 ms", "runs (req/s)"]
            if on_pg:
                headers += ["PostgreSQL req/s", "of hello", "p50 ms", "p99 ms"]
            table = []
            for r in through:
                line = [r.name + flaws(r), f"`{r.detail}`", num(r.figures["rps"]),
                        f"{r.figures['ratio'] * 100:.0f} %" if "ratio" in r.figures else "100 %",
                        num(r.figures["p50_ms"]), num(r.figures["p99_ms"]),
                        " / ".join(f"{x:,}" for x in r.figures["runs_rps"])]
                if on_pg:
                    other = pg(r) or (r if r.section == "ceiling" else None)
                    line += ["-"] * 4 if other is None else [
                        num(other.figures["rps"]) + flaws(other),
                        f"{other.figures['ratio'] * 100:.0f} %" if "ratio" in other.figures else "100 %",
                        num(other.figures["p50_ms"]), num(other.figures["p99_ms"])]
                table.append(line)
            out.append(_table(headers, table))
            out.append("")
        lat = [r for r in results.rows if r.size == size and r.section == "latency"]
        if lat:
            on_pg = any(pg(r) for r in lat)
            headers = ["latency (1 connection)", "request", "p50 ms", "p99 ms", "req/s", "runs (p50 ms)"]
            if on_pg:
                headers += ["PostgreSQL p50 ms", "p99 ms", "runs (p50 ms)"]
            table = []
            for r in lat:
                line = [r.name + flaws(r), f"`{r.detail}`", num(r.figures["p50_ms"]), num(r.figures["p99_ms"]),
                        num(r.figures["rps"]), " / ".join("-" if x is None else f"{x:g}" for x in r.figures["runs_p50_ms"])]
                if on_pg:
                    other = pg(r)
                    line += ["-"] * 3 if other is None else [
                        num(other.figures["p50_ms"]) + flaws(other), num(other.figures["p99_ms"]),
                        " / ".join("-" if x is None else f"{x:g}" for x in other.figures["runs_p50_ms"])]
                table.append(line)
            out.append(_table(headers, table))
            out.append("")
        sections = ("fan-out", "index", "startup", "memory")
        other = [r for r in results.rows if r.size == size and r.section in sections]
        other += [r for r in results.rows if r.size == size and r.section in tuple("pg:" + x for x in sections)]
        if other:
            copied = results.data.get(f"pg-{size}", {}).get("copy_s")
            if copied is not None:
                out.append(f"PostgreSQL: the same data copied in with `crosslink db copy` ({copied:.0f} s, "
                           "indexes and `VACUUM ANALYZE` included), a fresh copy of it (`CREATE DATABASE ... "
                           "TEMPLATE`) for each server run.")
                out.append("")
            out.append(_table(["measurement", "figures", "how"], [
                [r.name + (" (PostgreSQL)" if r.section.startswith("pg:") else ""), _describe(r), r.detail]
                for r in other]))
    orchestrating = [r for r in results.rows if r.section == "orchestrator"]
    if orchestrating:
        out += ["", "## Orchestrator scheduling", ""]
        out.append(_table(["measurement", "figures", "how"], [[r.name, _describe(r), r.detail] for r in orchestrating]))
    writes = [r for r in results.rows if r.section == "knowledge"]
    if writes:
        out += ["", "## Knowledge page writes (`python -m bench.knowledge`)", ""]
        out.append(_table(["measurement", "p50 ms", "p99 ms", "ratio to bare git (p50)", "pages", "how"], [
            [r.name, num(r.figures["p50_ms"]), num(r.figures["p99_ms"]),
             f"{r.figures['ratio']:.2f}×" if r.figures.get("ratio") else "-", str(r.figures["count"]), r.detail]
            for r in writes]))
    usage = [r for r in results.rows if r.section == "usage"]
    if usage:
        rows = usage[0].size
        data = results.data.get(f"usage-{rows}", {})
        out += ["", f"## Token usage, {rows:,} rows", ""]
        if data:
            out.append(f"`token_usage` filled as the crosslink CLI fills it (30 agents, 5 models, the 30 days before the "
                       f"run) in {data['fill_s']:.1f} s; the server's first start on it (indexes, rollups built "
                       f"from the rows) {data['first_start_s']:.2f} s, a later start {data['start_s']:.2f} s "
                       f"(`bench/usage.py`, also `python -m bench.usage`).")
            out.append("")
        out.append(_table(["latency (1 connection)", "request", "p50 ms", "p99 ms", "req/s", "runs (p50 ms)"], [
            [r.name + flaws(r), f"`{r.detail}`", num(r.figures["p50_ms"]), num(r.figures["p99_ms"]), num(r.figures["rps"]),
             " / ".join("-" if x is None else f"{x:g}" for x in r.figures["runs_p50_ms"])] for r in usage]))
    general = [r for r in results.rows if r.size is None and r.section in ("startup", "memory")]
    if general:
        out += ["", "## Start-up and memory without data", ""]
        out.append(_table(["measurement", "figures", "how"], [[r.name, _describe(r), r.detail] for r in general]))

    out += ["", "## Method", "", METHOD.strip()]
    if NOTES.exists():
        out += ["", NOTES.read_text().strip()]
    return "\n".join(out) + "\n"


def flaws(row: Row) -> str:
    f, notes = row.figures, []
    if f.get("errors"):
        notes.append(f"{f['errors']} socket errors")
    if f.get("unexpected"):
        notes.append(f"{f['unexpected']} unexpected statuses")
    if f.get("unanswered_runs"):
        notes.append(f"{f['unanswered_runs']} runs without a single answer")
    return f" ({', '.join(notes)})" if notes else ""


def _describe(row: Row) -> str:
    section = row.section.removeprefix("pg:")
    f = row.figures
    if section == "fan-out":
        return (f"response → last delivery p50 {num(f['last_p50_ms'])} ms, p99 {num(f['last_p99_ms'])} ms; "
                f"response → each delivery p50 {num(f['each_p50_ms'])} ms, p99 {num(f['each_p99_ms'])} ms; "
                f"request sent → last delivery p50 {num(f['post_to_all_p50_ms'])} ms; "
                f"{f['missing']} missing; {f['rounds']} rounds × {f['runs']} runs")
    if section == "index":
        return f"{num(f['seconds'])} s (HTTP {f['status']}) with {f['queued']:,} new issues queued for the index"
    if section == "orchestrator":
        return (f"{num(f['wall_s'])} s in all: {num(f['per_stage_ms'])} ms per stage, {num(f['overhead_ms'])} ms beyond "
                f"the commands' own {num(f['command_ms'])} ms (creating the tracking issues {num(f['setup_ms'])} ms); "
                f"server CPU {num(f['server_cpu_ms'])} ms per stage")
    if section == "startup":
        ratio = f" = {f['ratio']:.2f}× a bare Quart app's" if f.get("ratio") not in (None, 1.0) else ""
        return (f"median {num(f['started_s'] * 1000)} ms{ratio} (runs: "
                f"{', '.join(f'{x * 1000:.0f}' for x in f['runs'])} ms)")
    return f"RSS {num(f['rss_mb'])} MB (peak {num(f['peak_mb'])} MB)"


METHOD = """
* **Servers.** `crosslink serve --repo <generated repo> --no-autoload` (every built-in plugin, SQLite,
  uvicorn with uvloop and httptools as `kernel/server.py` runs it) is pinned to CPU 0. The bare Quart
  "hello" app (`bench/apps.py`) runs on the same core through the same `kernel.server.run`, so its
  uvicorn configuration is identical; it is the ceiling each throughput figure is divided by, measured
  in the same run at the same concurrency. For the server comparison, granian (`--interface asgi
  --loop uvloop`, 1 worker) and hypercorn (`-k uvloop`, 1 worker) serve the same two apps.
* **Load.** wrk (`-t1`, pinned to CPU 1) replays a shuffled list of requests from a generated Lua
  script; p50/p99 are wrk's latency percentiles. Each figure is the median of the runs; "runs" lists
  them. Throughput runs use many connections (the server's capacity); latency runs use one
  connection (the time one request takes on an idle server). The smoke mode (`make bench-smoke`)
  uses a small asyncio client instead of wrk and checks only that everything runs. wrk rather than a
  Python client: a Python client costs about as much per request as the server does, so on the
  other core it would be the bottleneck; wrk is written in C and uses a fraction of its core.
* **Requests.** GET by id: random ids of existing issues. The filtered list: open issues with one of
  the five most common labels, 50 per page. Search: `GET /issues?search=<word>&limit=50` (open issues,
  the route's default; `total` counts every match) for ten words in each of three classes, chosen by
  the generator from the search index for how many issues they match (about 10 %, 1 % and 0.1 % of
  the issues, counting title, description and comments; the exact ranges are in the request column),
  a two-character query (too short for the trigram index: a scan), and the unified
  `GET /search?q=<word>`. Ready and blocked: the first page of 50. Tree: an issue with 100
  descendants. Create: `POST /issues`. Comment: `POST /issues/<random>/comments`. Blockers: on a chain
  of 5,000 issues (each blocks the next), "the chain's first issue is blocked by its last" is refused
  as a cycle after walking the whole chain, and "one of the first 10 is blocked by <an unrelated
  issue>" walks the rest of the chain, finds no cycle and inserts the edge.
* **PostgreSQL** (`--postgres URL`, default `postgres://postgres@127.0.0.1:5432`; `--postgres-sizes`,
  full run: 100k). The generated SQLite data is copied once into a scratch database with
  `crosslink db copy` (migrations, rows, the search indexes) and `VACUUM ANALYZE`d; each server run
  (`crosslink serve --db postgres://...`) gets a fresh copy of it (`CREATE DATABASE ... TEMPLATE`),
  and the same scenarios run against it; the tables show its figures beside SQLite's. PostgreSQL runs
  on the same two cores, unpinned (it is another process the server waits for), with its default
  settings (`fsync` on).
* **Writes** run after the reads, each write scenario on a server started on a fresh copy of the
  generated database (a create run adds tens of thousands of issues). After the create runs, the
  first search is timed: the issues plugin takes the queued rows into its search index first.
* **Fan-out.** 1,000 WebSocket clients subscribed to the `issues` channel in one process on CPU 1
  (`bench/fanout.py`, minimal RFC 6455 clients that timestamp a frame when it is read); each round,
  0.2 s apart, adds a comment; the figure is the time from the comment request's response to the
  last client's receipt of the `issue_updated` event (p50/p99 over rounds), and to each receipt.
* **Orchestrator.** `crosslink serve` on a new repository with the `command` launcher and
  `stage_command = ["true"]`; a plan of 100 independent stages (10 per phase) is stored, then
  `POST /orchestrator/execute` is timed until `execution_state: done` arrives on a WebSocket. With
  `max_parallel = 1` the stages run one after the other, so the wall time less the sum of the
  stages' `run_seconds` (the wrapper shell and `true`, from spawn to the exit being seen) is the
  orchestrator's own cost: tracking issues, transitions, events, closing issues and milestones,
  deciding what runs next. The server's CPU time per stage is given too (`/proc/<pid>/stat`).
* **Token usage** (`bench/usage.py`, also alone as `python -m bench.usage`). `token_usage` is filled
  with plain SQL in the CLI's format (30 agents of skewed activity, 5 models, the 30 days before the
  run, 60 % of the rows with a cost), then `crosslink serve --plugins usage` starts on it twice: the
  first start indexes the table and builds the rollups from its rows, the second is an ordinary
  start. Each scenario is replayed on one connection like the latency runs: summaries over every
  row (by agent and model, and by day), over the last 24-25 hours and over random spans (both in
  mixed RFC 3339 spellings, so the edges are ragged), one agent's month; the newest page and one
  agent's week; a single record and batches of 100.
* **Start-up and memory.** Cold start: from spawning `crosslink serve` to the first 200 on
  `/api/v1/health`, polled every 2 ms (operating system caches warm), also given as a ratio to the
  cold start of the bare Quart hello app measured the same way in the same run (`python -m
  bench.apps hello`: Python, Quart and uvicorn imported, nothing else). Resident memory: `VmRSS` of the
  server process, idle (a new repository, after start-up and a few health checks) and after the whole
  workload on the generated data.
"""
