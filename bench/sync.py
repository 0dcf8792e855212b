"""Hub sync latency: ``POST /sync/fetch`` and ``POST /sync/push`` next to the same git work run bare.

``python -m bench.sync`` (full: 30 rounds, writes its section of ``BENCHMARKS.md``) or
``python -m bench.sync --smoke`` (3 rounds, prints only; ``tests/test_bench_smoke.py`` runs it).

Two identical worlds are built in a temporary directory, each a bare remote on disk with two
clones (machine A, which pushes new hub commits, and machine B, which fetches and pushes):

* **server**: machine B runs ``crosslink serve`` (every built-in plugin, pinned to CPU 0 like the
  other benchmarks); a round is timed from the HTTP request to the response;
* **bare git**: machine B's checkout is driven with the git commands the crosslink CLI runs for
  the same step (``SyncManager::fetch``: ``status --porcelain``, ``fetch <remote> crosslink/hub``,
  ``log <remote>/crosslink/hub..HEAD``, ``reset --hard``; push: the same fetch steps, then
  ``push <remote> crosslink/hub``), each a subprocess, timed from the first to the last.

Each fetch round first has machine A commit a heartbeat (as the CLI writes it) and push it, so
every fetch brings exactly one new commit; each push round first commits one heartbeat on
machine B. The worlds alternate round by round so that drift in the machine's speed hits both.
The target is the server's median at most 1.5 times bare git's.
"""

from __future__ import annotations

import argparse
import http.client
import json
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from statistics import median, quantiles

from . import servers
from .sections import markers, publish

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
BENCHMARKS = ROOT / "BENCHMARKS.md"
SECTION_START, SECTION_END = markers("sync")
TARGET_RATIO = 1.5
SERVER_CPU = None  # unpinned, like the bare git it is compared with (git runs as its child)
HUB = "crosslink/hub"


def git(cwd: Path, *args: str) -> str:
    done = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"git {' '.join(args)} in {cwd}: {done.stderr.strip()}")
    return done.stdout


@dataclass
class World:
    """A bare remote, machine A (pushes) and machine B (fetches and pushes) with hub checkouts."""

    remote: Path
    a: Path
    b: Path
    beats: int = 0

    @staticmethod
    def build(base: Path) -> World:
        base.mkdir(parents=True)
        remote, a, b = base / "remote.git", base / "a", base / "b"
        git(base, "init", "-q", "--bare", "-b", "main", str(remote))
        for machine in (a, b):
            git(base, "init", "-q", "-b", "main", str(machine))
            git(machine, "config", "user.email", f"{machine.name}@bench")
            git(machine, "config", "user.name", machine.name)
            git(machine, "remote", "add", "origin", str(remote))
        git(a, "commit", "-q", "--allow-empty", "-m", "project")
        git(a, "push", "-q", "origin", "main")
        hub = a / ".crosslink" / ".hub-cache"
        hub.parent.mkdir(parents=True)
        git(a, "worktree", "add", "-q", "--detach", str(hub))
        git(hub, "checkout", "-q", "--orphan", HUB)
        git(hub, "rm", "-rfq", "--ignore-unmatch", ".")
        (hub / ".gitignore").write_text(".hub-write-lock\n")
        (hub / "meta").mkdir()
        (hub / "meta" / "version.json").write_text('{\n  "layout_version": 2\n}')
        git(hub, "add", "-A")
        git(hub, "commit", "-q", "-m", "Initialize crosslink/hub branch")
        git(hub, "push", "-q", "origin", HUB)
        git(b, "fetch", "-q", "origin")
        (b / ".crosslink").mkdir()
        git(b, "worktree", "add", "-q", "-b", HUB, str(b / ".crosslink" / ".hub-cache"), f"origin/{HUB}")
        return World(remote, a, b)

    def hub(self, machine: Path) -> Path:
        return machine / ".crosslink" / ".hub-cache"

    def heartbeat(self, machine: Path, push: bool) -> None:
        """A V1 heartbeat written and committed as the CLI does (and pushed by machine A)."""
        self.beats += 1
        agent = f"{machine.name}-agent"
        moment = datetime(2026, 3, 10, tzinfo=UTC) + timedelta(seconds=self.beats)
        hub = self.hub(machine)
        if push:  # machine A first takes what B pushed (it never has commits of its own left)
            git(hub, "fetch", "-q", "origin", HUB)
            git(hub, "reset", "-q", "--hard", f"origin/{HUB}")
        (hub / "heartbeats").mkdir(exist_ok=True)
        (hub / "heartbeats" / f"{agent}.json").write_text(json.dumps({
            "agent_id": agent, "last_heartbeat": moment.strftime("%Y-%m-%dT%H:%M:%S.000Z"), "machine_id": machine.name,
        }, indent=2))
        git(hub, "add", "-A")
        git(hub, "commit", "-q", "-m", f"heartbeat: {agent} at {moment.strftime('%Y-%m-%dT%H:%M:%SZ')}")
        if push:
            git(hub, "push", "-q", "origin", HUB)


