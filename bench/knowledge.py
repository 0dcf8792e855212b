"""Knowledge page writes, each one git commit on the ``crosslink/knowledge`` branch.

``python -m bench.knowledge`` (``--pages 100``, ``--smoke`` for 10) serves a new git repository
with ``crosslink serve`` (pinned to CPU 0), makes the knowledge worktree with a first page, then
times, one request at a time: ``POST /api/v1/knowledge`` for N new pages, then ``PATCH`` of each
(a new body). For scale, the least a commit of one page file costs is timed too: the same file
written and committed in a worktree of the same kind with bare git (``git add``, ``git commit
--quiet --no-verify -m ... -- <file>``, two processes, pinned to the server's CPU as the
server's own git processes are), so the ratio can be compared across machine states. Medians and 99th percentiles, in milliseconds.

The same function is the knowledge step of ``python -m bench`` (and of its smoke mode).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from statistics import median

import httpx

from . import servers
from .report import num

#: The identity bare git commits with (the server's fallback identity: no config read differs).
IDENTITY = ["-c", "user.name=crosslink", "-c", "user.email=crosslink@localhost"]


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(share * (len(ordered) - 1))))]


def figures_of(times_ms: list[float]) -> dict:
    return {"p50_ms": median(times_ms), "p99_ms": percentile(times_ms, 0.99), "count": len(times_ms)}


def page_body(n: int, revision: int) -> str:
    return f"# Finding {n}\n\nRevision {revision}: what the agent learnt about module {n}.\n" * 3


def through_server(repo: Path, log: Path, pages: int, cpu: int | None) -> dict[str, dict]:
    """Create ``pages`` pages, then update each, through ``crosslink serve`` on ``repo``."""
    created, updated = [], []
    with servers.crosslink(repo, log, cpu=cpu) as server, \
            httpx.Client(base_url=server.url + "/api/v1", timeout=60) as http:
        http.post("/knowledge", json={"slug": "warm-up", "title": "Warm-up"}).raise_for_status()
        for n in range(pages):
            began = time.perf_counter()
            answer = http.post("/knowledge", json={"slug": f"finding-{n}", "title": f"Finding {n}",
                                                   "content": page_body(n, 1), "tags": ["bench"]})
            created.append((time.perf_counter() - began) * 1000)
            answer.raise_for_status()
        for n in range(pages):
            began = time.perf_counter()
            answer = http.patch(f"/knowledge/finding-{n}", json={"content": page_body(n, 2)},
                                headers={"If-Match": "*"})
            updated.append((time.perf_counter() - began) * 1000)
            answer.raise_for_status()
    return {"create page": figures_of(created), "update page": figures_of(updated)}


def bare_git(workdir: Path, pages: int, cpu: int | None) -> dict:
    """The same commits with bare git in a worktree of a new repository's branch, the git
    processes pinned to ``cpu`` as the server's are (they inherit its pinning)."""
    repo, tree = workdir / "bare-repo", workdir / "bare-worktree"
    if cpu is not None and hasattr(os, "sched_setaffinity"):
        allowed = os.sched_getaffinity(0)
        os.sched_setaffinity(0, {cpu})
        try:
            return bare_git(workdir, pages, None)
        finally:
            os.sched_setaffinity(0, allowed)

    def git(cwd: Path, *args: str) -> None:
        subprocess.run(["git", *IDENTITY, *args], cwd=cwd, check=True, capture_output=True)

    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    git(repo, "commit", "--quiet", "--allow-empty", "-m", "root")
    git(repo, "worktree", "add", "--quiet", "-b", "pages", str(tree))
    times = []
    for n in range(pages):
        began = time.perf_counter()
        (tree / f"finding-{n}.md").write_text(page_body(n, 1))
        git(tree, "add", "--", f"finding-{n}.md")
        git(tree, "commit", "--quiet", "--no-verify", "-m", f"Add knowledge page: finding-{n}", "--", f"finding-{n}.md")
        times.append((time.perf_counter() - began) * 1000)
    return figures_of(times)


def measure(workdir: Path, pages: int, *, cpu: int | None = 0) -> dict[str, dict]:
    """Server figures for creating and updating ``pages`` pages, and bare git's for creating them."""
    repo = workdir / "knowledge"
    repo.mkdir(parents=True, exist_ok=True)
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    (workdir / "logs").mkdir(exist_ok=True)
    try:
        figures = through_server(repo, workdir / "logs" / "knowledge.log", pages, cpu)
        figures["bare git add + commit"] = bare_git(workdir, pages, cpu)
    finally:
        for path in (repo, workdir / "bare-repo", workdir / "bare-worktree"):
            shutil.rmtree(path, ignore_errors=True)
    bare = figures["bare git add + commit"]["p50_ms"]
    for name in ("create page", "update page"):
        figures[name]["ratio"] = figures[name]["p50_ms"] / bare if bare else None
    return figures


def describe(figures: dict[str, dict]) -> list[str]:
    """The figures in words."""
    lines = []
    for name, f in figures.items():
        ratio = f" ({f['ratio']:.2f}× bare git)" if f.get("ratio") else ""
        lines.append(f"{name}: p50 {num(f['p50_ms'])} ms, p99 {num(f['p99_ms'])} ms over {f['count']}{ratio}")
    return lines


def main(argv: list[str] | None = None) -> int:
    """``python -m bench.knowledge``."""
    parser = argparse.ArgumentParser(prog="python -m bench.knowledge", description=__doc__.split("\n")[0])
    parser.add_argument("--pages", type=int, default=100)
    parser.add_argument("--smoke", action="store_true", help="10 pages")
    args = parser.parse_args(argv)
    workdir = Path(tempfile.mkdtemp(prefix="bench-knowledge-"))
    try:
        figures = measure(workdir, 10 if args.smoke else args.pages)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    for line in describe(figures):
        print(line)
    target = 25.0
    created = figures["create page"]["p50_ms"]
    print(f"target: knowledge page create p50 <= {target:g} ms: {'met' if created <= target else 'MISSED'} "
          f"({created:.1f} ms)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
