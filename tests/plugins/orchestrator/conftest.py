"""Fixtures of the orchestrator suite: the application with the issues and orchestrator plugins
(real HTTP through the Quart test client), its config file, the committed design documents
and fake LLM / stage commands (small scripts run as real subprocesses)."""

from __future__ import annotations

import asyncio
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.support import TestServer

PREFIX = "/api/v1"
HERE = Path(__file__).parent
DOCUMENTS = HERE / "documents"
COMMANDS = HERE / "commands"
PYTHON = sys.executable


def document(name: str) -> str:
    return (DOCUMENTS / name).read_text(encoding="utf-8")


def toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return "[" + ", ".join(toml_value(v) for v in value) + "]"


def write_config(repo: Path, **settings: Any) -> None:
    """Write ``[plugins.orchestrator]`` into the repository's ``.crosslink/server.toml``."""
    path = repo / ".crosslink" / "server.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = ["[plugins.orchestrator]"] + [f"{key} = {toml_value(value)}" for key, value in settings.items()]
    path.write_text("\n".join(lines) + "\n")


@dataclass
class Api:
    """Paths relative to /api/v1, every call a real request through the test client."""

    server: TestServer

    @property
    def kernel(self):
        return self.server.kernel

    @property
    def client(self):
        return self.server.client

    async def call(self, method: str, path: str, json: Any = None, expect: int | None = None, **kwargs):
        if json is not None:
            kwargs["json"] = json
        response = await self.client.open(PREFIX + path, method=method, **kwargs)
        body = await response.get_json()
        if expect is not None:
            assert response.status_code == expect, (method, path, response.status_code, body)
        return response.status_code, body

    async def get(self, path: str, expect: int | None = 200, **kwargs):
        return (await self.call("GET", path, expect=expect, **kwargs))[1]

    async def post(self, path: str, json: Any = None, expect: int | None = None, **kwargs):
        return await self.call("POST", path, json=json, expect=expect, **kwargs)

    async def decompose(self, text: str, **fields: Any) -> dict[str, Any]:
        return (await self.post("/orchestrator/decompose", {"document": text, **fields}, expect=200))[1]

    async def status(self) -> dict[str, Any]:
        return await self.get("/orchestrator/status")

    async def wait_status(self, predicate, timeout: float = 20.0, what: str = "status") -> dict[str, Any]:
        """Poll the status until ``predicate(status)`` holds (a deadline, not a timing assertion)."""
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            status = await self.status()
            if predicate(status):
                return status
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"timed out waiting for {what}; last status: {status}")
            await asyncio.sleep(0.02)


@pytest.fixture
def config(repo):
    """``config(**settings)`` writes the orchestrator's config before the app is made."""
    return lambda **settings: write_config(repo, **settings)


@pytest.fixture
def make_api(app_factory):
    async def make(plugins: str = "issues,orchestrator", **kwargs) -> Api:
        return Api(await app_factory(plugins=plugins, **kwargs))

    return make


@pytest.fixture
async def api(make_api) -> Api:
    return await make_api()


def assert_error(answer: tuple[int, Any], status: int, *needles: str) -> dict[str, Any]:
    code, body = answer
    assert code == status, body
    assert set(body) >= {"error", "detail"}, body
    for needle in needles:
        assert needle in body["detail"], (needle, body)
    return body
