"""Lock claim latency with and without a hub: ``POST /locks/:id/claim`` through ``crosslink serve``.

``python -m bench.locks`` (full: 30 claims per world, writes its section of ``BENCHMARKS.md``) or
``python -m bench.locks --smoke`` (3 claims, prints only).

Three worlds are built in a temporary directory, each served by ``crosslink serve`` (every
built-in plugin, unpinned like the sync benchmark, whose git runs as its child):

* **no hub**: a repository without ``.crosslink/.hub-cache``: the claim is one conditional write
  in SQLite (today's behaviour without a hub);
* **V1 hub** and **V2 hub**: the repository's hub checkout (``locks.json``; or lock events,
  compaction and ``locks/<id>.json``) with a bare remote on disk: the claim fetches the remote,
  writes the CLI's files, commits under the CLI's write lock and pushes.

Each round claims a new issue (one claim per issue: no 409s, no idempotent answers); the worlds
alternate round by round so that drift in the machine's speed hits all of them.
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
from datetime import UTC, datetime
from pathlib import Path

from . import servers
from .sections import markers, publish
from .sync import figures, load_average

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
BENCHMARKS = ROOT / "BENCHMARKS.md"
SECTION_START, SECTION_END = markers("locks")
HUB = "crosslink/hub"
WORLDS = (("none", "no hub (database only)"), ("v1", "V1 hub (locks.json), bare remote"),
          ("v2", "V2 hub (lock events + compaction), bare remote"))


def git(cwd: Path, *args: str) -> str:
    done = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"git {' '.join(args)} in {cwd}: {done.stderr.strip()}")
    return done.stdout


def build(base: Path, kind: str) -> Path:
    """A project repository; for ``v1``/``v2`` with a bare remote and a pushed hub checkout."""
    base.mkdir(parents=True)
    repo = base / "project"
    git(base, "init", "-q", "-b", "main", str(repo))
    git(repo, "config", "user.email", "bench@example.com")
    git(repo, "config", "user.name", "bench")
    git(repo, "commit", "-q", "--allow-empty", "-m", "project")
    if kind == "none":
        return repo
    remote = base / "remote.git"
    git(base, "init", "-q", "--bare", "-b", "main", str(remote))
    git(repo, "remote", "add", "origin", str(remote))
    git(repo, "push", "-q", "origin", "main")
    hub = repo / ".crosslink" / ".hub-cache"
    hub.parent.mkdir(parents=True)
    git(repo, "worktree", "add", "-q", "--detach", str(hub))
    git(hub, "checkout", "-q", "--orphan", HUB)
    git(hub, "rm", "-rfq", "--ignore-unmatch", ".")
    (hub / ".gitignore").write_text(".hub-write-lock\n")
    (hub / "locks.json").write_text(json.dumps({"version": 1, "locks": {},
                                                "settings": {"stale_lock_timeout_minutes": 60}}, indent=2))
    if kind == "v2":
        (hub / "meta").mkdir()
        (hub / "meta" / "version.json").write_text('{\n  "layout_version": 2\n}')
    git(hub, "add", "-A")
    git(hub, "commit", "-q", "-m", "Initialize crosslink/hub branch")
    git(hub, "push", "-q", "origin", HUB)
    return repo


def request(port: int, method: str, path: str, body: dict, expect: int) -> tuple[float, dict]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    payload = json.dumps(body).encode()
    began = time.perf_counter()
    connection.request(method, path, body=payload, headers={"Content-Type": "application/json"})
    response = connection.getresponse()
    data = response.read()
    took = time.perf_counter() - began
    connection.close()
    if response.status != expect:
        raise RuntimeError(f"{method} {path} answered {response.status}: {data[:500]!r}")
    return took, json.loads(data)


def measure(workdir: Path, rounds: int, say=print) -> list[dict]:
    """Serve each world, make ``rounds`` issues in it, claim each once; the figures."""
    started = []
    ports: dict[str, int] = {}
    samples: dict[str, list[float]] = {kind: [] for kind, _ in WORLDS}
    issues: dict[str, list[int]] = {}
    try:
        for kind, _ in WORLDS:
            repo = build(workdir / kind, kind)
            port = servers.free_port()
            command = [str(servers.BIN / "crosslink"), "serve", "--repo", str(repo), "--port", str(port),
                       "--no-autoload", "--log-level", "warning"]
            started.append(servers.start("crosslink", command, port, workdir / f"{kind}.log", cpu=None))
            ports[kind] = port
            issues[kind] = [request(port, "POST", "/api/v1/issues", {"title": f"work {n}"}, 201)[1]["id"]
                            for n in range(rounds + 1)]
            request(port, "POST", f"/api/v1/locks/{issues[kind].pop()}/claim", {"agent_id": "warm-up"}, 201)
        for round_ in range(rounds):
            order = list(WORLDS) if round_ % 2 == 0 else list(reversed(WORLDS))
            for kind, _ in order:
                took, answer = request(ports[kind], "POST", f"/api/v1/locks/{issues[kind][round_]}/claim",
                                       {"agent_id": "bench-agent"}, 201)
                if kind != "none" and not answer.get("hub", {}).get("pushed"):
                    raise RuntimeError(f"the {kind} claim was not pushed: {answer}")
                samples[kind].append(took)
        say(f"{rounds} claims in each world")
    finally:
        for server in started:
            server.stop()
    base = figures(samples["none"])["p50_ms"]
    rows = []
    for kind, detail in WORLDS:
        found = figures(samples[kind])
        rows.append({"name": kind, "detail": detail, "claim": found, "vs_no_hub": found["p50_ms"] / base})
    return rows


def console(rows: list[dict]) -> str:
    lines = [f"{'claim':<50} {'p50':>9} {'p90':>9} {'vs no hub':>10}"]
    for row in rows:
        c = row["claim"]
        lines.append(f"{row['detail']:<50} {c['p50_ms']:>7.1f}ms {c['p90_ms']:>7.1f}ms {row['vs_no_hub']:>9.1f}x")
    return "\n".join(lines)


def markdown(rows: list[dict], command: str, when: str, commit: str, load: str) -> str:
    body = [
        SECTION_START,
        "## Lock claims with and without a hub (`python -m bench.locks`)",
        "",
        (f"Run of {when} on commit {commit} (`{command}`). `POST /api/v1/locks/<new issue>/claim` through "
         "`crosslink serve` (every plugin); on a hub repository the claim fetches the bare remote on disk, "
         "writes the CLI's lock files, commits under the CLI's write lock and pushes before it answers. Medians "
         f"of {rows[0]['claim']['runs']} claims per world. Load average (1, 5, 15 min) before and after: {load}."),
        "",
        "| world | claim p50 | claim p90 | p50 vs no hub |",
        "|---|---|---|---|",
    ]
    for row in rows:
        c = row["claim"]
        body.append(f"| {row['detail']} | {c['p50_ms']:.1f} ms | {c['p90_ms']:.1f} ms | {row['vs_no_hub']:.1f}× |")
    found = {row["name"]: row["claim"]["p50_ms"] for row in rows}
    body += [
        "",
        (f"What the hub costs: a claim on a hub repository is {found['v1']:.0f} ms (V1) or {found['v2']:.0f} ms (V2) "
         f"at the median against {found['none']:.1f} ms with the database only, almost all of it git (the fetch of "
         "the remote, the commit and the push; the push alone is about half, even to a bare remote on the same disk); "
         "that is the price of a lock every CLI agent and every machine sees, and it is paid once per claim, "
         "release or steal. A remote across a network adds its round trips to the fetch and the push."),
        "",
        SECTION_END,
    ]
    return "\n".join(body)




def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.locks", description=__doc__.split("\n")[0])
    parser.add_argument("--smoke", action="store_true", help="3 claims per world, print only")
    parser.add_argument("--rounds", type=int, help="claims per world (full: 30)")
    parser.add_argument("--out", type=Path, help="markdown file whose locks section is written (full: BENCHMARKS.md)")
    args = parser.parse_args(argv)
    rounds = args.rounds or (3 if args.smoke else 30)
    out = args.out if args.out else (None if args.smoke else BENCHMARKS)
    workdir = Path(tempfile.mkdtemp(prefix="bench-locks-"))
    load_before = load_average()
    began = time.perf_counter()
    try:
        rows = measure(workdir, rounds, say=lambda m: print(f"[bench.locks {time.strftime('%H:%M:%S')}] {m}", flush=True))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    print()
    print(console(rows))
    print(f"\n{len(rows)} worlds in {time.perf_counter() - began:.0f} s")
    if out:
        shown = " ".join(sys.argv[1:] if argv is None else argv)
        when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
        commit = git(ROOT, "rev-parse", "--short", "HEAD").strip()
        section = markdown(rows, f"python -m bench.locks {shown}".strip(), when, commit,
                           f"{load_before} / {load_average()}")
        publish(out, "locks", section, RESULTS, {"when": when, "commit": commit, "rows": rows})
        print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
