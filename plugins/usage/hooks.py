"""The usage plugin's hook implementations (and nothing else)."""

from __future__ import annotations

from kernel import ConfigSection, PluginInfo, StorageSpec, Worker, hookimpl

PLUGIN = PluginInfo(
    name="usage",
    description="Token usage and cost per agent on the crosslink CLI's token_usage table, with budgets and alerts",
    paths=("/api/v1/usage",),
)


def _service(kernel):
    return kernel.services.require("usage")


@hookimpl
def crosslink_config_section():
    """``[plugins.usage]``: the price table and how often budgets are checked."""
    from .config import UsageConfig

    return ConfigSection("usage", UsageConfig, "Usage: model prices and the budget check")


@hookimpl
def crosslink_register_models():
    """No models; the migrations add the rollups, budgets, alerts and their triggers."""
    from .migrations import MIGRATIONS
    from .rollup import DAILY, HOURLY, MONTHLY

    # the rollups are rebuilt from token_usage (its triggers fill them): a copy leaves them out
    return StorageSpec("usage", migrations=MIGRATIONS, derived=[HOURLY, DAILY, MONTHLY])


@hookimpl
def crosslink_register_events():
    """``usage_recorded``, ``usage_budget_alert`` and ``usage_budget_changed`` on ``usage``."""
    from .events import EVENTS

    return EVENTS


@hookimpl
def crosslink_register_services(kernel, registry):
    """Provide the ``usage`` service (see :mod:`plugins.usage.contract`)."""
    from .config import UsageConfig
    from .service import UsageService

    registry.provide("usage", UsageService(kernel, kernel.plugin_config("usage") or UsageConfig()))


@hookimpl
def crosslink_register_blueprints(kernel):
    """The usage routes."""
    from .routes import create_blueprint

    return [create_blueprint(kernel)]


@hookimpl
async def crosslink_startup(kernel):
    """Repair lost rollup triggers, or rollups that disagree with the table."""
    await _service(kernel).rollups.check_at_startup()


@hookimpl
def crosslink_register_workers(kernel):
    """``usage-budgets``: check every budget now and then (rows the CLI wrote included), on
    one instance of a team server."""
    service = _service(kernel)

    async def run(ctx):
        fired = await service.check_budgets()
        if fired:
            ctx.note(f"{fired} alert(s) sent")

    return [Worker("usage-budgets", run, every=service.config.budget_check_seconds, singleton=True,
                   description="checks the usage budgets against every row, the CLI's included")]
