"""The ``manual`` launcher: a ready stage is marked running and waits for an agent to report.

Agents (or people) report through ``POST /orchestrator/stages/:id/running|done|failed`` (or the
``orchestrator`` service's ``report_stage``); nothing is started and nothing is lost at a
restart: a manual stage that was running is still running afterwards.
"""

from __future__ import annotations

from .launcher import Launched, StageRun


class ManualLauncher:
    """The built-in ``manual`` launcher."""

    name = "manual"
    description = "Marks ready stages running; agents report running/done/failed through the API"

    def check(self) -> None:
        """Always usable."""
        return None

    async def launch(self, run: StageRun) -> Launched:
        """Nothing to start: the stage waits for an agent's report."""
        return Launched(handle={}, outcome=None)

    async def resume(self, run: StageRun) -> Launched:
        """Nothing to pick up: the stage still waits for its report."""
        return Launched(handle=run.handle, outcome=None)

    async def stop(self, run: StageRun) -> None:
        """Nothing to stop."""
        return None
