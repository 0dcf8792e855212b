"""Events of the ``execution`` channel."""

from __future__ import annotations

from kernel import Event


class ExecutionProgress(Event):
    """A stage changed status (the contract's event): ``status`` is the new one (``running``,
    ``done``, ``failed``, ``skipped``, or ``pending`` after a retry or a re-run); ``agent_id``
    is the agent working on it, or ``null``. Every stage transition sends one, after commit."""

    type = "execution_progress"
    channel = "execution"

    plan_id: str
    phase_id: str
    stage_id: str
    status: str
    agent_id: str | None = None
    execution_id: int
    message: str | None = None


class ExecutionState(Event):
    """The execution changed state: ``running`` (started or resumed), ``paused``, ``done``,
    ``failed`` (``message`` says why) or ``cancelled``; ``previous`` is the state before."""

    type = "execution_state"
    channel = "execution"

    execution_id: int
    plan_id: str
    state: str
    previous: str | None = None
    message: str | None = None


class PhaseGate(Event):
    """A phase's gate changed (phase gating on): ``running`` (its gate command started),
    ``passed``, ``failed`` (``message`` says why), ``skipped``, or ``pending`` after a retry."""

    type = "phase_gate"
    channel = "execution"

    execution_id: int
    plan_id: str
    phase_id: str
    status: str
    message: str | None = None


EVENTS = [ExecutionProgress, ExecutionState, PhaseGate]