def bare_fetch(world: World) -> float:
    """The CLI's fetch of the hub, command by command; seconds."""
    hub = world.hub(world.b)
    began = time.perf_counter()
    git(hub, "status", "--porcelain")
    git(hub, "fetch", "-q", "origin", HUB)
    if git(hub, "log", f"origin/{HUB}..HEAD", "--oneline").strip():
        git(hub, "rebase", "-q", f"origin/{HUB}")
    else:
        git(hub, "reset", "-q", "--hard", f"origin/{HUB}")
    return time.perf_counter() - began


def bare_push(world: World) -> float:
    """The CLI's fetch, then ``git push <remote> crosslink/hub``; seconds."""
    hub = world.hub(world.b)
    began = time.perf_counter()
    git(hub, "status", "--porcelain")
    git(hub, "fetch", "-q", "origin", HUB)
    git(hub, "log", f"origin/{HUB}..HEAD", "--oneline")
    git(hub, "push", "-q", "origin", HUB)
    return time.perf_counter() - began


def server_call(port: int, path: str) -> float:
    """One ``POST path`` to the server; seconds (it must answer 200)."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    began = time.perf_counter()
    connection.request("POST", path, body=b"{}", headers={"Content-Type": "application/json"})
    response = connection.getresponse()
    body = response.read()
    took = time.perf_counter() - began
    connection.close()
    if response.status != 200:
        raise RuntimeError(f"POST {path} answered {response.status}: {body[:500]!r}")
    return took


def figures(samples: list[float]) -> dict:
    ms = sorted(s * 1000 for s in samples)
    p90 = quantiles(ms, n=10)[-1] if len(ms) >= 2 else ms[0]
    return {"p50_ms": median(ms), "p90_ms": p90, "min_ms": ms[0], "runs": len(ms)}


def measure(workdir: Path, rounds: int, say=print) -> list[dict]:
    """Build the two worlds, run ``rounds`` fetch and push rounds in each; the figures."""
    served, bare = World.build(workdir / "server"), World.build(workdir / "bare")
    log = workdir / "serve.log"
    port = servers.free_port()
    command = [str(servers.BIN / "crosslink"), "serve", "--repo", str(served.b), "--port", str(port),
               "--no-autoload", "--log-level", "warning"]
    samples: dict[str, list[float]] = {"fetch": [], "fetch-bare": [], "push": [], "push-bare": []}
    with servers.start("crosslink", command, port, log, cpu=SERVER_CPU):
        server_call(port, "/api/v1/sync/fetch")  # warm: first imports, first scans
        bare_fetch(bare)
        for round_ in range(rounds):
            for world in (served, bare) if round_ % 2 == 0 else (bare, served):
                world.heartbeat(world.a, push=True)
                if world is served:
                    samples["fetch"].append(server_call(port, "/api/v1/sync/fetch"))
                else:
                    samples["fetch-bare"].append(bare_fetch(world))
            for world in (served, bare) if round_ % 2 == 0 else (bare, served):
                world.heartbeat(world.b, push=False)
                if world is served:
                    samples["push"].append(server_call(port, "/api/v1/sync/push"))
                else:
                    samples["push-bare"].append(bare_push(world))
        say(f"{rounds} rounds of fetch and push in each world")
    rows = []
    for name, detail in (("fetch", "POST /api/v1/sync/fetch, one new hub commit on the remote"),
                         ("push", "POST /api/v1/sync/push, one local hub commit")):
        served_figures, bare_figures = figures(samples[name]), figures(samples[f"{name}-bare"])
        rows.append({
            "name": name,
            "detail": detail,
            "server": served_figures,
            "bare": bare_figures,
            "ratio": served_figures["p50_ms"] / bare_figures["p50_ms"],
        })
    return rows


def console(rows: list[dict]) -> str:
    lines = [f"{'measurement':<14} {'server p50':>11} {'p90':>8} {'bare git p50':>13} {'p90':>8} {'ratio':>6}  target"]
    for row in rows:
        s, b = row["server"], row["bare"]
        verdict = "ok" if row["ratio"] <= TARGET_RATIO else "MISSED"
        lines.append(f"sync {row['name']:<9} {s['p50_ms']:>9.1f}ms {s['p90_ms']:>6.1f}ms {b['p50_ms']:>11.1f}ms "
                     f"{b['p90_ms']:>6.1f}ms {row['ratio']:>5.2f}x  <= {TARGET_RATIO}x {verdict}")
    return "\n".join(lines)


def load_average() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def markdown(rows: list[dict], command: str, when: str, commit: str, load: str = "?") -> str:
    body = [
        SECTION_START,
        "## Hub sync (`python -m bench.sync`)",
        "",
        (f"Run of {when} on commit {commit} (`{command}`). A bare remote on disk, machine A pushing one "
         "heartbeat commit before each fetch round, machine B fetching and pushing through `crosslink serve` "
         "(every plugin) or with the same git commands the CLI runs, bare. Medians of "
         f"{rows[0]['server']['runs']} rounds; target: the server within {TARGET_RATIO}× of bare git. Load "
         f"average (1, 5, 15 min) before and after: {load}; the machine is shared, so the ratio, both sides "
         "measured in the same run, is the figure to compare across runs."),
        "",
        "| measurement | server p50 | server p90 | bare git p50 | bare git p90 | ratio | target |",
        "|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        s, b = row["server"], row["bare"]
        verdict = "met" if row["ratio"] <= TARGET_RATIO else "missed"
        body.append(f"| {row['detail']} | {s['p50_ms']:.1f} ms | {s['p90_ms']:.1f} ms | {b['p50_ms']:.1f} ms | "
                    f"{b['p90_ms']:.1f} ms | {row['ratio']:.2f}× | ≤ {TARGET_RATIO}×: {verdict} |")
    body += ["", SECTION_END]
    return "\n".join(body)








def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.sync", description=__doc__.split("\n")[0])
    parser.add_argument("--smoke", action="store_true", help="3 rounds, print only")
    parser.add_argument("--rounds", type=int, help="fetch and push rounds in each world (full: 30)")
    parser.add_argument("--out", type=Path, help="markdown file whose sync section is written (full: BENCHMARKS.md)")
    args = parser.parse_args(argv)
    rounds = args.rounds or (3 if args.smoke else 30)
    out = args.out if args.out else (None if args.smoke else BENCHMARKS)
    workdir = Path(tempfile.mkdtemp(prefix="bench-sync-"))
    load_before = load_average()
    began = time.perf_counter()
    try:
        rows = measure(workdir, rounds, say=lambda m: print(f"[bench.sync {time.strftime('%H:%M:%S')}] {m}", flush=True))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    print()
    print(console(rows))
    print(f"\n{len(rows)} measurements in {time.perf_counter() - began:.0f} s")
    if out:
        shown = " ".join(sys.argv[1:] if argv is None else argv)
        when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
        commit = git(ROOT, "rev-parse", "--short", "HEAD").strip()
        section = markdown(rows, f"python -m bench.sync {shown}".strip(), when, commit,
                           f"{load_before} / {load_average()}")
        publish(out, "sync", section, RESULTS, {"when": when, "commit": commit, "rows": rows})
        print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
