"""Fixtures for the issues plugin's tests: the application with only this plugin, and a small
client wrapper that speaks the contract (every call is a real HTTP request through Quart)."""

from __future__ import annotations

import asyncio
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.support import TestServer

PREFIX = "/api/v1"


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

    async def patch(self, path: str, json: Any = None, expect: int | None = None, **kwargs):
        return await self.call("PATCH", path, json=json, expect=expect, **kwargs)

    async def delete(self, path: str, expect: int | None = None, **kwargs):
        return await self.call("DELETE", path, expect=expect, **kwargs)

    # --- shortcuts -----------------------------------------------------------------------------

    async def create(self, title: str = "An issue", **fields: Any) -> int:
        _, body = await self.post("/issues", {"title": title, **fields}, expect=201)
        return body["id"]

    async def issue(self, issue_id: int) -> dict[str, Any]:
        return await self.get(f"/issues/{issue_id}")

    async def comment(self, issue_id: int, content: str = "a comment", **fields: Any) -> int:
        _, body = await self.post(f"/issues/{issue_id}/comments", {"content": content, **fields}, expect=201)
        return body["id"]

    async def label(self, issue_id: int, label: str) -> None:
        await self.post(f"/issues/{issue_id}/labels", {"label": label}, expect=200)

    async def block(self, issue_id: int, blocker_id: int) -> None:
        await self.post(f"/issues/{issue_id}/block", {"blocker_id": blocker_id}, expect=200)

    async def close(self, issue_id: int) -> None:
        await self.post(f"/issues/{issue_id}/close", expect=200)

    async def ids(self, path: str = "/issues", **query: Any) -> list[int]:
        body = await self.get(path, query_string=query)
        return [item["id"] for item in body["items"]]

    async def milestone(self, name: str = "v1", **fields: Any) -> int:
        _, body = await self.post("/milestones", {"name": name, **fields}, expect=201)
        return body["id"]


@pytest.fixture
async def api(app_factory) -> Api:
    """The application with only the issues plugin, on the selected backend."""
    return Api(await app_factory(plugins="issues"))


def assert_error(status_body: tuple[int, Any], status: int, *needles: str) -> dict:
    """The response is ``status`` with the JSON error shape and a detail naming each needle."""
    code, body = status_body
    assert code == status, body
    assert set(body) >= {"error", "detail"}, body
    for needle in needles:
        assert needle in body["detail"], (needle, body)
    return body


@pytest.fixture
async def api_on_cli_db(cli_db, app_factory) -> Api:
    """The issues plugin serving a database the crosslink CLI built (SQLite only)."""
    return Api(await app_factory(plugins="issues"))


class OtherProcess:
    """A plain sqlite3 connection writing the server's SQLite file as the crosslink CLI does.

    Its statements run on a thread, as another process would run them: while one waits for the
    server's write lock (the server may be between two statements of a transaction, waiting
    for the event loop), the server goes on and commits.
    """

    def __init__(self, path: Path) -> None:
        self.db = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=30)
        self.db.execute("PRAGMA foreign_keys = ON")

    def _run(self, sql: str, params: Any, many: bool) -> list[tuple]:
        return (self.db.executemany if many else self.db.execute)(sql, params).fetchall()

    async def execute(self, sql: str, params: Any = ()) -> list[tuple]:
        return await asyncio.to_thread(self._run, sql, params, False)

    async def executemany(self, sql: str, rows: Any) -> None:
        await asyncio.to_thread(self._run, sql, rows, True)

    async def value(self, sql: str, params: Any = ()) -> Any:
        return (await self.execute(sql, params))[0][0]

    def close(self) -> None:
        self.db.close()
