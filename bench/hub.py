"""What the hub costs a write: ``POST /issues`` on a hub repository (commit and push to a bare remote
on disk) next to the same request without a hub (SQLite only), and the CLI's own git work bare.

``python -m bench.hub`` (full: 30 rounds, writes its section of ``BENCHMARKS.md``) or
``python -m bench.hub --smoke`` (3 rounds, prints only; ``tests/test_bench_smoke.py`` runs it).

Three worlds are built in a temporary directory:

* **hub**: a project with a bare remote and a V2 hub checkout (``crosslink/hub`` pushed to the
  remote), ``crosslink serve --plugins issues,sync`` on it: each ``POST /api/v1/issues`` writes the
  issue file and ``meta/counters.json``, commits, pushes, and hydrates SQLite before answering;
* **big hub**: the same, the hub already holding 2,000 CLI-written issues (half of them with a
  comment file): what a write costs as the hub grows;
* **no hub**: the same project without a hub checkout, the same server: SQLite only;
* **bare git**: the git commands the CLI's ``write_commit_push`` runs for one create on a clone
  with a hub (write the two files, ``git add``, ``git commit``, ``git push <remote> crosslink/hub``),
  each a subprocess: the floor any hub write pays.

Rounds alternate between the worlds so that drift in the machine's speed hits all of them.
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
import uuid
from datetime import UTC, datetime
from pathlib import Path
from statistics import median, quantiles

from . import servers
from .sections import markers, publish

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
BENCHMARKS = ROOT / "BENCHMARKS.md"
SECTION_START, SECTION_END = markers("hub")
HUB = "crosslink/hub"


def git(cwd: Path, *args: str) -> str:
    done = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"git {' '.join(args)} in {cwd}: {done.stderr.strip()}")
    return done.stdout


def seed_issues(checkout: Path, count: int) -> None:
    """``count`` V2 issue files as the CLI writes them (every other one with a comment file)."""
    stamp = "2026-03-10T03:15:00.123456789Z"
    for number in range(1, count + 1):
        issue_uuid = str(uuid.uuid4())
        directory = checkout / "issues" / issue_uuid
        (directory / "comments").mkdir(parents=True)
        (directory / "issue.json").write_text(json.dumps({
            "uuid": issue_uuid, "display_id": number, "title": f"seeded issue {number}", "status": "open",
            "priority": "medium", "created_by": "bench-cli", "created_at": stamp, "updated_at": stamp,
            "labels": ["seeded"]}, indent=2))
        if number % 2 == 0:
            comment_uuid = str(uuid.uuid4())
            (directory / "comments" / f"{comment_uuid}.json").write_text(json.dumps({
                "uuid": comment_uuid, "issue_uuid": issue_uuid, "author": "bench-cli", "content": "a comment",
                "created_at": stamp, "kind": "note"}, indent=2))
    (checkout / "meta" / "counters.json").write_text(json.dumps(
        {"next_display_id": count + 1, "next_comment_id": count // 2 + 1, "next_milestone_id": 1}, indent=2))


def project(base: Path, name: str, *, hub: bool, seeded: int = 0) -> Path:
    """A project clone of its own bare remote; with ``hub``, a V2 hub checkout pushed to it
    (holding ``seeded`` issues)."""
    remote, path = base / f"{name}.git", base / name
    git(base, "init", "-q", "--bare", "-b", "main", str(remote))
    git(base, "init", "-q", "-b", "main", str(path))
    git(path, "config", "user.email", f"{name}@bench")
    git(path, "config", "user.name", name)
    git(path, "remote", "add", "origin", str(remote))
    git(path, "commit", "-q", "--allow-empty", "-m", "project")
    git(path, "push", "-q", "origin", "main")
    (path / ".crosslink").mkdir()
    (path / ".crosslink" / "server.toml").write_text('[hub]\nagent_id = "bench-server"\n')
    if hub:
        checkout = path / ".crosslink" / ".hub-cache"
        git(path, "worktree", "add", "-q", "--detach", str(checkout))
        git(checkout, "checkout", "-q", "--orphan", HUB)
        git(checkout, "rm", "-rfq", "--ignore-unmatch", ".")
        (checkout / ".gitignore").write_text(".hub-write-lock\n")
        (checkout / "meta").mkdir()
        (checkout / "meta" / "version.json").write_text('{\n  "layout_version": 2\n}')
        seed_issues(checkout, seeded)
        git(checkout, "add", "-A")
        git(checkout, "commit", "-q", "-m", "Initialize crosslink/hub branch")
        git(checkout, "push", "-q", "origin", HUB)
    return path


class BareWriter:
    """The CLI's create, command by command, on a hub checkout."""

    def __init__(self, path: Path) -> None:
        self.hub = path / ".crosslink" / ".hub-cache"
        self.next_id = 1

    def create(self, title: str) -> float:
        began = time.perf_counter()
        issue_uuid = str(uuid.uuid4())
        now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        target = self.hub / "issues" / issue_uuid / "issue.json"
        target.parent.mkdir(parents=True)
        target.write_text(json.dumps({"uuid": issue_uuid, "display_id": self.next_id, "title": title,
                                      "status": "open", "priority": "medium", "created_by": "bench-cli",
                                      "created_at": now, "updated_at": now}, indent=2))
        self.next_id += 1
        counters = self.hub / "meta" / "counters.json"
        counters.write_text(json.dumps({"next_display_id": self.next_id, "next_comment_id": 1,
                                        "next_milestone_id": 1}, indent=2))
        git(self.hub, "add", "--", str(target.relative_to(self.hub)), "meta/counters.json")
        git(self.hub, "-c", "commit.gpgsign=false", "commit", "-q", "-m", f"bench-cli: create issue: {title} at {now}")
        git(self.hub, "push", "-q", "origin", HUB)
        return time.perf_counter() - began


