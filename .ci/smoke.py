"""A short smoke test of an installed crosslink-server (CI runs it on the newest Python).

Starts ``crosslink serve`` from the environment this script runs in, on a fresh git repository,
and checks over HTTP that it answers: health, an issue created and read back, a lock claimed,
the dashboard page, then a clean stop on SIGINT. Standard library only.
"""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

CROSSLINK = Path(sys.executable).with_name("crosslink")


def call(method: str, url: str, body: dict | None = None) -> tuple[int, dict | str]:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as response:
        text = response.read().decode()
        kind = response.headers.get("Content-Type", "")
        return response.status, json.loads(text) if "json" in kind else text


def main() -> int:
    with tempfile.TemporaryDirectory() as tmp:
        repo = Path(tmp) / "project"
        subprocess.run(["git", "init", "-q", str(repo)], check=True)
        server = subprocess.Popen([str(CROSSLINK), "serve", "--port", "0", "--repo", str(repo)],
                                  stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        try:
            base = None
            deadline = time.monotonic() + 60
            lines = []
            while base is None and time.monotonic() < deadline:
                line = server.stdout.readline()
                if not line:
                    break
                lines.append(line)
                found = re.search(r"listening on (http://\S+)", line)
                base = found.group(1) if found else None
            if base is None:
                print("".join(lines), file=sys.stderr)
                raise SystemExit("crosslink serve did not start")
            status, health = call("GET", f"{base}/api/v1/health")
            assert status == 200 and health["status"] == "ok", health
            status, issue = call("POST", f"{base}/api/v1/issues", {"title": "smoke", "priority": "high"})
            assert status == 201 and issue["id"] > 0, issue
            status, read = call("GET", f"{base}/api/v1/issues/{issue['id']}")
            assert status == 200 and (read["title"], read["priority"]) == ("smoke", "high"), read
            status, lock = call("POST", f"{base}/api/v1/locks/{issue['id']}/claim", {"agent_id": "smoke-1"})
            assert status == 201, lock
            status, page = call("GET", f"{base}/")
            assert status == 200 and "<html" in str(page).lower()
        finally:
            server.send_signal(signal.SIGINT)
            output, _ = server.communicate(timeout=30)
        assert server.returncode == 0, output
        assert "Traceback" not in output, output
    print(f"smoke test passed on Python {sys.version.split()[0]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
