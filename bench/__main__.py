"""The benchmark suite: ``python -m bench`` (full run, writes BENCHMARKS.md) or ``--smoke``.

Full run (``make bench``): the ASGI server comparison, then for each data size (10k and 100k
issues) a generated repository served by ``crosslink serve`` pinned to CPU 0 and measured with
wrk pinned to CPU 1: throughput against the bare Quart hello ceiling, single-connection
latencies, WebSocket fan-out to 1,000 clients, cold start and resident memory; and the
orchestrator's scheduling overhead for a plan of 100 stages of ``true`` (``bench/orchestrator.py``,
also runnable alone as ``python -m bench.orchestrator``) and knowledge page writes, a git commit
each (``bench/knowledge.py``, ``python -m bench.knowledge``). Smoke run
(``make bench-smoke``): the same steps on a few hundred issues, once each and briefly, with
the asyncio load client (needs nothing beyond ``pip install -e '.[test]'``).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from statistics import median

from . import fanout, knowledge, load, orchestrator, servers
from . import postgres as pg
from . import usage as usage_bench
from .generate import generate
from .load import get, post
from .report import (
    Results,
    Row,
    Target,
    console,
    evaluate,
    flaws,
    load_average,
    machine,
    markdown,
    num,
    others_running,
    size_name,
    summarise,
)

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
SERVER_CPU, LOAD_CPU = 0, 1

FULL = dict(sizes=[10_000, 100_000], runs=3, throughput_s=10, latency_s=5, warmup_s=2, connections=32,
            subscribers=1000, fanout_rounds=20, cold_starts=5, tool="wrk", servers=True, orchestrator_stages=100,
            fresh_writes=True,
            knowledge_pages=100, usage_rows=1_000_000, postgres=pg.DEFAULT_SERVER, postgres_sizes=[100_000])
SMOKE = dict(sizes=[300], runs=1, throughput_s=0.5, latency_s=0.3, warmup_s=0, connections=4,
             subscribers=20, fanout_rounds=3, cold_starts=1, tool="python", servers=False, orchestrator_stages=10, knowledge_pages=5,
             usage_rows=2_000, fresh_writes=False,
             postgres=pg.DEFAULT_SERVER, postgres_sizes=[])


class Bench:
    def __init__(self, plan: dict, workdir: Path, results: Results) -> None:
        self.plan = plan
        self.workdir = workdir
        self.results = results
        self.logs = workdir / "logs"
        self.server: servers.Server | None = None  # the crosslink server being measured
        self.failures: list[str] = []
        self.section_prefix = ""  # "pg:" while the PostgreSQL runs are measured
        self.hello_cold = float("nan")  # a bare Quart app's cold start, seconds

    def say(self, message: str) -> None:
        print(f"[bench {time.strftime('%H:%M:%S')}] {message}", flush=True)

    # --- load ------------------------------------------------------------------------------------

    def load(self, url: str, requests_for, *, connections: int, duration: float, expect: int = 200,
             warmup: float = 0.0) -> dict:
        """Median figures of ``runs`` load runs (``requests_for(run)`` gives each run's requests)."""
        plan = self.plan
        warm = None
        if warmup:
            warm = load.run(plan["tool"], url, requests_for(-1), connections=connections, duration=warmup,
                            expect=expect, cpu=LOAD_CPU)
        runs = [load.run(plan["tool"], url, requests_for(run), connections=connections, duration=duration,
                         expect=expect, cpu=LOAD_CPU) for run in range(plan["runs"])]
        if any(r.requests == 0 for r in runs) and self.server is not None:
            self.dump_server("no-answer")
        figures = summarise(runs)
        if warm is not None:
            figures["warmup_requests"] = warm.requests
        return figures

    def dump_server(self, why: str) -> None:
        """A stack dump of the server under test (py-spy), when it stopped answering."""
        spy = servers.BIN / "py-spy"
        if spy.exists():
            import subprocess

            done = subprocess.run([str(spy), "dump", "--pid", str(self.server.pid)], capture_output=True, text=True)
            path = self.logs / f"{why}-{time.strftime('%H%M%S')}.txt"
            path.write_text(done.stdout + done.stderr)
            self.say(f"the server did not answer; its stacks are in {path}")

    def throughput(self, size, name: str, url: str, requests: list, detail: str, ceiling: float | None) -> dict:
        figures = self.load(url, lambda run: requests, connections=self.plan["connections"],
                            duration=self.plan["throughput_s"], warmup=self.plan["warmup_s"])
        if ceiling:
            figures["ratio"] = figures["rps"] / ceiling
        self.results.add(self.section_prefix + ("ceiling" if ceiling is None else "throughput"), size, name, figures,
                         detail)
        self.say(f"{name}: {figures['rps']:,.0f} req/s, p50 {num(figures['p50_ms'])} ms, "
                 f"p99 {num(figures['p99_ms'])} ms{_flaws_of(figures)}")
        return figures

    # --- sections --------------------------------------------------------------------------------

    def startup_without_data(self) -> None:
        """A bare Quart app's cold start (the ratio's base), cold start on a new repository
        (schema created), and idle resident memory."""
        hello_times = []
        for _ in range(self.plan["cold_starts"]):
            with servers.hello(self.logs / "cold-hello.log", cpu=SERVER_CPU) as server:
                hello_times.append(server.started_in)
        self.hello_cold = median(hello_times)
        self.results.add("startup", None, "cold start, bare Quart hello", {"started_s": self.hello_cold,
                         "runs": hello_times, "ratio": 1.0},
                         "`python -m bench.apps hello` (Quart imported, uvicorn as `kernel.server.run` runs it)")
        times = []
        for i in range(self.plan["cold_starts"]):
            repo = self.workdir / f"empty-{i}"
            repo.mkdir()
            with servers.crosslink(repo, self.logs / "cold-empty.log", cpu=SERVER_CPU) as server:
                times.append(server.started_in)
        self.results.add("startup", None, "cold start, new repository", {"started_s": median(times), "runs": times,
                         "ratio": median(times) / self.hello_cold},
                         "`crosslink serve` on a repository without `issues.db` (creates the schema)")
        repo = self.workdir / "idle"
        repo.mkdir()
        with servers.crosslink(repo, self.logs / "idle.log", cpu=SERVER_CPU) as server:
            for _ in range(5):
                servers.http_status(server.port, servers.HEALTH)
            time.sleep(1.0)
            memory = server.memory()
        self.results.add("memory", None, "idle RSS", memory, "a new repository, after start-up and 5 health checks")
        self.say(f"cold start (new repo) {median(times) * 1000:.0f} ms; idle RSS {memory['rss_mb']:.1f} MB")

    def orchestrator(self) -> None:
        """The orchestrator's scheduling overhead per stage (``bench/orchestrator.py``)."""
        stages = self.plan.get("orchestrator_stages", 100)
        figures = orchestrator.measure(self.workdir, stages, cpu=SERVER_CPU)
        one, four = figures[1], figures[4]
        self.results.add("orchestrator", None, f"orchestrator, {stages} stages, 1 at a time",
                         {**one, "p50_ms": None},
                         "stages of `true`, max_parallel 1: execute -> done, less the commands' own run time")
        self.results.add("orchestrator", None, f"orchestrator, {stages} stages, 4 at a time",
                         {**four, "p50_ms": None}, "stages of `true`, max_parallel 4: execute -> done")
        for line in orchestrator.describe(figures):
            self.say(line)

    def knowledge(self) -> None:
        """Knowledge page writes, one git commit each, against bare git (``bench/knowledge.py``)."""
        pages = self.plan.get("knowledge_pages", 100)
        figures = knowledge.measure(self.workdir, pages, cpu=SERVER_CPU)
        details = {
            "create page": "POST /api/v1/knowledge, a new page (one commit each), one at a time",
            "update page": "PATCH /api/v1/knowledge/<slug> with If-Match: *, a new body (one commit each)",
            "bare git add + commit": "the same file written, `git add`, `git commit -- <file>` in a worktree, "
                                     "no server",
        }
        for name, row in figures.items():
            self.results.add("knowledge", None, name, row, details[name])
        for line in knowledge.describe(figures):
            self.say(line)

    def server_comparison(self) -> None:
        repo = self.workdir / "servers"
        repo.mkdir()
        for server in ("uvicorn", "granian", "hypercorn"):
            if not servers.has_server(server):
                self.say(f"{server} is not installed; skipped (pip install -e '.[bench]')")
                continue
            for app, start, path in (("Quart hello", servers.hello, "/"),
                                     ("crosslink /api/v1/health", None, servers.HEALTH)):
                log = self.logs / f"{server}-{'hello' if start else 'crosslink'}.log"
                running = (start(log, server=server, cpu=SERVER_CPU) if start else
                           servers.crosslink_on(server, repo, log, cpu=SERVER_CPU))
                with running:
                    figures = self.load(running.url, lambda run, path=path: [get(path)], connections=self.plan["connections"],
                                        duration=self.plan["throughput_s"], warmup=self.plan["warmup_s"])
                self.results.add("servers", None, server, figures, app)
                self.say(f"{app} on {server}: {figures['rps']:,.0f} req/s")

    def size(self, n: int) -> None:
        plan, results = self.plan, self.results
        repo = self.workdir / f"repo-{n}"
        self.say(f"generating {n:,} issues (seed {plan['seed']})")
        manifest = generate(repo, n, plan["seed"])
        pristine = self.workdir / f"pristine-{n}.db"
        shutil.copyfile(repo / ".crosslink" / "issues.db", pristine)
        results.data[n] = {k: v for k, v in manifest.items() if k not in ("free_blockers", "comment_on")}
        self.say(f"generated in {manifest['build_s'] + manifest['insert_s'] + manifest['index_s']:.1f} s, "
                 f"{manifest['db_mib']:.0f} MiB")

        times = []
        for _ in range(plan["cold_starts"]):
            with servers.crosslink(repo, self.logs / f"cold-{n}.log", cpu=SERVER_CPU) as server:
                times.append(server.started_in)
        results.add("startup", n, "cold start", {"started_s": median(times), "runs": times,
                                                 "ratio": median(times) / self.hello_cold},
                    f"`crosslink serve` on the {n:,}-issue repository")
        self.say(f"cold start {median(times) * 1000:.0f} ms")

        with servers.hello(self.logs / f"hello-{n}.log", cpu=SERVER_CPU) as hello:
            ceiling = self.throughput(n, "bare Quart hello (ceiling)", hello.url, [get("/")], "GET /", None)["rps"]
        self.serve(n, repo, manifest, ceiling, lambda: restore(repo, pristine))
        if n in plan.get("postgres_sizes", ()):
            self.guarded(lambda: self.on_postgres(n, repo, pristine, manifest, ceiling))
        self.server = None
        if not plan["keep"]:
            shutil.rmtree(repo, ignore_errors=True)
            pristine.unlink(missing_ok=True)

    def serve(self, n: int, repo: Path, manifest: dict, ceiling: float, fresh: Callable[[], str | None],
              prefix: str = "") -> None:
        """Every scenario on ``repo``'s data: throughput, reads, fan-out, RSS, then each write
        scenario on fresh data (``fresh()`` restores it and names the database URL to serve, or
        ``None`` for the repository's SQLite file). ``prefix``: the results' section prefix."""
        plan, results = self.plan, self.results
        rng = random.Random(plan["seed"])
        reads = [s for s in scenarios(manifest, plan["runs"]) if not s.writes]
        writes = [s for s in scenarios(manifest, plan["runs"]) if s.writes]
        db = fresh()
        where = " (PostgreSQL)" if prefix else ""
        with servers.crosslink(repo, self.logs / f"serve-{prefix[:-1] or 'sqlite'}-{n}.log", cpu=SERVER_CPU,
                               db=db) as server:
            self.server, url = server, server.url
            self.section_prefix = prefix
            ids = rng.sample(range(1, n + 1), min(n, 10_000))
            self.guarded(lambda: self.throughput(n, "GET /issues/:id", url, [get(f"/api/v1/issues/{i}") for i in ids],
                                                 "GET /api/v1/issues/<random id>", ceiling))
            self.guarded(lambda: self.throughput(
                n, "GET /issues, filtered, 50 items", url,
                [get(f"/api/v1/issues?label={label}&limit=50") for label in manifest["labels"]],
                "GET /api/v1/issues?label=<common label>&limit=50", ceiling))
            for scenario in reads:
                self.guarded(lambda scenario=scenario: self.latency(n, url, scenario))
            self.guarded(lambda: self.fanout(n, url, manifest))
            memory = server.memory()
            results.add(prefix + "memory", n, "RSS after the workload", memory,
                        f"the server on the {n:,}-issue repository{where} after the reads and the fan-out above")
            self.say(f"RSS after the workload{where} {memory['rss_mb']:.1f} MB (peak {memory['peak_mb']:.1f} MB)")
        # each write scenario starts from the generated data: a run adds thousands of rows, and
        # the search index takes them in later (see the catch-up figure) while writes wait. A
        # smoke run adds a few dozen, so its write scenarios share one server on fresh data.
        batches = [[scenario] for scenario in writes] if plan["fresh_writes"] else [writes]
        for batch in batches:
            db = fresh()
            with servers.crosslink(repo, self.logs / f"serve-{prefix[:-1] or 'sqlite'}-{n}-writes.log",
                                   cpu=SERVER_CPU, db=db) as server:
                self.server = server
                for scenario in batch:
                    figures = self.guarded(lambda scenario=scenario: self.latency(n, server.url, scenario))
                    if scenario.catch_up and figures:
                        self.guarded(lambda figures=figures: self.catch_up(n, server, manifest, figures))
        self.server = None
        self.section_prefix = ""

    def on_postgres(self, n: int, repo: Path, pristine: Path, manifest: dict, ceiling: float) -> None:
        """The same scenarios with the data copied into PostgreSQL (``bench/postgres.py``)."""
        scratch = pg.Scratch(self.plan["postgres"], n)
        self.say(f"copying the {n:,} issues into PostgreSQL ({scratch.pristine})")
        restore(repo, pristine)
        seconds = scratch.load(repo / ".crosslink" / "issues.db", repo, self.logs / f"pg-copy-{n}.log")
        self.results.data[f"pg-{n}"] = {"copy_s": seconds}
        self.say(f"copied in {seconds:.1f} s")
        try:
            times = []
            for _ in range(self.plan["cold_starts"]):
                with servers.crosslink(repo, self.logs / f"cold-pg-{n}.log", cpu=SERVER_CPU, db=scratch.fresh()) as s:
                    times.append(s.started_in)
            self.results.add(pg.PREFIX + "startup", n, "cold start", {"started_s": median(times), "runs": times,
                                                                   "ratio": median(times) / self.hello_cold},
                             f"`crosslink serve --db postgres://...` on the {n:,}-issue data")
            self.say(f"cold start on PostgreSQL {median(times) * 1000:.0f} ms")
            self.serve(n, repo, manifest, ceiling, scratch.fresh, prefix=pg.PREFIX)
        finally:
            scratch.drop()

    def usage(self) -> None:
        """The usage plugin on a ``token_usage`` table of ``usage_rows`` rows (``bench/usage.py``)."""
        plan, rows = self.plan, self.plan["usage_rows"]
        measured = usage_bench.measure(self.workdir, rows_count=rows, runs=plan["runs"], seconds=plan["latency_s"],
                                       warmup=min(1.0, plan["warmup_s"]), seed=plan["seed"], tool=plan["tool"])
        self.results.data[f"usage-{rows}"] = {k: v for k, v in measured.items() if k != "results"}
        for scenario, figures in measured["results"]:
            self.results.add("usage", rows, scenario.name, figures, scenario.detail)

    def guarded(self, measure):
        """Run one measurement; a failure is reported and the suite goes on with the next."""
        try:
            return measure()
        except Exception as exc:  # noqa: BLE001 - one broken measurement must not lose the others
            self.failures.append(f"{type(exc).__name__}: {exc}")
            self.say(f"measurement failed: {type(exc).__name__}: {str(exc)[:500]}")
            if self.server is not None:
                self.dump_server("failure")
            return None

    def latency(self, n: int, url: str, scenario: Scenario) -> dict:
        figures = self.load(url, scenario.requests_for, connections=1, duration=self.plan["latency_s"],
                            expect=scenario.expect, warmup=min(1.0, self.plan["warmup_s"]))
        self.results.add(self.section_prefix + "latency", n, scenario.name, figures, scenario.detail)
        self.say(f"{scenario.name}: p50 {num(figures['p50_ms'])} ms, p99 {num(figures['p99_ms'])} ms"
                 f"{_flaws_of(figures)}")
        return figures

    def catch_up(self, n: int, server: servers.Server, manifest: dict, figures: dict) -> None:
        """The first search after the write runs: the plugin takes the queued rows into its index."""
        queued = figures["requests"] + figures.get("warmup_requests", 0)
        began = time.perf_counter()
        status = servers.http_status(server.port, f"/api/v1/issues?search={manifest['search']['medium'][0]}&limit=1",
                                     timeout=900)
        seconds = time.perf_counter() - began
        self.results.add(self.section_prefix + "index", n, "first search after the create-issue runs", {"seconds": seconds, "queued": queued,
                         "status": status}, f"the search index takes in {queued:,} new issues before answering")
        self.say(f"first search after {queued:,} creates: {seconds:.2f} s (status {status})")

    def fanout(self, n: int, url: str, manifest: dict) -> None:
        plan = self.plan
        mutation = post(f"/api/v1/issues/{manifest['comment_on'][0]}/comments",
                        {"content": "fan-out probe", "kind": "note"})
        runs = [_run_async(fanout.run(url, mutation, subscribers=plan["subscribers"], rounds=plan["fanout_rounds"]))
                for _ in range(plan["runs"])]
        figures = {key: median(getattr(r, key) for r in runs)
                   for key in ("last_p50_ms", "last_p99_ms", "each_p50_ms", "each_p99_ms", "post_to_all_p50_ms",
                               "connect_s")}
        figures.update(missing=sum(r.missing for r in runs), rounds=plan["fanout_rounds"], runs=plan["runs"],
                       p50_ms=figures["last_p50_ms"], p99_ms=figures["last_p99_ms"])
        self.results.add(self.section_prefix + "fan-out", n, f"WebSocket fan-out, {plan['subscribers']:,} clients", figures,
                         "a comment is added; time from its response to the last client's receipt")
        self.say(f"fan-out to {plan['subscribers']}: last delivery p50 {figures['last_p50_ms']:.1f} ms, "
                 f"p99 {figures['last_p99_ms']:.1f} ms, {figures['missing']} missing")


def _flaws_of(figures: dict) -> str:
    return flaws(Row("", None, "", figures))


@dataclass
class Scenario:
    name: str
    detail: str  # the request, as the report shows it
    requests_for: Callable[[int], list]  # the requests of run i (-1: the warm-up)
    expect: int = 200
    writes: bool = False
    catch_up: bool = False  # time the first search afterwards


def scenarios(m: dict, runs: int) -> list[Scenario]:
    """The single-connection scenarios, reads then writes."""
    words, chain = m["search"], m["chain"]

    def same(requests):
        return lambda run: requests

    def search(kind):
        return same([get(f"/api/v1/issues?search={w}&limit=50") for w in words[kind]])

    def matching(kind):
        counts = words[f"{kind}_matches"]
        return f"<a word in {counts[0]:,}-{counts[-1]:,} issues>"

    # "chain[j] blocked by x" for x outside the chain walks the rest of the chain (all but j issues)
    # and adds the edge; an edge can be added once, so every run (and the warm-up) has pairs of its own
    heads, free = chain[:10], m["free_blockers"]
    pairs = [(heads[i % len(heads)], free[i // len(heads)]) for i in range(len(heads) * len(free))]
    per_run = min(load.MAX_REQUESTS, max(1, len(pairs) // (runs + 1)))

    def blockers(run):
        chunk = pairs[(run + 1) * per_run : (run + 2) * per_run]
        return [post(f"/api/v1/issues/{blocked}/block", {"blocker_id": b}) for blocked, b in chunk]

    titles = [f"Benchmark issue {i}: {' '.join(words['medium'][i % 10:i % 10 + 3])}" for i in range(100)]
    short = m["short_search"]
    return [
        Scenario("search, medium word", f"GET /api/v1/issues?search={matching('medium')}&limit=50", search("medium")),
        Scenario("search, common word", f"GET /api/v1/issues?search={matching('common')}&limit=50", search("common")),
        Scenario("search, rare word", f"GET /api/v1/issues?search={matching('rare')}&limit=50", search("rare")),
        Scenario("search, 2 characters", f"GET /api/v1/issues?search={short}&limit=50",
                 same([get(f"/api/v1/issues?search={short}&limit=50")])),
        Scenario("unified search, medium word", f"GET /api/v1/search?q={matching('medium')}",
                 same([get(f"/api/v1/search?q={w}") for w in words["medium"]])),
        Scenario("ready", "GET /api/v1/issues/ready?limit=50", same([get("/api/v1/issues/ready?limit=50")])),
        Scenario("blocked", "GET /api/v1/issues/blocked?limit=50", same([get("/api/v1/issues/blocked?limit=50")])),
        Scenario("tree", f"GET /api/v1/issues/<issue with {m['tree_size']} descendants>/tree",
                 same([get(f"/api/v1/issues/{m['tree_root']}/tree")])),
        Scenario("create issue", "POST /api/v1/issues",
                 same([post("/api/v1/issues", {"title": t, "description": t * 3, "priority": "medium"})
                       for t in titles]), 201, writes=True, catch_up=True),
        Scenario("add comment", "POST /api/v1/issues/<random id>/comments",
                 same([post(f"/api/v1/issues/{i}/comments", {"content": titles[i % 100] * 4, "kind": "note"})
                       for i in m["comment_on"]]), 201, writes=True),
        Scenario("add blocker, cycle refused", f"POST /api/v1/issues/<chain head>/block (blocker: chain tail, "
                 f"{len(chain):,}-issue chain) → 400",
                 same([post(f"/api/v1/issues/{chain[0]}/block", {"blocker_id": chain[-1]})]), 400, writes=True),
        Scenario("add blocker, no cycle", f"POST /api/v1/issues/<one of the chain's first 10>/block (blocker: an "
                 f"unrelated issue; walks at least {len(chain) - 10:,} issues of the chain)", blockers, writes=True),
    ]


def restore(repo: Path, pristine: Path) -> None:
    """Put the generated database back (no server may be running on it)."""
    db = repo / ".crosslink" / "issues.db"
    for suffix in ("-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    shutil.copyfile(pristine, db)


def targets(plan: dict) -> list[Target]:
    """Issue 20's targets (SQLite at the biggest size, PostgreSQL where it was measured)."""
    big = max(plan["sizes"])
    label = f"at {size_name(big)}"
    found = [Target(f"GET /issues/:id ≥ 65 % of hello, {size_name(n)}", "throughput", n, "GET /issues/:id", "ratio",
                    0.65, at_least=True, unit="%") for n in plan["sizes"]]
    found.append(Target(f"filtered list ≥ 40 % of hello, {size_name(big)}", "throughput", big,
                        "GET /issues, filtered, 50 items", "ratio", 0.40, at_least=True, unit="%"))
    for name in ("search, medium word", "search, common word", "search, rare word", "search, 2 characters",
                 "unified search, medium word"):
        found.append(Target(f"{name} p50 {label}", "latency", big, name, "p50_ms", 20))
    found += [
        Target(f"ready p50 {label}", "latency", big, "ready", "p50_ms", 30),
        Target(f"blocked p50 {label}", "latency", big, "blocked", "p50_ms", 30),
        Target(f"create issue p50 {label}", "latency", big, "create issue", "p50_ms", 3),
        Target(f"add comment p99 {label}", "latency", big, "add comment", "p99_ms", 50),
        Target(f"cycle check (refused) p50 {label}", "latency", big, "add blocker, cycle refused", "p50_ms", 20),
        Target(f"cycle check (added) p50 {label}", "latency", big, "add blocker, no cycle", "p50_ms", 20),
        Target(f"fan-out to {plan['subscribers']:,} clients p99 {label}", "fan-out", big,
               f"WebSocket fan-out, {plan['subscribers']:,} clients", "last_p99_ms", 100),
        Target(f"cold start {label}, ratio to a bare Quart app's", "startup", big, "cold start", "ratio", 1.5, unit="×"),
        Target("cold start, new repository, ratio to a bare Quart app's", "startup", None,
               "cold start, new repository", "ratio", 1.5, unit="×"),
        Target("idle RSS", "memory", None, "idle RSS", "rss_mb", 100, unit="MB"),
        Target(f"RSS after the workload {label}", "memory", big, "RSS after the workload", "rss_mb", 100, unit="MB"),
    ]
    for n in plan.get("postgres_sizes", ()):
        at = f"at {size_name(n)}, PostgreSQL"
        found.append(Target(f"GET /issues/:id ≥ 40 % of hello, {size_name(n)}, PostgreSQL", "pg:throughput", n,
                            "GET /issues/:id", "ratio", 0.40, at_least=True, unit="%"))
        for name in ("search, medium word", "search, common word", "search, rare word", "search, 2 characters",
                     "unified search, medium word", "ready", "blocked"):
            found.append(Target(f"{name} p50 {at}", "pg:latency", n, name, "p50_ms", 20))
        found.append(Target(f"create issue p50 {at}", "pg:latency", n, "create issue", "p50_ms", 5))
    found += [
        Target("orchestrator overhead per stage", "orchestrator", None,
               f"orchestrator, {plan.get('orchestrator_stages', 100)} stages, 1 at a time", "overhead_ms", 20),
        Target("knowledge page create p50 (a git commit each)", "knowledge", None, "create page", "p50_ms", 25),
        Target(f"usage summary, every row p50 at {size_name(plan['usage_rows'])} rows", "usage", plan["usage_rows"],
               "summary, every row", "p50_ms", 20),
    ]
    return found


def render(path: Path, out: Path) -> int:
    saved = json.loads(path.read_text())
    results = Results(plan=saved["plan"], command=saved["command"], machine=saved["machine"],
                      conditions=saved["conditions"], data={int(k) if k.isdigit() else k: v for k, v in saved["data"].items()},
                      rows=[Row(**row) for row in saved["rows"]])
    verdicts = evaluate(results, targets(results.plan))
    print(console(results, verdicts))
    from .sections import carry_sections

    old = out.read_text() if out.exists() else None
    out.write_text(carry_sections(old, markdown(results, verdicts)))
    print(f"wrote {out}")
    return 0


def _run_async(coroutine):
    try:
        import uvloop

        return uvloop.run(coroutine)
    except ImportError:
        return asyncio.run(coroutine)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n")[0])
    parser.add_argument("--smoke", action="store_true", help="tiny data, one short run of each measurement")
    parser.add_argument("--sizes", help="comma-separated issue counts (full: 10000,100000)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--tool", choices=["wrk", "python"], help="HTTP load generator (full: wrk)")
    parser.add_argument("--no-servers", action="store_true", help="skip the granian/hypercorn comparison")
    parser.add_argument("--out", type=Path, help="write the report here (full run: BENCHMARKS.md)")
    parser.add_argument("--keep", action="store_true", help="keep the generated repositories")
    parser.add_argument("--postgres", metavar="URL", help=f"the PostgreSQL server for the PostgreSQL runs "
                        f"(default {pg.DEFAULT_SERVER}; scratch databases crosslink_bench_* are created and dropped)")
    parser.add_argument("--postgres-sizes", metavar="SIZES",
                        help="comma-separated sizes also measured on PostgreSQL (full: 100000; 'none': none)")
    parser.add_argument("--runs", type=int, help="runs per measurement (full: 3)")
    parser.add_argument("--no-extras", action="store_true", help="skip the orchestrator, knowledge and usage sections")
    parser.add_argument("--seconds", type=float, help="seconds per latency run (full: 5; throughput runs twice that)")
    parser.add_argument("--render", type=Path, metavar="RESULTS_JSON",
                        help="measure nothing: write the report of an earlier run again (e.g. after editing "
                             "bench/notes.md)")
    args = parser.parse_args(argv)
    if args.render:
        return render(args.render, args.out or ROOT / "BENCHMARKS.md")

    plan = dict(SMOKE if args.smoke else FULL, seed=args.seed, keep=args.keep)
    if args.sizes:
        plan["sizes"] = [int(s) for s in args.sizes.split(",")]
    if args.tool:
        plan["tool"] = args.tool
    if args.no_servers:
        plan["servers"] = False
    if args.postgres:
        plan["postgres"] = args.postgres
    if args.postgres_sizes:
        plan["postgres_sizes"] = [] if args.postgres_sizes == "none" else [int(s) for s in args.postgres_sizes.split(",")]
    plan["postgres_sizes"] = [n for n in plan["postgres_sizes"] if n in plan["sizes"]]
    if args.runs:
        plan["runs"] = args.runs
    plan["extras"] = not args.no_extras
    if args.seconds:
        plan["latency_s"], plan["throughput_s"] = args.seconds, 2 * args.seconds
    if plan["postgres_sizes"]:
        why = pg.available(plan["postgres"])
        if why:
            print(f"PostgreSQL at {plan['postgres']} does not answer ({why}); SQLite only", file=sys.stderr)
            plan["postgres_sizes"] = []
    if plan["tool"] == "wrk" and not load.wrk_available():
        print("wrk is not installed (apt-get install wrk); use --tool python", file=sys.stderr)
        return 2
    out = args.out if args.out else (None if args.smoke else ROOT / "BENCHMARKS.md")
    shown = " ".join(sys.argv[1:] if argv is None else argv)
    if os.environ.get("MAKELEVEL"):
        target = "make bench-smoke" if args.smoke else "make bench"
        extra = shown.replace("--smoke", "").strip()
        command = f"{target} BENCH_ARGS='{extra}'" if extra else target
    else:
        command = f"python -m bench {shown}".strip()

    if (os.cpu_count() or 1) >= 2 and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {LOAD_CPU})  # the in-process clients (smoke load, fan-out) on the load core
    RESULTS.mkdir(parents=True, exist_ok=True)
    workdir = Path(tempfile.mkdtemp(prefix="bench-smoke-") if args.smoke else tempfile.mkdtemp(prefix="run-", dir=RESULTS))
    results = Results(plan=plan, command=command, machine=machine())
    others = others_running()
    results.conditions = {"date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"), "load_before": load_average(),
                          "others": f"{len(others)} pytest process(es) running at the start" if others else "none seen"}
    bench = Bench(plan, workdir, results)
    began = time.perf_counter()
    try:
        bench.startup_without_data()
        if plan.get("extras", True):
            bench.guarded(bench.orchestrator)
            bench.guarded(bench.knowledge)
        if plan["servers"]:
            bench.server_comparison()
        for n in plan["sizes"]:
            bench.size(n)
        if plan.get("extras", True):
            bench.guarded(bench.usage)
    finally:
        results.conditions["load_after"] = load_average()
        results.conditions["failures"] = bench.failures
        after = others_running()
        if after:
            results.conditions["others"] += f"; {len(after)} at the end"
        (workdir / "results.json").write_text(json.dumps(
            {"plan": plan, "command": command, "machine": results.machine, "conditions": results.conditions,
             "data": results.data, "rows": [asdict(r) for r in results.rows]}, indent=1, default=str))
        if args.smoke or not plan["keep"]:
            for path in workdir.iterdir():
                if path.is_dir() and path.name != "logs":
                    shutil.rmtree(path, ignore_errors=True)
    verdicts = evaluate(results, targets(plan))
    print()
    print(console(results, verdicts))
    print(f"\n{len(results.rows)} measurements in {time.perf_counter() - began:.0f} s"
          + ("" if args.smoke else f"; logs and results.json in {workdir}"))
    if out:
        from .sections import carry_sections  # the sections `python -m bench.<module>` writes

        old = out.read_text() if out.exists() else None
        out.write_text(carry_sections(old, markdown(results, verdicts)))
        print(f"wrote {out}")
    if args.smoke:
        shutil.rmtree(workdir, ignore_errors=True)
    return 1 if bench.failures else 0


if __name__ == "__main__":
    sys.exit(main())
