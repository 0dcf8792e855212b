"""A fake ``claude -p <prompt> --output-format json``: answers with the CLI's JSON envelope.

The plan it returns is built from the prompt it was given (so a test sees that the document
arrived): one phase per ``## `` heading of the document, two stages each, the second depending
on the first by title. The prompt is written to ``$FAKE_LLM_RECORD`` when that is set. With
no argument the prompt is read from standard input.
"""

import json
import os
import sys

prompt = sys.argv[1] if len(sys.argv) > 1 else sys.stdin.read()
if os.environ.get("FAKE_LLM_RECORD"):
    with open(os.environ["FAKE_LLM_RECORD"], "w", encoding="utf-8") as record:
        record.write(prompt)
document = prompt.split("---BEGIN DOCUMENT---\n", 1)[1].split("\n---END DOCUMENT---", 1)[0]
headings = [line[3:].strip() for line in document.splitlines() if line.startswith("## ")]
phases = []
for i, heading in enumerate(headings):
    phases.append({
        "title": f"Phase {i + 1}: {heading}",
        "description": f"Everything about {heading}",
        "stages": [
            {"title": f"Design {heading}", "description": "design", "tasks": [
                {"title": "sketch", "description": "on paper", "complexity_hours": 1.5}],
             "depends_on": [], "agent_count": 1, "complexity_hours": 1.5},
            {"title": f"Build {heading}", "description": "build",
             "tasks": [{"title": "code", "description": "", "complexity_hours": 3}],
             "depends_on": [f"Design {heading}"] + ([f"Build {headings[i - 1]}"] if i else []),
             "complexity_hours": 3},
        ],
        "gate_criteria": [f"{heading} works"],
    })
plan = {"phases": phases, "estimated_hours": 4.5 * len(phases)}
envelope = {
    "type": "result",
    "subtype": "success",
    "is_error": False,
    "result": "```json\n" + json.dumps(plan, indent=2) + "\n```",
    "session_id": "fake",
}
print(json.dumps(envelope))
