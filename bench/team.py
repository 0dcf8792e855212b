"""Team-server benchmarks: ``python -m bench.team`` (full) or ``python -m bench.team --smoke``.

* **Cross-instance delivery**: two ``crosslink serve`` instances on one database; N WebSocket
  clients on B; ``POST /issues`` on A; the time from sending the write to A to the event's
  receipt by each client on B (p50/p99 over every delivery; the write itself included), on PostgreSQL (NOTIFY) and on one SQLite
  file (polling). Target: p99 <= 50 ms on PostgreSQL.
* **Outbox cost**: ``POST /issues`` latency (one connection, sequential) and throughput (8
  connections) of this tree against the tree before the durable event log (``--base``, a git
  commit, checked out in a temporary worktree and served from there), in the same run, on
  SQLite. Target: <= 10 % slower.
* **Resume**: 10,000 events logged while a client is away; from its reconnect with
  ``/ws?since=`` to the ``resumed`` message after the replay. Target: <= 1 s.

Results go to ``bench/results/team.json`` and a table on stdout.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import subprocess
import tempfile
import time
import uuid
from pathlib import Path
from statistics import median

from . import fanout, load, servers
from .load import post

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
#: The last commit before the durable event log (the outbox's "without").
BASE_COMMIT = "aabc506"
PG_ADMIN = os.environ.get("CROSSLINK_TEST_PG", "postgres://postgres@127.0.0.1:5432/test")

FULL = dict(clients=100, rounds=50, events=10_000, latency_requests=400, throughput_s=10, runs=3)
SMOKE = dict(clients=5, rounds=3, events=200, latency_requests=20, throughput_s=0.5, runs=1)


def say(message: str) -> None:
    print(f"[bench.team {time.strftime('%H:%M:%S')}] {message}", flush=True)


def new_repo(parent: Path, name: str) -> Path:
    root = parent / name
    root.mkdir(parents=True)
    subprocess.run(["git", "init", "-q", "-b", "main", str(root)], check=True)
    return root


def serve(repo: Path, log: Path, *extra: str, cpu: int | None = None, tree: Path | None = None) -> servers.Server:
    """``crosslink serve`` (from ``tree`` instead of this one when given)."""
    port = servers.free_port()
    arguments = ["serve", "--repo", str(repo), "--port", str(port), "--no-autoload", "--log-level", "warning",
                 "--plugins", "issues,locks,sessions", *extra]
    if tree is None:
        command, env = [str(servers.BIN / "crosslink"), *arguments], None
    else:  # the other tree's kernel and plugins, ahead of this one's on the path
        program = "import sys; from kernel.cli import main; sys.argv[0] = 'crosslink'; main()"
        command, env = [str(servers.BIN / "python"), "-c", program, *arguments], {"PYTHONPATH": str(tree)}
    return servers.start(f"crosslink:{port}", command, port, log, cpu=cpu, env=env)


class PgDatabase:
    """A scratch PostgreSQL database for one measurement."""

    def __init__(self) -> None:
        self.name = f"crosslink_bench_{uuid.uuid4().hex[:8]}"
        self.url = f"{PG_ADMIN.rsplit('/', 1)[0]}/{self.name}"

    async def __aenter__(self) -> PgDatabase:
        import asyncpg

        admin = await asyncpg.connect(PG_ADMIN)
        await admin.execute(f'CREATE DATABASE "{self.name}"')
        await admin.close()
        return self

    async def __aexit__(self, *exc) -> None:
        import asyncpg

        admin = await asyncpg.connect(PG_ADMIN)
        await admin.execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')
        await admin.close()


async def cross_instance(work: Path, plan: dict, backend: str) -> dict:
    repo = new_repo(work, f"team-{backend}")
    database = PgDatabase() if backend == "postgres" else None
    extra = ("--db", database.url) if database else ()
    if database:
        await database.__aenter__()
    try:
        with serve(repo, work / "logs" / f"team-{backend}-a.log", *extra) as a, \
                serve(repo, work / "logs" / f"team-{backend}-b.log", *extra) as b:
            result = await fanout.run(
                b.url, post("/api/v1/issues", {"title": "team"}), subscribers=plan["clients"],
                rounds=plan["rounds"], mutate_url=a.url,
            )
    finally:
        if database:
            await database.__aexit__(None, None, None)
    return {"backend": backend, **result.as_dict()}


def post_latency(url: str, count: int) -> list[float]:
    import httpx

    times = []
    with httpx.Client(base_url=url, timeout=30) as client:
        for n in range(count):
            began = time.perf_counter()
            answer = client.post("/api/v1/issues", json={"title": f"outbox {n}", "description": "measured"})
            times.append((time.perf_counter() - began) * 1000)
            assert answer.status_code == 201, answer.text
    return sorted(times)


def outbox_cost(work: Path, plan: dict, base: str) -> dict:
    tree = work / "base-tree"
    subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "-q", "--detach", str(tree), base], check=True)
    try:
        figures = {}
        for label, source in (("without", tree), ("with", None)):
            repo = new_repo(work, f"outbox-{label}")
            with serve(repo, work / "logs" / f"outbox-{label}.log", cpu=0, tree=source) as server:
                post_latency(server.url, max(5, plan["latency_requests"] // 10))  # warm up
                latencies = post_latency(server.url, plan["latency_requests"])
                requests = [post("/api/v1/issues", {"title": f"load {n}"}) for n in range(200)]
                runs = [load.run("wrk" if load.wrk_available() and plan["runs"] > 1 else "python", server.url,
                                 requests, connections=8, duration=plan["throughput_s"], expect=201, cpu=1)
                        for _ in range(plan["runs"])]
            figures[label] = {
                "p50_ms": latencies[len(latencies) // 2],
                "p99_ms": latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))],
                "req_s": median(r.requests / r.seconds for r in runs),
            }
        figures["p50_ratio"] = figures["with"]["p50_ms"] / figures["without"]["p50_ms"]
        figures["throughput_ratio"] = figures["with"]["req_s"] / figures["without"]["req_s"]
        figures["base"] = base
        return figures
    finally:
        subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(tree)], check=False)


async def resume(work: Path, plan: dict) -> dict:
    import httpx
    import websockets

    repo = new_repo(work, "resume")
    with serve(repo, work / "logs" / "resume.log") as server:
        async with httpx.AsyncClient(base_url=server.url, timeout=60,
                                     limits=httpx.Limits(max_connections=16)) as client:
            since = (await client.get("/api/v1/events/log")).json()["last_id"]
            pending = iter(range(plan["events"]))

            async def writer() -> None:
                for n in pending:
                    answer = await client.post("/api/v1/issues", json={"title": f"missed {n}"})
                    assert answer.status_code == 201

            await asyncio.gather(*(writer() for _ in range(16)))
        url = server.url.replace("http://", "ws://") + f"/ws?since={since}&channels=issues"
        began = time.perf_counter()
        replayed = 0
        async with websockets.connect(url, max_size=2**22) as ws:
            while True:
                message = json.loads(await ws.recv())
                if message["type"] == "issue_updated":
                    replayed += 1
                elif message["type"] == "resumed":
                    break
        seconds = time.perf_counter() - began
    return {"events": plan["events"], "replayed": replayed, "seconds": seconds}


def table(results: dict) -> str:
    rows = [("measurement", "figure", "target")]
    for item in results["cross_instance"]:
        rows.append((f"write on A -> {item['subscribers']} clients on B ({item['backend']})",
                     f"p50 {item['sent_p50_ms']:.1f} ms, p99 {item['sent_p99_ms']:.1f} ms, missing {item['missing']}",
                     "p99 <= 50 ms" if item["backend"] == "postgres" else "-"))
    cost = results.get("outbox")
    if cost:
        rows.append(("POST /issues p50, with / without the outbox",
                     f"{cost['with']['p50_ms']:.2f} / {cost['without']['p50_ms']:.2f} ms "
                     f"(x{cost['p50_ratio']:.3f})", "<= x1.10"))
        rows.append(("POST /issues req/s (8 connections), with / without",
                     f"{cost['with']['req_s']:.0f} / {cost['without']['req_s']:.0f} "
                     f"(x{cost['throughput_ratio']:.3f})", ">= x0.90"))
    item = results["resume"]
    rows.append((f"resume after {item['events']} missed events", f"{item['seconds'] * 1000:.0f} ms "
                 f"({item['replayed']} replayed)", "<= 1000 ms"))
    widths = [max(len(r[i]) for r in rows) for i in range(3)]
    return "\n".join("  ".join(cell.ljust(width) for cell, width in zip(row, widths)) for row in rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="tiny figures, seconds")
    parser.add_argument("--base", default=BASE_COMMIT, help="the commit without the outbox")
    parser.add_argument("--no-outbox", action="store_true", help="skip the with/without comparison")
    args = parser.parse_args()
    plan = SMOKE if args.smoke else FULL
    work = Path(tempfile.mkdtemp(prefix="bench-team-"))
    try:
        results: dict = {"cross_instance": []}
        for backend in ("postgres", "sqlite"):
            say(f"cross-instance delivery on {backend}")
            results["cross_instance"].append(asyncio.run(cross_instance(work, plan, backend)))
        if not args.no_outbox:
            say(f"outbox cost against {args.base}")
            results["outbox"] = outbox_cost(work, plan, args.base)
        say(f"resume of {plan['events']} events")
        results["resume"] = asyncio.run(resume(work, plan))
        RESULTS.mkdir(parents=True, exist_ok=True)
        (RESULTS / ("team-smoke.json" if args.smoke else "team.json")).write_text(json.dumps(results, indent=2))
        print(table(results))
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
