"""Fixtures for the locks suite (the hub builder and clock are shared with the agents suite)."""

from __future__ import annotations

import pytest

from tests.plugins.agents.conftest import clock, hub  # noqa: F401  (fixtures re-exported)


async def create_issue(server, title: str = "locked work") -> int:
    response = await server.client.post("/api/v1/issues", json={"title": title})
    assert response.status_code == 201, await response.get_data()
    return (await response.get_json())["id"]


@pytest.fixture
def issue_factory():
    return create_issue
