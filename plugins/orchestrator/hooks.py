"""Hook implementations of the orchestrator plugin, including its own hooks: the built-in
decomposers and launchers are offered through them exactly as a third party's are."""

from __future__ import annotations

from kernel import ConfigSection, PluginInfo, StorageSpec, hookimpl

from . import hookspecs
from .command_launcher import CommandLauncher
from .config import OrchestratorConfig
from .driver import Driver
from .events import EVENTS
from .llm_command import CommandDecomposer
from .manual_launcher import ManualLauncher
from .markdown_plan import MarkdownDecomposer
from .migrations import MIGRATIONS
from .service import OrchestratorService

PLUGIN = PluginInfo(
    name="orchestrator",
    requires=("issues",),
    description="Design documents into phased plans (markdown or an LLM command), executed through launchers",
    paths=("/api/v1/orchestrator",),
)


def _config(kernel) -> OrchestratorConfig:
    return kernel.plugin_config("orchestrator") or OrchestratorConfig()


def _cwd(kernel) -> str:
    """Where stage and gate commands run: ``working_directory`` (relative to the repository) or
    the repository itself."""
    return str(kernel.settings.repo_root / (_config(kernel).working_directory or "."))


def _service(kernel) -> OrchestratorService:
    return kernel.services.require("orchestrator")


@hookimpl
def crosslink_add_hookspecs(pm):
    """Add ``crosslink_orchestrator_decomposers`` and ``crosslink_orchestrator_launchers``."""
    pm.add_hookspecs(hookspecs)


@hookimpl
def crosslink_config_section():
    """Declare ``[plugins.orchestrator]`` (decomposer, launcher, commands, limits, gating)."""
    return ConfigSection("orchestrator", OrchestratorConfig, "Orchestrator: decomposers, launchers, gates")


@hookimpl
def crosslink_register_models():
    """Plans, executions, their phases and stages, kept stage logs (``server_orchestrator_*``)."""
    return StorageSpec("orchestrator", models=["plugins.orchestrator.models"], migrations=MIGRATIONS)


@hookimpl
def crosslink_register_events():
    """``execution_progress``, ``execution_state`` and ``phase_gate`` on the ``execution`` channel."""
    return EVENTS


@hookimpl
def crosslink_register_services(kernel, registry):
    """Provide the ``orchestrator`` service (see :mod:`plugins.orchestrator.contract`)."""
    registry.provide("orchestrator", OrchestratorService(kernel, _config(kernel)))


@hookimpl
def crosslink_orchestrator_decomposers(kernel):
    """The built-in decomposers: ``markdown`` (no LLM) and ``command`` (an LLM command line)."""
    return [MarkdownDecomposer(), CommandDecomposer(_config(kernel), _cwd(kernel))]


@hookimpl
def crosslink_orchestrator_launchers(kernel):
    """The built-in launchers: ``command`` (a process per stage) and ``manual`` (agents report)."""
    return [CommandLauncher(_config(kernel), _cwd(kernel)), ManualLauncher()]


@hookimpl
def crosslink_register_blueprints(kernel):
    """The ``/orchestrator`` routes. The decomposers and launchers are collected here, once
    every plugin's services exist."""
    from .routes import create_blueprint

    service = _service(kernel)
    service.decomposers.collect(kernel)
    service.launchers.collect(kernel)
    return [create_blueprint(kernel, service)]


@hookimpl
def crosslink_startup(kernel):
    """Keep the stage runs' logs and status files (``.crosslink/orchestrator/runs/``) out of git."""
    kernel.keep_out_of_git("orchestrator/runs/")


@hookimpl
def crosslink_register_workers(kernel):
    """The execution driver, a singleton: one instance of a team server drives executions."""
    return [Driver(_service(kernel)).worker()]


@hookimpl
def crosslink_on_event(kernel, event, entry):
    """Wake the driver when another instance changed an execution (the kernel relays other
    instances' events); this instance's own changes woke it already."""
    if event.channel == "execution" and not entry.local:
        _service(kernel).wake()
