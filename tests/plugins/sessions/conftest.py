"""Fixtures for the sessions plugin's tests: the application with issues and sessions, and a
small client wrapper (every call is a real HTTP request through Quart)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import pytest

from tests.support import TestServer

PREFIX = "/api/v1"
SESSION_KEYS = {"id", "started_at", "ended_at", "active_issue_id", "handoff_notes", "last_action", "agent_id"}
API_TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,6})?Z$")
CLI_TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}\+00:00$")


@dataclass
class Api:
    """A thin wrapper over the test client: paths are relative to /api/v1."""

    server: TestServer

    @property
    def client(self):
        return self.server.client

    @property
    def kernel(self):
        return self.server.kernel

    async def call(self, method: str, path: str, *, json: Any = None, expect: int | None = None, **kwargs):
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

    # --- shortcuts -----------------------------------------------------------------------------

    async def issue(self, title: str = "An issue", **fields: Any) -> int:
        _, body = await self.post("/issues", {"title": title, **fields}, expect=201)
        return body["id"]

    async def current(self, agent: str | None = None) -> dict[str, Any] | None:
        return await self.get("/sessions/current", query_string=_query(agent))

    async def start(self, agent: str | None = None, expect: int | None = None) -> dict[str, Any]:
        code, body = await self.post("/sessions/start", query_string=_query(agent))
        assert code in (200, 201) and (expect is None or code == expect), (code, body)
        return body

    async def end(self, agent: str | None = None, notes: str | None = None, expect: int | None = 200):
        body = {} if notes is None else {"notes": notes}
        return await self.post("/sessions/end", body, expect=expect, query_string=_query(agent))

    async def work(self, issue_id: int, agent: str | None = None, expect: int | None = 200, **body: Any):
        return await self.post(f"/sessions/work/{issue_id}", body, expect=expect, query_string=_query(agent))

    async def action(self, text: str, agent: str | None = None, expect: int | None = 200, **body: Any):
        return await self.post("/sessions/action", {"action": text, **body}, expect=expect, query_string=_query(agent))

    async def history(self, agent: str | None = None, **query: Any) -> dict[str, Any]:
        return await self.get("/sessions", query_string={**_query(agent), **query})


def _query(agent: str | None) -> dict[str, str]:
    return {} if agent is None else {"agent_id": agent}


@pytest.fixture
async def api(app_factory) -> Api:
    """The application with the issues and sessions plugins, on the selected backend."""
    return Api(await app_factory(plugins="issues,sessions"))


def assert_error(status_body: tuple[int, Any], status: int, *needles: str) -> dict:
    """The response is ``status`` with the JSON error shape and a detail naming each needle."""
    code, body = status_body
    assert code == status, body
    assert set(body) >= {"error", "detail"}, body
    for needle in needles:
        assert needle in body["detail"], (needle, body)
    return body


def assert_session(session: dict[str, Any], **expected: Any) -> None:
    """Every key of the Session object is present, timestamps are RFC 3339 ``Z``."""
    assert SESSION_KEYS <= set(session), session
    assert API_TIME.match(session["started_at"]), session
    assert session["ended_at"] is None or API_TIME.match(session["ended_at"]), session
    for key, value in expected.items():
        assert session[key] == value, (key, session)


async def db_rows(api: Api, where: str = "1 = 1", params: list[Any] | None = None) -> list[dict[str, Any]]:
    """The ``sessions`` rows as stored (plain SQL through the server's connection), by id."""
    return await api.kernel.db.fetch_all(
        f"SELECT id, started_at, ended_at, active_issue_id, handoff_notes, last_action, agent_id "
        f"FROM sessions WHERE {where} ORDER BY id",
        params or [],
    )
