"""The orchestrator's scheduling overhead: a plan of N stages whose command is ``true``.

``python -m bench.orchestrator`` (``--stages 100``, ``--smoke`` for 10) serves a new repository
with ``crosslink serve`` (pinned to CPU 0) configured with the ``command`` launcher and
``stage_command = ["true"]``, stores a plan of N independent stages (10 per phase), and times
``POST /orchestrator/execute`` until the ``execution_state: done`` event arrives on a WebSocket:

* with ``max_parallel = 1`` the stages run one after the other, so the time beyond the
  commands' own run time (each stage's ``run_seconds``: spawning the wrapper shell and ``true``
  until their exit is seen) is the orchestrator's: creating the tracking issues, marking stages
  running and done, closing issues and milestones, events, and deciding what runs next. That
  figure per stage is the one with the target (at most 20 ms);
* with ``max_parallel = 4``, the wall time per stage, for comparison.

The server's own CPU time per stage (``/proc/<pid>/stat``) is printed too: on a machine shared
with other work the wall time includes waiting for a core, the CPU time does not.

The same function is the orchestrator step of ``python -m bench`` (and of its smoke mode).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import websockets

from . import servers

PER_PHASE = 10


def make_plan(stages: int) -> dict:
    """A plan of ``stages`` independent stages, 10 per phase."""
    phases = []
    for start in range(0, stages, PER_PHASE):
        count = min(PER_PHASE, stages - start)
        phases.append({"title": f"Phase {len(phases) + 1}", "stages": [
            {"title": f"Stage {start + i + 1}", "tasks": ["run true"], "complexity_hours": 0.1} for i in range(count)]})
    return {"title": "Benchmark", "phases": phases}


def prepare(repo: Path, max_parallel: int) -> None:
    """A new repository whose server runs ``true`` for every stage."""
    repo.mkdir(parents=True, exist_ok=True)
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    config = repo / ".crosslink" / "server.toml"
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text(
        "[plugins.orchestrator]\n"
        'launcher = "command"\n'
        'stage_command = ["true"]\n'
        f"max_parallel = {max_parallel}\n"
        "poll_seconds = 5.0\n"
    )


def cpu_seconds(pid: int) -> tuple[float, float]:
    """CPU time of the process itself and of its reaped children (``/proc/<pid>/stat``)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    tick = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / tick, (int(fields[13]) + int(fields[14])) / tick


async def run_once(url: str, stages: int, pid: int | None = None) -> dict:
    """Store the plan, execute it, wait for done; the figures of this run."""
    async with httpx.AsyncClient(base_url=url + "/api/v1", timeout=300) as http:
        stored = await http.post("/orchestrator/plans", json=make_plan(stages))
        stored.raise_for_status()
        ws = await websockets.connect(url.replace("http://", "ws://") + "/ws", max_queue=None)
        try:
            await ws.recv()
            await ws.send(json.dumps({"type": "subscribe", "channels": ["execution"]}))
            while json.loads(await ws.recv())["type"] != "subscribed":
                pass
            cpu_before = cpu_seconds(pid) if pid else (0.0, 0.0)
            began = time.perf_counter()
            answer = await http.post("/orchestrator/execute", json={})
            answer.raise_for_status()
            set_up = time.perf_counter()
            execution_id = answer.json()["execution_id"]
            while True:
                event = json.loads(await asyncio.wait_for(ws.recv(), 600))
                if event["type"] == "execution_state" and event["execution_id"] == execution_id \
                        and event["state"] in ("done", "failed", "cancelled"):
                    break
            ended = time.perf_counter()
            cpu_after = cpu_seconds(pid) if pid else (0.0, 0.0)
        finally:
            await ws.close()
        status = (await http.get("/orchestrator/status")).json()
    if status["state"] != "done":
        raise RuntimeError(f"the execution ended {status['state']}: {status['message']}")
    run = sum(stage["run_seconds"] or 0.0 for stage in status["stages"])
    wall = ended - began
    return {
        "stages": stages,
        "wall_s": wall,
        "setup_s": set_up - began,
        "commands_s": run,
        "per_stage_ms": wall / stages * 1000,
        "overhead_ms": (wall - run) / stages * 1000,
        "setup_ms": (set_up - began) / stages * 1000,
        "command_ms": run / stages * 1000,
        "server_cpu_ms": (cpu_after[0] - cpu_before[0]) / stages * 1000,
        "commands_cpu_ms": (cpu_after[1] - cpu_before[1]) / stages * 1000,
    }


def measure(workdir: Path, stages: int, *, cpu: int | None = 0) -> dict[str, dict]:
    """Both runs (max_parallel 1 and 4), each on a new repository and server."""
    figures = {}
    for parallel in (1, 4):
        repo = workdir / f"orchestrator-{parallel}"
        prepare(repo, parallel)
        with servers.crosslink(repo, workdir / "logs" / f"orchestrator-{parallel}.log", cpu=cpu) as server:
            figures[parallel] = asyncio.run(run_once(server.url, stages, server.pid))
        shutil.rmtree(repo, ignore_errors=True)
    return figures


def describe(figures: dict[int, dict]) -> list[str]:
    """The figures in words."""
    one, four = figures[1], figures[4]
    return [
        f"{one['stages']} stages, max_parallel 1: execute -> done {one['wall_s']:.2f} s; beyond the commands' own "
        f"{one['commands_s']:.2f} s: {one['overhead_ms']:.1f} ms per stage (of which creating the tracking issues "
        f"{one['setup_ms']:.1f} ms); the command itself {one['command_ms']:.1f} ms per stage; the server's own CPU "
        f"time {one['server_cpu_ms']:.1f} ms per stage (the commands' {one['commands_cpu_ms']:.1f} ms)",
        f"{four['stages']} stages, max_parallel 4: execute -> done {four['wall_s']:.2f} s, {four['per_stage_ms']:.1f} ms "
        "per stage",
    ]


def main(argv: list[str] | None = None) -> int:
    """``python -m bench.orchestrator``."""
    parser = argparse.ArgumentParser(prog="python -m bench.orchestrator", description=__doc__.split("\n")[0])
    parser.add_argument("--stages", type=int, default=100)
    parser.add_argument("--smoke", action="store_true", help="10 stages")
    args = parser.parse_args(argv)
    stages = 10 if args.smoke else args.stages
    workdir = Path(tempfile.mkdtemp(prefix="bench-orchestrator-"))
    try:
        figures = measure(workdir, stages)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    for line in describe(figures):
        print(line)
    target = 20.0
    verdict = "met" if figures[1]["overhead_ms"] <= target else "MISSED"
    print(f"target: scheduling overhead <= {target:g} ms per stage: {verdict} ({figures[1]['overhead_ms']:.1f} ms)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
