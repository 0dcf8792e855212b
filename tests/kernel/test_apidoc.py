"""docs/api.md is what the server would write about itself (``python -m kernel.apidoc``)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_api_reference_in_the_repository_matches_the_server():
    done = subprocess.run([sys.executable, "-m", "kernel.apidoc", "--check"], cwd=ROOT, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr + "\nregenerate it with: python -m kernel.apidoc"


def test_the_reference_names_every_route_and_event():
    text = (ROOT / "docs" / "api.md").read_text()
    for needle in ("`GET /api/v1/issues/{issue_id}`", "`POST /api/v1/locks/{issue_id}/claim`",
                   "`GET /api/v1/sync/status`", "`POST /api/v1/orchestrator/decompose`", "| `issue_updated` |",
                   "| `execution_progress` |", "## WebSocket `/ws`", "`/mcp`"):
        assert needle in text, needle