def create(port: int, title: str) -> tuple[float, dict]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    body = json.dumps({"title": title}).encode()
    began = time.perf_counter()
    connection.request("POST", "/api/v1/issues", body=body, headers={"Content-Type": "application/json"})
    response = connection.getresponse()
    data = response.read()
    took = time.perf_counter() - began
    connection.close()
    if response.status != 201:
        raise RuntimeError(f"POST /api/v1/issues answered {response.status}: {data[:500]!r}")
    return took, json.loads(data)


def figures(samples: list[float]) -> dict:
    ms = sorted(s * 1000 for s in samples)
    p90 = quantiles(ms, n=10)[-1] if len(ms) >= 2 else ms[0]
    return {"p50_ms": median(ms), "p90_ms": p90, "min_ms": ms[0], "runs": len(ms)}


def command(path: Path, port: int) -> list[str]:
    return [str(servers.BIN / "crosslink"), "serve", "--repo", str(path), "--port", str(port), "--no-autoload",
            "--plugins", "issues,sync", "--log-level", "warning"]


def measure(workdir: Path, rounds: int, seeded: int, say=print) -> dict:
    with_hub = project(workdir, "hub", hub=True)
    big = project(workdir, "big", hub=True, seeded=seeded)
    without = project(workdir, "plain", hub=False)
    bare = BareWriter(project(workdir, "bare", hub=True))
    big_bare = BareWriter(project(workdir, "bigbare", hub=True, seeded=seeded))
    big_bare.next_id = seeded + 1
    say(f"worlds built ({seeded} issues in the big hubs)")
    samples: dict[str, list[float]] = {"hub": [], "big": [], "plain": [], "bare": [], "bigbare": []}
    ports = {name: servers.free_port() for name in ("hub", "big", "plain")}
    paths = {"hub": with_hub, "big": big, "plain": without}
    # unpinned, like the git it is compared with (git runs as the server's child)
    with servers.start("crosslink", command(paths["hub"], ports["hub"]), ports["hub"], workdir / "hub.log", cpu=None), \
            servers.start("crosslink", command(paths["big"], ports["big"]), ports["big"], workdir / "big.log",
                          cpu=None, timeout=300), \
            servers.start("crosslink", command(paths["plain"], ports["plain"]), ports["plain"], workdir / "plain.log",
                          cpu=None):
        for name in ("hub", "big", "plain"):  # first imports, the first hydration
            _, first = create(ports[name], "warm-up")
            if name != "plain" and first.get("hub") != "pushed":
                raise RuntimeError(f"the hub write did not push: {first}")
        bare.create("warm-up")
        big_bare.create("warm-up")
        for round_ in range(rounds):
            order = ["hub", "big", "plain", "bare", "bigbare"]
            order = order[round_ % 5:] + order[:round_ % 5]
            for world in order:
                title = f"round {round_}"
                if world == "bare":
                    took = bare.create(title)
                elif world == "bigbare":
                    took = big_bare.create(title)
                else:
                    took, answer = create(ports[world], title)
                    if world != "plain" and answer.get("hub") != "pushed":
                        raise RuntimeError(f"the hub write did not push: {answer}")
                samples[world].append(took)
        say(f"{rounds} creates in each world")
    pushed = git(workdir / "hub.git", "rev-list", "--count", HUB).strip()
    say(f"the hub remote holds {pushed} commits")
    return {name: figures(values) for name, values in samples.items()}


def console(rows: dict) -> str:
    hub, big, plain, bare = rows["hub"], rows["big"], rows["plain"], rows["bare"]
    lines = [f"{'measurement':<34} {'p50':>9} {'p90':>9}",
             f"{'POST /issues, hub (commit + push)':<34} {hub['p50_ms']:>7.1f}ms {hub['p90_ms']:>7.1f}ms",
             f"{'POST /issues, hub of ' + str(rows['seeded']) + ' issues':<34} {big['p50_ms']:>7.1f}ms "
             f"{big['p90_ms']:>7.1f}ms",
             f"{'POST /issues, no hub (SQLite)':<34} {plain['p50_ms']:>7.1f}ms {plain['p90_ms']:>7.1f}ms",
             f"{'bare git, the CLI create':<34} {bare['p50_ms']:>7.1f}ms {bare['p90_ms']:>7.1f}ms",
             f"{'bare git, on the big hub':<34} {rows['bigbare']['p50_ms']:>7.1f}ms "
             f"{rows['bigbare']['p90_ms']:>7.1f}ms",
             f"hub cost per create: {hub['p50_ms'] - plain['p50_ms']:.1f} ms at the median "
             f"({hub['p50_ms'] / bare['p50_ms']:.2f}x the bare git work)"]
    return "\n".join(lines)


