"""The benchmark suite's smoke mode runs end to end (``make bench-smoke``), so it never rots.

Only that it runs and prints its table is checked: speed is never asserted in tests.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.slow
def test_smoke_mode_prints_the_table_on_sqlite_and_postgresql():
    """``make bench-smoke`` with ``--postgres-sizes``: every section on SQLite, and the same
    scenarios on the data copied into a scratch PostgreSQL database, side by side in the table
    (the ``pg:`` rows). One run serves both checks; ``--seconds`` keeps each measurement brief."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("MAKELEVEL", None)
    done = subprocess.run([sys.executable, "-m", "bench", "--smoke", "--postgres-sizes", "300", "--seconds", "0.1"],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    out = done.stdout
    assert "measurement" in out and "targets:" in out, out[-3000:]
    for name in ("bare Quart hello (ceiling)", "GET /issues/:id", "GET /issues, filtered, 50 items",
                 "search, medium word", "ready", "blocked", "tree", "create issue", "add comment",
                 "add blocker, cycle refused", "WebSocket fan-out", "cold start", "idle RSS",
                 "orchestrator, 10 stages, 1 at a time", "orchestrator overhead per stage",
                 "create page", "update page", "bare git add + commit", "knowledge page create p50",
                 "summary, every row", "summary, last 24 hours", "record a batch of 100", "usage summary, every row",
                 "pg:latency", "pg:throughput", "pg:startup", "search, medium word p50 at 300, PostgreSQL"):
        assert name in out, f"{name!r} missing from the table:\n{out[-3000:]}"


@pytest.mark.slow
def test_sync_smoke_mode_prints_its_table():
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-m", "bench.sync", "--smoke"], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    out = done.stdout
    for name in ("sync fetch", "sync push", "server p50", "bare git p50", "ratio"):
        assert name in out, f"{name!r} missing from the table:\n{out[-3000:]}"


def test_module_sections_are_replaced_and_kept_when_the_main_report_is_rewritten():
    """Each bench module writes its own section of BENCHMARKS.md; a rewrite of the main report
    keeps every one of them (bench.sections)."""
    from bench.sections import carry_sections, markers, replace_section

    def section(name: str, text: str) -> str:
        start, end = markers(name)
        return f"{start}\n{text}\n{end}"

    old = replace_section("# Benchmarks\n\nold tables\n", "sync", section("sync", "sync figures"))
    old = replace_section(old, "hub", section("hub", "hub figures"))
    new = carry_sections(old, "# Benchmarks\n\nnew tables\n")
    assert new.startswith("# Benchmarks\n\nnew tables") and "old tables" not in new
    assert new.count(markers("sync")[0]) == 1 and "sync figures" in new and "hub figures" in new
    again = replace_section(new, "sync", section("sync", "newer"))
    assert "sync figures" not in again and "newer" in again and "hub figures" in again



@pytest.mark.slow
def test_usage_smoke_mode_prints_its_figures():
    """``python -m bench.usage --smoke``: 2,000 CLI rows, every scenario once, p50/p99 printed."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-m", "bench.usage", "--smoke"], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    out = done.stdout
    for name in ("summary, every row", "summary by day, every row", "summary, last 24 hours", "summary, random spans",
                 "summary, one agent's month", "list, newest 50", "list, one agent's week", "record one",
                 "record a batch of 100"):
        assert name in out, f"{name!r} missing:\n{out[-3000:]}"
    assert "p50 ms" in out and "target: summary, every row p50 <= 20 ms at 2,000 rows" in out, out[-3000:]


def test_generator_is_reproducible_from_its_seed(tmp_path):
    from bench.generate import generate

    first = generate(tmp_path / "a", 60, seed=7)
    again = generate(tmp_path / "b", 60, seed=7)
    other = generate(tmp_path / "c", 60, seed=8)
    assert first["digest"] == again["digest"] != other["digest"]
    assert first["counts"]["issues"] == 60 and first["counts"]["comments"] > 0


@pytest.mark.slow
def test_dashboard_benchmark_smoke_mode_prints_its_table():
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-m", "bench.dashboard", "--smoke"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    out = done.stdout
    assert "dashboard pages on 300 issues" in out, out[-3000:]
    for name in ("overview", "issues, open, page 1", "issues, ready", "issue detail (100 descendants)"):
        assert name in out, f"{name!r} missing from the table:\n{out[-3000:]}"


@pytest.mark.slow
def test_the_orchestrator_benchmark_runs_alone():
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-m", "bench.orchestrator", "--smoke"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "10 stages, max_parallel 1: execute -> done" in done.stdout and "ms per stage" in done.stdout
    assert "target: scheduling overhead <= 20 ms per stage" in done.stdout


@pytest.mark.slow
def test_locks_smoke_mode_prints_its_table():
    """``python -m bench.locks --smoke``: a claim in each world (no hub, V1 hub, V2 hub), pushed."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-m", "bench.locks", "--smoke"], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    for name in ("no hub (database only)", "V1 hub (locks.json)", "V2 hub (lock events + compaction)", "vs no hub"):
        assert name in done.stdout, f"{name!r} missing from the table:\n{done.stdout[-3000:]}"


@pytest.mark.slow
def test_hub_smoke_mode_prints_its_figures():
    """``python -m bench.hub --smoke``: POST /issues with and without a hub, and bare git."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-m", "bench.hub", "--smoke"], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    for name in ("POST /issues, hub (commit + push)", "POST /issues, no hub (SQLite)", "bare git, the CLI create",
                 "hub cost per create"):
        assert name in done.stdout, f"{name!r} missing:\n{done.stdout[-3000:]}"




def test_scale_growth_and_sections():
    """The scale report's arithmetic and its BENCHMARKS.md section (kept by a main-report rewrite)."""
    from bench.scale import SECTION_START, growth, table, write_section
    from bench.sections import carry_sections

    assert growth([10, 100, 1000], [1.0, 2.0, 8.0]) == [None, 2.0, 4.0]
    assert growth([10_000, 1_000_000], [1.0, 4.0]) == [None, 2.0]  # 100×: 2× per 10×
    text = table([10, 100], {10: {"ready": {"p50_ms": 1.0, "p99_ms": 2.0}}, 100: {"ready": {"p50_ms": 3.0, "p99_ms": 4.0}}},
                 "SQLite")
    assert "| ready | 1.00 | 2.00 | 3.00 | 4.00 | **3.00×** |" in text
    doc = write_section("# Benchmarks\n", "## Scale\nfigures")
    kept = carry_sections(doc, "# Benchmarks\n\nnew tables\n")
    assert kept.count(SECTION_START) == 1 and "figures" in kept and "new tables" in kept
