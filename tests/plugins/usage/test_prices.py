"""The price table of ``[plugins.usage]``: estimates for records without a cost, marked as
estimates in the listing and the summary; reported costs left alone."""

from __future__ import annotations

import pytest

from kernel.app import create_app, kernel_of
from tests.support import BACKENDS, TestServer

from .conftest import Api, write_server_toml

pytestmark = pytest.mark.parametrize("backend", BACKENDS, indirect=True)


async def test_a_record_without_a_cost_is_priced_from_the_table(api):
    exact = await api.record(agent_id="w", input_tokens=1_000_000, output_tokens=100_000, cache_read_tokens=2_000_000,
                             cache_creation_tokens=10_000, model="claude-sonnet-4-5")
    # 3.00 + 1.50 + 0.60 + 0.0375
    assert exact["cost_estimate"] == pytest.approx(5.1375) and exact["cost_source"] == "estimated"
    # a pattern ("claude-*"); its cache prices default to the input price
    pattern = await api.record(agent_id="w", input_tokens=500_000, output_tokens=0, cache_read_tokens=500_000,
                               model="claude-haiku-4-5")
    assert pattern["cost_estimate"] == pytest.approx(1.0) and pattern["cost_source"] == "estimated"
    # exact names win over patterns; an unpriced model gets no cost
    gpt = await api.record(agent_id="w", input_tokens=0, output_tokens=0, cache_creation_tokens=1_000_000, model="gpt-4o")
    assert gpt["cost_estimate"] == pytest.approx(2.5)
    none = await api.record(agent_id="w", input_tokens=10**6, output_tokens=10**6, model="mistral-large")
    assert (none["cost_estimate"], none["cost_source"]) == (None, None)
    # the estimate is what the CLI reads in cost_estimate
    stored = await api.db.fetch_value("SELECT cost_estimate FROM token_usage WHERE id = ?", [exact["id"]])
    assert stored == pytest.approx(5.1375)


async def test_a_reported_cost_is_kept_even_when_zero(api):
    body = await api.record(agent_id="w", input_tokens=10**6, output_tokens=10**6, model="claude-sonnet-4-5",
                            cost_estimate=0)
    assert (body["cost_estimate"], body["cost_source"]) == (0.0, "reported")
    listed = (await api.get("/usage"))["items"][0]
    assert (listed["cost_estimate"], listed["cost_source"]) == (0.0, "reported")


async def test_the_summary_says_which_costs_are_estimated(api):
    await api.record(agent_id="w", input_tokens=10**6, output_tokens=0, model="gpt-4o")  # estimated 2.5
    await api.record(agent_id="w", input_tokens=10**6, output_tokens=0, model="gpt-4o", cost_estimate=2.0)
    await api.record(agent_id="w", input_tokens=5, output_tokens=5, model="mistral-large")  # unpriced
    await api.record(agent_id="v", input_tokens=5, output_tokens=5, model="mistral-large", cost_estimate=0.25)
    # a row the CLI wrote without a cost is priced when it is read
    await api.cli_insert("w", "2026-03-10T01:00:00.000000+00:00", 0, 100_000, model="gpt-4o")  # 1.0
    body = await api.get("/usage/summary")
    items = {(i["agent_id"], i["model"]): i for i in body["items"]}
    gpt = items[("w", "gpt-4o")]
    assert (gpt["request_count"], gpt["total_cost"], gpt["reported_cost"], gpt["estimated_cost"]) == (
        3, pytest.approx(5.5), pytest.approx(2.0), pytest.approx(3.5))
    assert (gpt["estimated_requests"], gpt["unpriced_requests"], gpt["cost_estimated"]) == (2, 0, True)
    mistral = items[("w", "mistral-large")]
    assert (mistral["total_cost"], mistral["unpriced_requests"], mistral["cost_estimated"]) == (0.0, 1, False)
    reported = items[("v", "mistral-large")]
    assert (reported["reported_cost"], reported["estimated_cost"], reported["cost_estimated"]) == (0.25, 0.0, False)
    assert [(i["agent_id"], i["model"]) for i in body["items"]] == [("w", "gpt-4o"), ("v", "mistral-large"),
                                                                   ("w", "mistral-large")]
    assert (body["total_cost"], body["reported_cost"], body["estimated_cost"]) == (
        pytest.approx(5.75), pytest.approx(2.25), pytest.approx(3.5))
    assert (body["estimated_requests"], body["unpriced_requests"], body["cost_estimated"]) == (2, 1, True)
    cli_row = (await api.get("/usage", **{"to": "2026-03-10T02:00:00Z"}))["items"][0]
    assert (cli_row["cost_estimate"], cli_row["cost_source"]) == (pytest.approx(1.0), "estimated")
    assert await api.db.fetch_value("SELECT cost_estimate FROM token_usage WHERE id = ?", [cli_row["id"]]) is None


async def test_stored_estimates_keep_their_price_when_the_table_changes(repo, settings_factory, clock):
    write_server_toml(repo)
    first = create_app(settings_factory(plugins="usage", clock=clock))
    async with first.test_app() as running:
        api = Api(TestServer(app=first, client=running.test_client(), kernel=kernel_of(first)))
        stored = await api.record(agent_id="w", input_tokens=10**6, output_tokens=0, model="gpt-4o")
        await api.cli_insert("w", "2026-03-10T01:00:00.000000+00:00", 10**6, 0, model="gpt-4o")
    write_server_toml(repo, '[plugins.usage.prices]\n"gpt-4o" = { input = 5.0, output = 20.0 }\n')
    second = create_app(settings_factory(plugins="usage", clock=clock))
    async with second.test_app() as running:
        api = Api(TestServer(app=second, client=running.test_client(), kernel=kernel_of(second)))
        items = {i["id"]: i for i in (await api.get("/usage"))["items"]}
        assert items[stored["id"]]["cost_estimate"] == pytest.approx(2.5)  # priced when it was stored
        [cli] = [i for i in items.values() if i["id"] != stored["id"]]
        assert cli["cost_estimate"] == pytest.approx(5.0)  # priced now
        body = await api.get("/usage/summary")
        assert (body["total_cost"], body["estimated_cost"], body["estimated_requests"]) == (
            pytest.approx(7.5), pytest.approx(7.5), 2)


async def test_a_bad_price_table_stops_the_server_naming_the_field(repo, settings_factory):
    from kernel.errors import StartupError

    write_server_toml(repo, '[plugins.usage.prices]\n"gpt-4o" = { input = -1, output = 1 }\n')
    with pytest.raises(StartupError, match=r"plugins\.usage.*prices\.gpt-4o\.input"):
        create_app(settings_factory(plugins="usage"))
    write_server_toml(repo, '[plugins.usage.prices]\n"gpt-4o" = { input = 1, outptu = 1 }\n')
    with pytest.raises(StartupError, match="outptu"):
        create_app(settings_factory(plugins="usage"))