def load_average() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def markdown(rows: dict, shown: str, when: str, commit: str, load: str) -> str:
    hub, big, plain, bare = rows["hub"], rows["big"], rows["plain"], rows["bare"]
    seeded = rows["seeded"]
    return "\n".join([
        SECTION_START,
        "## Issues through the hub (`python -m bench.hub`)",
        "",
        (f"Run of {when} on commit {commit} (`{shown}`). `crosslink serve --plugins issues,sync` on a project "
         "whose V2 hub is pushed to a bare remote on disk, next to the same server on the same project without "
         "a hub, and next to the git commands the CLI's `write_commit_push` runs for one create (files, `git add`, "
         f"`git commit`, `git push`), bare. Medians of {hub['runs']} creates each, rounds alternating. Load average "
         f"(1, 5, 15 min) before and after: {load}."),
        "",
        "| measurement | p50 | p90 |",
        "|---|---|---|",
        f"| POST /api/v1/issues, hub repository (issue file + counters, commit, push, hydration) | "
        f"{hub['p50_ms']:.1f} ms | {hub['p90_ms']:.1f} ms |",
        f"| the same, the hub already holding {seeded} issues ({seeded // 2} V2 comment files) | "
        f"{big['p50_ms']:.1f} ms | {big['p90_ms']:.1f} ms |",
        f"| POST /api/v1/issues, no hub (SQLite only) | {plain['p50_ms']:.1f} ms | {plain['p90_ms']:.1f} ms |",
        f"| bare git: the CLI's create (write, add, commit, push) | {bare['p50_ms']:.1f} ms | {bare['p90_ms']:.1f} ms |",
        f"| bare git: the same on the hub of {seeded} issues | {rows['bigbare']['p50_ms']:.1f} ms | "
        f"{rows['bigbare']['p90_ms']:.1f} ms |",
        "",
        (f"What the hub costs: about {hub['p50_ms'] - plain['p50_ms']:.0f} ms more per write at the median "
         f"({hub['p50_ms'] / plain['p50_ms']:.0f}× the SQLite-only write), nearly all of it git: the server's hub "
         f"write is {hub['p50_ms'] / bare['p50_ms']:.2f}× the bare git commands (its extra work: the CLI's write "
         "lock, the health check, reading the hub and the hydration). Every write to a hub repository is a commit "
         "and a push, as the CLI's are; a write still answers only after its push, so that the id it answers is the "
         "one every machine sees. With an unreachable remote the push fails fast and the write is an offline one. "
         f"The hub's size counts too: with {seeded} issues a write costs "
         f"{big['p50_ms'] - hub['p50_ms']:.0f} ms more than on a small hub ({big['p50_ms'] / rows['bigbare']['p50_ms']:.2f}× "
         "the bare git commands there, which slow down too: "
         f"{rows['bigbare']['p50_ms'] - bare['p50_ms']:.0f} ms), because each write reads the whole hub "
         "(file parses are cached; each file is still listed and stat-ed, twice: to prepare and to hydrate) and "
         "compares every shared row of SQLite with it, as the CLI rebuilds its whole cache after every write."),
        "",
        SECTION_END,
    ])






def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.hub", description=__doc__.split("\n")[0])
    parser.add_argument("--smoke", action="store_true", help="3 rounds, print only")
    parser.add_argument("--rounds", type=int, help="creates in each world (full: 30)")
    parser.add_argument("--seeded", type=int, help="issues in the big hub (full: 2000, smoke: 200)")
    parser.add_argument("--out", type=Path, help="markdown file whose hub section is written (full: BENCHMARKS.md)")
    args = parser.parse_args(argv)
    rounds = args.rounds or (3 if args.smoke else 30)
    seeded = args.seeded or (200 if args.smoke else 2000)
    out = args.out if args.out else (None if args.smoke else BENCHMARKS)
    workdir = Path(tempfile.mkdtemp(prefix="bench-hub-"))
    load_before = load_average()
    began = time.perf_counter()
    try:
        rows = measure(workdir, rounds, seeded,
                       say=lambda m: print(f"[bench.hub {time.strftime('%H:%M:%S')}] {m}", flush=True))
        rows["seeded"] = seeded
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    print()
    print(console(rows))
    print(f"\nmeasured in {time.perf_counter() - began:.0f} s")
    if out:
        shown = "python -m bench.hub " + " ".join(sys.argv[1:] if argv is None else argv)
        when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
        commit = git(ROOT, "rev-parse", "--short", "HEAD").strip()
        section = markdown(rows, shown.strip(), when, commit, f"{load_before} / {load_average()}")
        publish(out, "hub", section, RESULTS, {"when": when, "commit": commit, "rows": rows})
        print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
