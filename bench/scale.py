"""The scale curve: ``python -m bench.scale`` (``make bench-scale``).

Generates 10k, 100k and 1M issues (``bench/generate.py``: comments, labels and dependencies in
the same proportions at every size), serves each with ``crosslink serve`` pinned to CPU 0 and
measures, with one connection (wrk on CPU 1): get-by-id, ready, blocked, search (common, medium
and rare words), create issue and add comment, p50 and p99, then prints the figures with their
growth factor per 10× of data (``(b / a) ** (1 / log10(size_b / size_a))`` between neighbouring
sizes) and writes them into BENCHMARKS.md's scale section. ``--sizes`` picks the sizes (1M takes
a long time to generate: see BENCHMARKS.md), ``--postgres`` repeats each size on PostgreSQL.
"""

from __future__ import annotations

import argparse
import math
import random
import shutil
import sys
import tempfile
import time
from pathlib import Path

from . import load, servers
from . import postgres as pg
from .__main__ import LOAD_CPU, SERVER_CPU, Bench, restore, scenarios
from .generate import generate
from .load import get
from .report import Results, machine, num, size_name
from .sections import markers, replace_section

ROOT = Path(__file__).resolve().parent.parent
BENCHMARKS = ROOT / "BENCHMARKS.md"
SECTION_START, SECTION_END = markers("scale")
MEASURED = ("get by id", "ready", "blocked", "search, common word", "search, medium word", "search, rare word",
            "create issue", "add comment")
#: The goal: no figure grows more than this per 10× of data.
GROWTH_GOAL = 2.0


def _measure(bench: Bench, n: int, repo: Path, pristine: Path, manifest: dict, db_fresh, label: str) -> dict:
    """p50/p99 of each ``MEASURED`` scenario on one size, on one database."""
    figures: dict[str, dict] = {}
    chosen = {s.name: s for s in scenarios(manifest, bench.plan["runs"])}
    rng = random.Random(1)
    ids = rng.sample(range(1, n + 1), min(n, 5000))
    with servers.crosslink(repo, bench.logs / f"scale-{label}-{n}.log", cpu=SERVER_CPU, db=db_fresh()) as server:
        bench.server = server
        figures["get by id"] = bench.load(server.url, lambda run: [get(f"/api/v1/issues/{i}") for i in ids],
                                          connections=1, duration=bench.plan["latency_s"], warmup=0.5)
        for name in MEASURED[1:6]:
            scenario = chosen[name]
            figures[name] = bench.load(server.url, scenario.requests_for, connections=1,
                                       duration=bench.plan["latency_s"], warmup=0.5)
    for name in MEASURED[6:]:
        scenario = chosen[name]
        with servers.crosslink(repo, bench.logs / f"scale-{label}-{n}-w.log", cpu=SERVER_CPU, db=db_fresh()) as server:
            bench.server = server
            figures[name] = bench.load(server.url, scenario.requests_for, connections=1,
                                       duration=bench.plan["latency_s"], expect=scenario.expect, warmup=0.5)
    bench.server = None
    for name, f in figures.items():
        bench.say(f"{label} {size_name(n)} {name}: p50 {num(f['p50_ms'])} ms, p99 {num(f['p99_ms'])} ms")
    return figures


def growth(sizes: list[int], values: list[float | None]) -> list[float | None]:
    """The growth factor per 10× of data between each size and the previous one."""
    out: list[float | None] = [None]
    for (a, va), (b, vb) in zip(zip(sizes, values), zip(sizes[1:], values[1:])):
        if not va or not vb:
            out.append(None)
            continue
        out.append((vb / va) ** (1 / math.log10(b / a)))
    return out


