"""schemathesis against a live ``crosslink serve``, on SQLite and on PostgreSQL at once.

Every operation ``/openapi.json`` lists is exercised (so routes that plugins add later are
covered without touching this test): schemathesis's coverage phase (boundary values, wrong
types, undocumented methods), a bounded number of random cases per operation (fuzzing, valid
and invalid data) and a few multi-step scenarios (stateful). The run must find no server error
and no response that breaks the document: undocumented status, wrong content type, body or
header not matching its schema, invalid data accepted, a wrong answer to an undocumented
method or a wrong ``Allow``.

Not checked: ``positive_data_acceptance`` ("schema-valid data gets a 2xx"), because some rules
no schema can express: ``parent_id`` must name an existing issue (400), a knowledge page write
needs the version it is based on (428/412); nor ``use_after_free`` and
``ensure_resource_availability``, whose links between operations schemathesis guesses (it fed a
new milestone's id to ``issue_id`` and called the 404 a lost resource). The two servers run concurrently (two cores);
``CROSSLINK_SCHEMATHESIS_EXAMPLES`` and ``CROSSLINK_SCHEMATHESIS_SEED`` make a deeper or
different run (defaults: 5 examples per operation, a fixed seed, so a run is reproducible).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ElementTree
from pathlib import Path

import httpx
import pytest

from tests.hardening.conftest import fresh_repo

pytestmark = pytest.mark.slow

SCHEMATHESIS = str(Path(sys.executable).parent / "schemathesis")
CHECKS = ",".join([
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_headers_conformance",
    "response_schema_conformance",
    "negative_data_rejection",
    "missing_required_header",
    "unsupported_method",
    "allow_header_conformance",
])
EXAMPLES = os.environ.get("CROSSLINK_SCHEMATHESIS_EXAMPLES", "5")
SEED = os.environ.get("CROSSLINK_SCHEMATHESIS_SEED", "16")


def start_schemathesis(url: str, workdir: Path) -> subprocess.Popen:
    workdir.mkdir(parents=True, exist_ok=True)
    command = [
        SCHEMATHESIS, "run", f"{url}/openapi.json",
        "--checks", CHECKS,
        "--phases", "coverage,fuzzing,stateful",
        "--max-examples", EXAMPLES,
        "--seed", SEED,
        "--workers", "1",
        "--no-shrink",
        "--request-timeout", "60",
        "--generation-database", "none",
        "--no-color",
        "--report", "junit", "--report-junit-path", str(workdir / "junit.xml"),
    ]
    return subprocess.Popen(command, cwd=workdir, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            env={**os.environ, "SCHEMATHESIS_TELEMETRY": "false"})


def failures_in(report: Path) -> int:
    root = ElementTree.parse(report).getroot()
    suites = [root] if root.tag == "testsuite" else list(root)
    return sum(int(suite.get("failures", 0)) + int(suite.get("errors", 0)) for suite in suites)


async def test_schemathesis_finds_no_server_error_and_no_schema_violation(
    live_server_factory, postgres_url, tmp_path
):
    servers = {
        "sqlite": live_server_factory(),
        "postgres": live_server_factory("--db", postgres_url, repo_path=fresh_repo(tmp_path / "pg-project")),
    }
    operations = {
        name: sum(len(methods) for methods in httpx.get(f"{live.url}/openapi.json").json()["paths"].values())
        for name, live in servers.items()
    }
    runs = {name: start_schemathesis(live.url, tmp_path / f"schemathesis-{name}") for name, live in servers.items()}
    outputs = {name: run.communicate(timeout=1800)[0] for name, run in runs.items()}
    for name, run in runs.items():
        output = outputs[name]
        assert run.returncode == 0, f"schemathesis on {name} found problems:\n{output[-20000:]}"
        assert failures_in(tmp_path / f"schemathesis-{name}" / "junit.xml") == 0
        tested = re.search(r"Tested:\s+(\d+)", output)
        assert tested and int(tested.group(1)) == operations[name], output[-3000:]
        assert operations[name] > 50
        server_log = servers[name].text()
        assert "Traceback" not in server_log, server_log[-5000:]
