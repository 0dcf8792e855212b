"""A gate command for the phase gating test: records the phase and when it passed (its own
timestamp, taken just before it exits 0) in ``$STAGE_CONTROL/events.jsonl``."""

import json
import os
import time

with open(os.path.join(os.environ["STAGE_CONTROL"], "events.jsonl"), "a") as events:
    events.write(json.dumps({"event": "gate", "phase": os.environ["CROSSLINK_PHASE_TITLE"],
                             "criteria": os.environ["CROSSLINK_GATE_CRITERIA"], "t": time.time()}) + "\n")
print("gate passed for", os.environ["CROSSLINK_PHASE_ID"])