def table(sizes: list[int], measured: dict[str, dict[int, dict]], label: str) -> str:
    """One markdown table: each scenario's p50/p99 per size and the growth per 10×."""
    headers = ["scenario (" + label + ")"]
    for i, n in enumerate(sizes):
        headers += [f"p50 {size_name(n)}", f"p99 {size_name(n)}"]
        if i:
            headers += ["p50 ×/10×"]
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    for name in MEASURED:
        p50 = [measured.get(n, {}).get(name, {}).get("p50_ms") for n in sizes]
        factors = growth(sizes, p50)
        cells = [name]
        for i, n in enumerate(sizes):
            f = measured.get(n, {}).get(name, {})
            cells += [num(f.get("p50_ms")), num(f.get("p99_ms"))]
            if i:
                factor = factors[i]
                cells.append("-" if factor is None else
                             (f"**{factor:.2f}×**" if factor > GROWTH_GOAL else f"{factor:.2f}×"))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def write_section(text: str, section: str) -> str:
    """``text`` with its scale section replaced by ``section`` (appended when absent)."""
    return replace_section(text, "scale", f"{SECTION_START}\n{section.strip()}\n{SECTION_END}")




def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.scale", description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="10000,100000,1000000", help="comma-separated issue counts")
    parser.add_argument("--seconds", type=float, default=3.0, help="seconds per latency run")
    parser.add_argument("--runs", type=int, default=1, help="runs per measurement (the median is kept)")
    parser.add_argument("--postgres", nargs="?", const=pg.DEFAULT_SERVER, metavar="URL",
                        help="also on PostgreSQL (default server " + pg.DEFAULT_SERVER + ")")
    parser.add_argument("--out", type=Path, default=BENCHMARKS, help="the markdown file whose scale section is written")
    parser.add_argument("--tool", choices=["wrk", "python"], default="wrk" if load.wrk_available() else "python")
    args = parser.parse_args(argv)
    sizes = sorted(int(s) for s in args.sizes.split(","))
    plan = dict(runs=args.runs, latency_s=args.seconds, warmup_s=0.5, tool=args.tool, seed=1)
    workdir = Path(tempfile.mkdtemp(prefix="bench-scale-"))
    bench = Bench(plan, workdir, Results(plan=plan, command="", machine={}))
    if hasattr(__import__("os"), "sched_setaffinity"):
        __import__("os").sched_setaffinity(0, {LOAD_CPU})
    measured: dict[str, dict[int, dict]] = {"SQLite": {}, "PostgreSQL": {}}
    generated: dict[int, str] = {}
    began = time.perf_counter()
    try:
        for n in sizes:
            repo = workdir / f"repo-{n}"
            bench.say(f"generating {n:,} issues")
            t0 = time.perf_counter()
            manifest = generate(repo, n, 1)
            generated[n] = f"{size_name(n)}: {time.perf_counter() - t0:.0f} s, {manifest['db_mib']:,.0f} MiB"
            pristine = workdir / f"pristine-{n}.db"
            shutil.copyfile(repo / ".crosslink" / "issues.db", pristine)
            measured["SQLite"][n] = _measure(bench, n, repo, pristine, manifest,
                                             lambda repo=repo, pristine=pristine: restore(repo, pristine), "sqlite")
            if args.postgres:
                scratch = pg.Scratch(args.postgres, n)
                try:
                    restore(repo, pristine)
                    scratch.load(repo / ".crosslink" / "issues.db", repo, bench.logs / f"scale-pg-copy-{n}.log")
                    measured["PostgreSQL"][n] = _measure(bench, n, repo, pristine, manifest, scratch.fresh, "postgres")
                finally:
                    scratch.drop()
            shutil.rmtree(repo, ignore_errors=True)
            pristine.unlink(missing_ok=True)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    m = machine()
    parts = ["## Scale: 10k → 100k → 1M", "",
             f"`python -m bench.scale --sizes {args.sizes} --seconds {args.seconds:g} --runs {args.runs}"
             f"{' --postgres' if args.postgres else ''}` at commit {m['commit']}, "
             f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; one connection, wrk on CPU 1, the server on "
             f"CPU 0; generation {'; '.join(generated.values())}. Growth per 10× of data: "
             f"`(p50 at 10n / p50 at n)`; **bold** where it exceeds {GROWTH_GOAL:g}×.", ""]
    for label, by_size in measured.items():
        if by_size:
            parts += [table(sizes, by_size, label), ""]
    section = "\n".join(parts)
    print(section)
    print(f"\n{time.perf_counter() - began:.0f} s")
    if args.out:
        args.out.write_text(write_section(args.out.read_text() if args.out.exists() else "", section))
        print(f"wrote the scale section of {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
