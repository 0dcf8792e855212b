"""Profile one benchmark scenario: ``python -m bench.profile REPO "search, common word"``.

Starts ``crosslink serve`` on a generated repository (``python -m bench.generate REPO``) pinned
to CPU 0, replays the scenario with wrk on CPU 1, and samples the server with py-spy (from the
``bench`` extra); ``--db URL`` serves a PostgreSQL copy of the data instead. Prints the frames
that hold the most samples, inclusive and on top of the stack, and keeps the raw collapsed
stacks (``--keep``) for a flame graph.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import tempfile
import time
from collections import Counter
from pathlib import Path

from . import servers
from .__main__ import LOAD_CPU, SERVER_CPU, scenarios
from .load import get, lua_script


def throughput_scenarios(m: dict) -> dict[str, list]:
    n = m["issues"]
    return {
        "GET /issues/:id": [get(f"/api/v1/issues/{i}") for i in range(1, n + 1, max(1, n // 5000))],
        "GET /issues, filtered, 50 items": [get(f"/api/v1/issues?label={label}&limit=50") for label in m["labels"]],
    }


def summarise(raw: str, top: int) -> str:
    inclusive, leaf, total = Counter(), Counter(), 0
    for line in raw.splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack:
            continue
        samples = int(count)
        frames = stack.split(";")
        total += samples
        leaf[frames[-1]] += samples
        for frame in set(frames):
            inclusive[frame] += samples
    out = [f"{total} samples", "", "inclusive:"]
    out += [f"  {100 * c / total:5.1f} %  {f}" for f, c in inclusive.most_common(top)]
    out += ["", "on top of the stack (self):"]
    out += [f"  {100 * c / total:5.1f} %  {f}" for f, c in leaf.most_common(top)]
    return "\n".join(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("repo", type=Path)
    parser.add_argument("scenario")
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--keep", type=Path, help="write the raw collapsed stacks here")
    parser.add_argument("--db", metavar="URL", help="serve this PostgreSQL database (the repository's data copied "
                        "there with `crosslink db copy`) instead of the repository's SQLite file")
    args = parser.parse_args()
    manifest = json.loads((args.repo / "bench-manifest.json").read_text())
    found = {s.name: (s.requests_for(0), 1) for s in scenarios(manifest, 3)}
    found.update({name: (requests, 32) for name, requests in throughput_scenarios(manifest).items()})
    if args.scenario not in found:
        raise SystemExit(f"unknown scenario; one of: {', '.join(found)}")
    requests, connections = found[args.scenario]
    with tempfile.TemporaryDirectory(prefix="bench-profile-") as tmp:
        script = Path(tmp) / "scenario.lua"
        script.write_text(lua_script(requests))
        raw = Path(tmp) / "stacks.txt"
        with servers.crosslink(args.repo, Path(tmp) / "serve.log", cpu=SERVER_CPU, db=args.db) as server:
            wrk = subprocess.Popen(servers.pinned(["wrk", "-t1", f"-c{connections}", f"-d{args.seconds + 3}s",
                                                   "--timeout", "10s", "-s", str(script), server.url], LOAD_CPU),
                                   stdout=subprocess.PIPE, text=True)
            time.sleep(1)
            subprocess.run(servers.pinned([str(servers.BIN / "py-spy"), "record", "--pid", str(server.pid),
                                           "--duration", str(args.seconds), "--rate", "200", "--format", "raw",
                                           "--output", str(raw)], LOAD_CPU), check=True, capture_output=True)
            wrk.wait()
        print(summarise(raw.read_text(), args.top))
        if args.keep:
            args.keep.write_text(raw.read_text())


if __name__ == "__main__":
    main()
