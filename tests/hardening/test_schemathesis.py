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
new milestone's id to ``issue_id`` and called the 404 a lost resource). The operations are
split into shards by path (``SHARDS``), each run against its own live server on each database,
so that a parallel test run spreads them over its workers;
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

from tests.support import copy_repository

pytestmark = pytest.mark.slow

SCHEMATHESIS = str(Path(sys.executable).parent / "schemathesis")
REPO_ROOT = Path(__file__).resolve().parents[2]
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


#: Path patterns splitting the operations into shards of similar run time; every operation is
#: in exactly one (the last takes what the others leave). Three per database: each shard pays
#: a server start and a schemathesis start (about two seconds of CPU together), so more shards
#: only spread the same work thinner over the test run's workers.
SHARDS = {
    # the event log's long poll waits only briefly (shortened by schemathesis_hooks)
    "issues-events-sync": r"^/api/v1/(issues|events|sync)",
    "orchestrator-usage": r"^/api/v1/(orchestrator|usage)",
    "the-rest": None,
}


def shard_filter(shard: str) -> list[str]:
    """The schemathesis options selecting ``shard``'s operations."""
    pattern = SHARDS[shard]
    if pattern is not None:
        return ["--include-path-regex", pattern]
    others = "|".join(f"({p})" for p in SHARDS.values() if p is not None)
    return ["--exclude-path-regex", others]


def in_shard(path: str, shard: str) -> bool:
    pattern = SHARDS[shard]
    if pattern is not None:
        return re.search(pattern, path) is not None
    return not any(re.search(p, path) for p in SHARDS.values() if p is not None)


def start_schemathesis(url: str, workdir: Path, shard: str) -> subprocess.Popen:
    workdir.mkdir(parents=True, exist_ok=True)
    command = [
        SCHEMATHESIS, "run", f"{url}/openapi.json", *shard_filter(shard),
        "--checks", CHECKS,
        "--phases", "coverage,fuzzing,stateful",
        "--max-examples", EXAMPLES,
        "--seed", SEED,
        "--workers", "1",
        "--no-shrink",
        # longer than the longest wait a request may ask for (GET /events/log?wait=60, a long
        # poll that rightly answers after 60 s when no event comes; the hooks shorten it)
        "--request-timeout", "75",
        "--generation-database", "none",
        "--no-color",
        "--report", "junit", "--report-junit-path", str(workdir / "junit.xml"),
    ]
    return subprocess.Popen(command, cwd=workdir, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            env={**os.environ, "SCHEMATHESIS_TELEMETRY": "false",
                                 "SCHEMATHESIS_HOOKS": "tests.hardening.schemathesis_hooks",
                                 "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")]))})


def failures_in(report: Path) -> int:
    root = ElementTree.parse(report).getroot()
    suites = [root] if root.tag == "testsuite" else list(root)
    return sum(int(suite.get("failures", 0)) + int(suite.get("errors", 0)) for suite in suites)


@pytest.mark.parametrize("shard", list(SHARDS))
@pytest.mark.parametrize("database", ["sqlite", "postgres"])
async def test_schemathesis_finds_no_server_error_and_no_schema_violation(
    live_server_factory, postgres_url, repo_template, tmp_path, database, shard
):
    if database == "sqlite":
        live = live_server_factory()
    else:
        live = live_server_factory("--db", postgres_url, repo_path=copy_repository(repo_template, tmp_path / "pg-project"))
    paths = httpx.get(f"{live.url}/openapi.json").json()["paths"]
    operations = sum(len(methods) for path, methods in paths.items() if in_shard(path, shard))
    run = start_schemathesis(live.url, tmp_path / "schemathesis", shard)
    output = run.communicate(timeout=1800)[0]
    assert run.returncode == 0, f"schemathesis on {database} ({shard}) found problems:\n{output[-20000:]}"
    assert failures_in(tmp_path / "schemathesis" / "junit.xml") == 0
    tested = re.search(r"Tested:\s+(\d+)", output)
    assert tested and int(tested.group(1)) == operations, output[-3000:]
    assert operations >= 4
    server_log = live.text()
    assert "Traceback" not in server_log, server_log[-5000:]
