"""ACT's records about corrective actions and what a cycle carries over: see :mod:`pdcaflow.engine.pdca.records`."""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import ConfigDict

from pdcaflow.engine.pdca.records import ActionChange, ActionStatus, Decision, JsonObject, KpiResult, Record, Target


class Action(Record):
    """A corrective action opened this cycle: ``id`` is ``process#cycle/name``, ``due`` an ISO date.

    ``due_days`` (the policy's) dates the action again when it is reopened; ``escalation``
    is its chain of owners (see :mod:`pdcaflow.engine.pdca.action_followup`). Keys beyond
    these (an action opened for one complaint names it) are kept, after these.
    """

    model_config = ConfigDict(frozen=True, extra="allow")
    optional_keys: ClassVar[tuple[str, ...]] = ("due_days", "escalation")

    id: str
    title: str
    owner: str
    due: str
    policy: str
    kpi: str | None
    verify_after: int | None
    opened_cycle: int
    status: ActionStatus = ActionStatus.OPEN
    due_days: int | None = None
    escalation: tuple[str, ...] | None = None

    def describe(self) -> str:
        """The effect a decision records for opening it."""
        return f"opened action {self.id} for {self.owner}, due {self.due}"


class ActionUpdate(Record):
    """One change ACT makes to an action: the new ``status``, ``owner`` and ``due`` (each only when it
    changes), and why, in numbers."""

    optional_keys: ClassVar[tuple[str, ...]] = ("status", "owner", "due")

    id: str
    change: ActionChange
    status: ActionStatus | None = None
    owner: str | None = None
    due: str | None = None
    reason: str
    kpi: str | None = None


class ParamChange(Record):
    """A param whose next-cycle value differs from this cycle's: ``old`` before ACT, ``new`` after
    every policy; ``policy`` and ``clamped`` describe the last change to it."""

    old: Any
    new: Any
    policy: str
    clamped: bool


class TargetChange(Record):
    """A KPI target that moved: bounds before ACT and after every policy; ``policy`` moved it last."""

    old_min: float | None
    old_max: float | None
    new_min: float | None
    new_max: float | None
    policy: str


class CarryOver(Record):
    """What the next cycle starts from (``cycle.completed``'s carry-over, ``StepContext.previous``).

    ``actions`` are in the store's shape (:func:`pdcaflow.engine.store.results.action_dict`,
    after ACT's changes), so they stay JSON here.
    """

    cycle: int
    params: dict[str, Any]
    targets: dict[str, Target]
    kpis: dict[str, KpiResult]
    decisions: tuple[Decision, ...]
    actions: tuple[JsonObject, ...]
