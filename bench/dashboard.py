"""How long the dashboard's pages take to render on a big repository.

``python -m bench.dashboard`` generates a 100k-issue repository (``bench/generate.py``, seed 1),
serves it with ``crosslink serve`` pinned to CPU 0, and requests each page one at a time from
CPU 1: the overview and the issue list (the target: under 300 ms of server time each), and the
list's filters, deep paging, the ready view and an issue's detail. For every page it prints the
median and the slowest of the runs, of the server's own time (the page's ``Server-Timing:
app;dur=``, from the view's start to its rendered response) and of the whole request as the
client saw it. The first request of each page (cold caches) is reported apart and not counted.

``--smoke`` does the same on 300 issues with 2 runs each, in seconds (the test suite runs it);
``--repo DIR`` measures an existing repository (a generated one keeps its manifest).
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx

from . import servers
from .generate import MANIFEST, generate

TARGET_MS = 300.0
TARGETED = ("overview", "issues, open, page 1")
_TIMING = re.compile(r"app;dur=([0-9.]+)")


def pages(manifest: dict) -> list[tuple[str, str]]:
    """``(name, path)`` of every page measured."""
    label = manifest["labels"][0]
    word = manifest["search"]["medium"][0] if isinstance(manifest["search"], dict) else "fix"
    deep = max(1, manifest["issues"] * 30 // 100 // 50 // 2)  # half-way through the open issues
    return [
        ("overview", "/"),
        ("issues, open, page 1", "/issues"),
        ("issues, all statuses", "/issues?status=all"),
        (f"issues, label '{label}'", f"/issues?status=all&label={label}"),
        (f"issues, search '{word}'", f"/issues?status=all&search={word}"),
        (f"issues, page {deep}", f"/issues?page={deep}"),
        ("issues, ready", "/issues?view=ready"),
        ("issues, blocked", "/issues?view=blocked"),
        ("issue detail (100 descendants)", f"/issues/{manifest['tree_root']}"),
        ("milestones", "/milestones"),
        ("sessions", "/sessions"),
    ]


def measure(client: httpx.Client, path: str, runs: int) -> dict:
    """Server and client milliseconds of ``runs`` requests of ``path`` after a cold first one."""

    def once() -> tuple[float, float]:
        began = time.perf_counter()
        response = client.get(path)
        wall = (time.perf_counter() - began) * 1000
        if response.status_code != 200:
            raise RuntimeError(f"GET {path} answered {response.status_code}: {response.text[:300]}")
        match = _TIMING.search(response.headers.get("server-timing", ""))
        return (float(match.group(1)) if match else float("nan")), wall

    cold_server, cold_wall = once()
    samples = [once() for _ in range(runs)]
    server_ms = [s for s, _ in samples]
    wall_ms = [w for _, w in samples]
    return {
        "cold_server_ms": cold_server,
        "cold_wall_ms": cold_wall,
        "server_p50_ms": statistics.median(server_ms),
        "server_max_ms": max(server_ms),
        "wall_p50_ms": statistics.median(wall_ms),
        "wall_max_ms": max(wall_ms),
        "runs": runs,
    }


def table(results: list[tuple[str, str, dict]], n: int) -> str:
    lines = [
        f"dashboard pages on {n:,} issues (server: Server-Timing app;dur; client: whole request), ms",
        f"{'page':<36} {'server p50':>10} {'server max':>10} {'client p50':>10} {'cold server':>11}  target",
    ]
    for name, _path, figures in results:
        verdict = ""
        if name in TARGETED:
            verdict = f"< {TARGET_MS:.0f}: " + ("met" if figures["server_max_ms"] < TARGET_MS else "MISSED")
        lines.append(
            f"{name:<36} {figures['server_p50_ms']:>10.1f} {figures['server_max_ms']:>10.1f} "
            f"{figures['wall_p50_ms']:>10.1f} {figures['cold_server_ms']:>11.1f}  {verdict}"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--smoke", action="store_true", help="300 issues, 2 runs per page")
    parser.add_argument("--issues", type=int, default=None, help="issues to generate (default 100000)")
    parser.add_argument("--runs", type=int, default=None, help="timed requests per page (default 20)")
    parser.add_argument("--repo", type=Path, default=None, help="measure this repository instead of a new one")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here")
    args = parser.parse_args(argv)
    n = args.issues or (300 if args.smoke else 100_000)
    runs = args.runs or (2 if args.smoke else 20)

    workdir = Path(tempfile.mkdtemp(prefix="bench-dashboard-"))
    try:
        repo = args.repo
        if repo is None:
            repo = workdir / "repo"
            print(f"[bench] generating {n:,} issues (seed {args.seed}) in {repo}", flush=True)
            began = time.perf_counter()
            generate(repo, n, args.seed)
            print(f"[bench] generated in {time.perf_counter() - began:.0f} s", flush=True)
        manifest = json.loads((repo / MANIFEST).read_text())
        n = manifest["issues"]

        with servers.crosslink(repo, workdir / "serve.log", cpu=0) as server:
            print(f"[bench] crosslink serve started in {server.started_in:.1f} s", flush=True)
            with httpx.Client(base_url=server.url, timeout=120) as client:
                results = []
                for name, path in pages(manifest):
                    figures = measure(client, path, runs)
                    results.append((name, path, figures))
                    print(f"[bench] {name}: server p50 {figures['server_p50_ms']:.1f} ms", flush=True)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)  # the generated repository and the server's log
    print()
    print(table(results, n))
    if args.json:
        args.json.write_text(json.dumps([{"page": name, "path": path, **figures} for name, path, figures in results],
                                        indent=2))
    missed = [name for name, _, figures in results if name in TARGETED and figures["server_max_ms"] >= TARGET_MS]
    if missed and not args.smoke:
        print(f"\ntarget missed by: {', '.join(missed)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
