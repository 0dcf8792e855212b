"""A stage command for the command launcher's tests (run by the server, one process per stage).

It appends what it sees to ``$STAGE_CONTROL/events.jsonl`` (its start and end, with its own
timestamps and the CROSSLINK_* environment), tells the server it runs (``POST .../running``
with an agent id, through ``CROSSLINK_SERVER_URL`` and ``CROSSLINK_TOKEN``), then behaves by
its stage title:

* ``Flaky ...``: fails (exit 1, "boom" on stdout) on its first attempt, succeeds after;
* ``Hold ...``: waits until the file ``$STAGE_CONTROL/release-<stage title>`` exists;
* anything else: succeeds after a short while.
"""

import json
import os
import sys
import time
import urllib.request

control = os.environ["STAGE_CONTROL"]
title = os.environ["CROSSLINK_STAGE_TITLE"]
attempt = int(os.environ["CROSSLINK_STAGE_ATTEMPT"])


def record(event: str, **extra) -> None:
    line = json.dumps({"event": event, "title": title, "attempt": attempt, "t": time.time(), "pid": os.getpid(),
                       **extra})
    with open(os.path.join(control, "events.jsonl"), "a") as events:
        events.write(line + "\n")


record("start", env={k: v for k, v in os.environ.items() if k.startswith("CROSSLINK_") and k != "CROSSLINK_STAGE_PROMPT"},
       prompt=os.environ.get("CROSSLINK_STAGE_PROMPT", ""), cwd=os.getcwd())
request = urllib.request.Request(
    f"{os.environ['CROSSLINK_SERVER_URL']}/api/v1/orchestrator/stages/{os.environ['CROSSLINK_STAGE_ID']}/running",
    data=json.dumps({"agent_id": "agent-" + title.lower().replace(" ", "-")}).encode(),
    headers={"Content-Type": "application/json", "Authorization": f"Bearer {os.environ.get('CROSSLINK_TOKEN', '')}"},
    method="POST",
)
with urllib.request.urlopen(request, timeout=30) as answer:
    assert answer.status == 200, answer.status
print(f"stage {title} attempt {attempt} running", flush=True)
if title.startswith("Flaky") and attempt == 1:
    print("boom", flush=True)
    record("end", status=1)
    sys.exit(1)
if title.startswith("Hold"):
    release = os.path.join(control, f"release-{title}")
    while not os.path.exists(release):
        time.sleep(0.05)
else:
    time.sleep(0.1)
record("end", status=0)
print(f"stage {title} done", flush=True)
