"""The ``command`` decomposer against fake LLM commands (real subprocesses): the envelope, prose,
a command that hangs past the timeout, one that fails, one that is missing."""

from __future__ import annotations

import asyncio
import os

import pytest

from plugins.orchestrator.llm_command import SYSTEM_PROMPT, USER_PROMPT

from .conftest import COMMANDS, PYTHON, assert_error, document

DOC = "# Billing\n\n## Invoices\nSend them.\n\n## Payments\nTake them.\n"


def llm(script: str, *extra: str) -> list[str]:
    return [PYTHON, str(COMMANDS / script), "{prompt}", *extra]


async def test_the_envelope_becomes_a_validated_plan(config, make_api, tmp_path, monkeypatch):
    record = tmp_path / "prompt.txt"
    monkeypatch.setenv("FAKE_LLM_RECORD", str(record))
    config(decomposer="command", decomposer_command=llm("llm_envelope.py"))
    api = await make_api()
    plan = await api.decompose(DOC, slug="billing")
    prompt = record.read_text()
    # the original's prompt: system prompt, ---, the user prompt and the document between markers
    assert prompt.startswith(SYSTEM_PROMPT + "\n\n---\n\n" + USER_PROMPT + "\n\n---BEGIN DOCUMENT---\n")
    assert prompt.endswith("\n---BEGIN DOCUMENT---\n" + DOC + "\n---END DOCUMENT---")
    assert "Output ONLY valid JSON" in prompt and "depends_on references stage titles" in prompt
    assert [p["title"] for p in plan["phases"]] == ["Phase 1: Invoices", "Phase 2: Payments"]
    design, build = plan["phases"][0]["stages"]
    _, build_payments = plan["phases"][1]["stages"]
    # titles from the LLM are resolved to stage ids
    assert build["depends_on"] == [design["id"]]
    assert build_payments["depends_on"] == [plan["phases"][1]["stages"][0]["id"], build["id"]]
    assert build["agent_count"] == 1 and build["tasks"][0]["id"] == f"{build['id']}-t0"
    assert plan["estimated_hours"] == 9.0 and plan["total_stages"] == 4
    assert plan["phases"][0]["gate_criteria"] == ["Invoices works"]
    assert (await api.get("/orchestrator/plan"))["id"] == plan["id"]
    record_ = await api.get(f"/orchestrator/plans/{plan['id']}")
    assert record_["decomposer"] == "command" and record_["source_document"] == DOC


async def test_the_prompt_goes_to_stdin_without_a_prompt_argument(config, make_api, tmp_path, monkeypatch):
    monkeypatch.setenv("FAKE_LLM_RECORD", str(tmp_path / "prompt.txt"))
    config(decomposer_command=[PYTHON, str(COMMANDS / "llm_envelope.py")])
    api = await make_api()
    plan = await api.decompose(DOC, decomposer="command")  # chosen per request; markdown is the default
    assert len(plan["phases"]) == 2
    assert "---BEGIN DOCUMENT---" in (tmp_path / "prompt.txt").read_text()


async def test_garbage_output_is_a_502(config, make_api):
    config(decomposer="command", decomposer_command=llm("llm_garbage.py"))
    api = await make_api()
    body = assert_error(await api.post("/orchestrator/decompose", {"document": DOC}), 502, "no JSON object",
                        "I'm sorry")
    assert body["cause"] == "unparseable_output"
    assert_error(await api.call("GET", "/orchestrator/plan"), 404)


async def test_a_non_zero_exit_is_a_502_with_its_stderr(config, make_api):
    config(decomposer="command", decomposer_command=llm("llm_fail.py"))
    api = await make_api()
    body = assert_error(await api.post("/orchestrator/decompose", {"document": DOC}), 502, "exited with status 3",
                        "rate limit exceeded")
    assert body["cause"] == "exit_status"


async def test_a_missing_command_is_a_503(config, make_api, tmp_path):
    config(decomposer="command", decomposer_command=[str(tmp_path / "no-such-claude"), "-p", "{prompt}"])
    api = await make_api()
    body = assert_error(await api.post("/orchestrator/decompose", {"document": DOC}), 503, "not found",
                        "decomposer_command")
    assert body["cause"] == "missing_command"


async def test_a_command_that_is_not_executable_is_a_503(config, make_api):
    config(decomposer="command", decomposer_command=[str(COMMANDS / "llm_garbage.py")])  # mode 644
    api = await make_api()
    assert_error(await api.post("/orchestrator/decompose", {"document": DOC}), 503, "not executable")


async def test_a_hanging_command_is_killed_at_the_timeout_and_others_are_served_meanwhile(config, make_api, tmp_path):
    pid_file = tmp_path / "llm.pid"
    config(decomposer="command", decomposer_command=llm("llm_hang.py", str(pid_file)), decomposer_timeout_seconds=5)
    api = await make_api()
    decomposition = asyncio.ensure_future(api.post("/orchestrator/decompose", {"document": DOC}))
    for _ in range(500):
        if pid_file.exists() and pid_file.read_text():
            break
        await asyncio.sleep(0.01)
    pid = int(pid_file.read_text())
    # the event loop is free while the command runs: other requests are answered before it ends
    assert (await api.get("/health"))["status"] == "ok"
    assert (await api.status())["state"] == "idle"
    assert not decomposition.done()
    body = assert_error(await decomposition, 504, "did not finish within 5 s", "killed")
    assert body["cause"] == "timeout"
    with pytest.raises(ProcessLookupError):  # killed, and reaped
        os.kill(pid, 0)


async def test_an_invalid_plan_from_the_command_is_a_400(config, make_api, tmp_path):
    script = tmp_path / "llm_bad_plan.py"
    script.write_text(
        "import json\n"
        "plan = {'phases': [{'title': 'P', 'stages': [{'title': 'A', 'description': '', 'depends_on': ['Z']}]},"
        " {'title': 'Empty', 'stages': []}]}\n"
        "print(json.dumps({'type': 'result', 'result': json.dumps(plan)}))\n"
    )
    config(decomposer="command", decomposer_command=[PYTHON, str(script), "{prompt}"])
    api = await make_api()
    body = assert_error(await api.post("/orchestrator/decompose", {"document": document("single-heading-bugfix.md")}),
                        400, "'Z'", "no stages")
    assert len(body["problems"]) == 2
