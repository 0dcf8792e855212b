"""The orchestrator's own hooks: where decomposers and launchers come from.

The orchestrator adds these specs in ``crosslink_add_hookspecs``. Its built-in decomposers
(``markdown``, ``command``) and launchers (``command``, ``manual``) are provided through these
same hooks by the plugin itself, so a third-party plugin adds its own exactly the same way::

    from kernel import hookimpl

    @hookimpl(optionalhook=True)
    def crosslink_orchestrator_launchers(kernel):
        return [MyLauncher(kernel)]

Use ``optionalhook=True`` so the plugin still loads on a server where the orchestrator is
disabled. Names are unique across plugins; a clash is a startup error naming both plugins.
Decomposers follow :class:`plugins.orchestrator.decomposer.Decomposer`, launchers
:class:`plugins.orchestrator.launcher.Launcher` (duck types: nothing needs to be imported from
the orchestrator to implement them).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from kernel.hookspecs import hookspec

if TYPE_CHECKING:
    from kernel.app import Kernel


@hookspec
def crosslink_orchestrator_decomposers(kernel: Kernel) -> list[Any] | None:
    """Offer decomposers: objects that turn a design document into a raw plan.

    Each has a ``name`` (``[a-z0-9_-]``, chosen by ``[plugins.orchestrator] decomposer`` or the
    ``decomposer`` field of ``POST /orchestrator/decompose``), a one-line ``description``, and
    ``async def decompose(request) -> dict``: given a
    :class:`~plugins.orchestrator.decomposer.DecomposeRequest` (``document``, ``slug``), return
    the plan in the LLM envelope's shape, ``{"phases": [{"title", "description", "stages":
    [{"title", "description", "tasks": [...], "depends_on": ["<stage title>"], ...}],
    "gate_criteria": [...]}], "estimated_hours"}``. The orchestrator validates it, assigns ids
    and resolves ``depends_on`` titles to stage ids; a decomposer never needs to. Raise
    :class:`kernel.APIError` to answer the request with an error (a 4xx for bad input, a 502/503/
    504 when a tool it calls fails). Called once, after every plugin's services exist.

    :param kernel: the application kernel (settings, services, ``plugin_config``).
    :return: a list of decomposer objects, or ``None``.
    """


@hookspec
def crosslink_orchestrator_launchers(kernel: Kernel) -> list[Any] | None:
    """Offer launchers: objects that start a ready stage and tell when it has ended.

    Each has a ``name`` (chosen by ``[plugins.orchestrator] launcher`` or the ``launcher`` field
    of ``POST /orchestrator/execute``), a one-line ``description`` and:

    * ``check() -> None``: raise :class:`kernel.APIError` (400) when it cannot run with the
      current configuration (checked before an execution starts);
    * ``async def launch(run) -> Launched``: start the stage described by the
      :class:`~plugins.orchestrator.launcher.StageRun`; return a
      :class:`~plugins.orchestrator.launcher.Launched` with a JSON-able ``handle`` (stored with
      the stage, handed back after a restart) and, when the launcher itself learns the outcome,
      an awaitable ``outcome`` resolving to an :class:`~plugins.orchestrator.launcher.Outcome`;
      without one the stage stays ``running`` until an agent reports it;
    * ``async def resume(run) -> Launched``: after a restart (or when another instance takes
      over), pick up a stage that was running with ``run.handle``; raise
      :class:`~plugins.orchestrator.launcher.StageGone` with the reason when it cannot;
    * ``async def stop(run) -> None``: stop a running stage (cancel); best effort.

    :param kernel: the application kernel.
    :return: a list of launcher objects, or ``None``.
    """
