"""The config page (``/config``): ``hook-config.json`` as a form, saved with ``PATCH
/api/v1/config`` (the API validates; its messages appear next to the fields).

The form is built from the API's own request model (``ConfigUpdate``): a field's kind, range
and choices come from its JSON schema, so a new config key appears here by itself.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from quart import Blueprint

from kernel.hook_config import SIGNING_WORDS, ConfigUpdate

from ..declarations import DashboardPage
from .common import html

if TYPE_CHECKING:
    from kernel.app import Kernel

    from ..site import Dashboard

HELP = {
    "tracking_mode": "How strictly the CLI's hooks make agents track their work in issues.",
    "stale_lock_timeout_minutes": "A lock is stale when its holder's newest heartbeat is this old.",
    "remote": "The git remote the hub and knowledge branches are shared through.",
    "signing_enforcement": "Whether commits and hub records must be signed.",
    "intervention_tracking": "Record human interventions as intervention comments.",
    "auto_steal_stale_locks": "Let a claim take over a stale lock without a steal.",
}
#: Choices the schema cannot show (the field is validated by a function, not an enum).
CHOICES = {"signing_enforcement": sorted(set(SIGNING_WORDS.values()))}


def form_fields(values: dict[str, Any]) -> list[dict[str, Any]]:
    """One description per field of ``ConfigUpdate``: name, input kind, limits, choices, value."""
    schema = ConfigUpdate.model_json_schema()
    fields = []
    for name, spec in schema["properties"].items():
        options = [option for option in spec.get("anyOf", [spec]) if option.get("type") != "null"]
        option = options[0] if options else {}
        kind = option.get("type", "string")
        choices = option.get("enum") or CHOICES.get(name)
        fields.append(
            {
                "name": name,
                "label": name.replace("_", " ").capitalize(),
                "kind": "select" if choices else {"boolean": "checkbox", "integer": "number"}.get(kind, "text"),
                "choices": choices or [],
                "minimum": option.get("minimum"),
                "maximum": option.get("maximum"),
                "value": values.get(name),
                "help": HELP.get(name, ""),
            }
        )
    return fields


def page(kernel: Kernel, dashboard: Dashboard) -> DashboardPage:
    """The config page, on ``kernel.hook_config``."""
    bp = Blueprint("dashboard_config", __name__)

    @bp.get("/config")
    async def config_form():
        """The shared hook configuration as a form."""
        values = kernel.hook_config.read().model_dump()
        return await html("dashboard/config.html", fields=form_fields(values), path=str(kernel.hook_config.path))

    return DashboardPage("config", "Config", bp, order=80, shortcut="c")
