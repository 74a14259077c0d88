"""The typed records CHECK and ACT exchange: KPI results, signals, decisions (actions and the
carry-over: :mod:`pdcaflow.engine.pdca.action_records`).

Frozen pydantic models: the step functions build and read these, and only at the
task boundary (``kpi.check``, ``improve.apply_policies``) are they turned into the
plain JSON the step outputs, the audit trail and expressions such as
``${{ steps.check.kpis }}`` hold (:meth:`Record.to_json`; :meth:`Record.from_json`
reads it back). The JSON form is the one these steps have always written: the
same keys, the statuses as the same strings (:class:`enum.StrEnum`), optional keys
left out rather than written as ``null`` where they were left out before.

The inputs ACT reads from the store or from earlier cycles (``StepContext.history``,
``StepContext.kpis``) are read with :class:`CycleResult`, which ignores keys it does
not know (the store adds ``kpi`` and ``cycle``).

Other ACT steps (the complaint library's ``complaints.overdue_actions``) build :class:`Decision`
and the plain shape :class:`ActionRecord` and hand them to ``improve.apply_policies``
(``extra_decisions``, ``extra_actions``); extra action keys (what the action is about) are kept.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import Any, ClassVar, Self

from pydantic import BaseModel, ConfigDict, model_validator, with_config
# typing_extensions' TypedDict: pydantic converts `with:` values to these on Python 3.11 only with it.
from typing_extensions import NotRequired, TypedDict

from pdcaflow.engine.pdca.spc_rules import Side
from pdcaflow.tasks.sdk.numbers import finite, show_target

JsonObject = dict[str, Any]
"""A record as JSON data: what a step output, a store column or an audit payload holds."""
Number = int | float
"""A number that reads back as it was written: pydantic keeps an ``int`` an ``int`` (a bare ``float``
field would make the definition's target ``4`` a ``4.0``, which is other JSON)."""


class KpiStatus(StrEnum):
    """A KPI's result in one cycle. A missed KPI is a result, never an error."""

    MET = "met"
    MISSED = "missed"
    NO_DATA = "no_data"


class Trend(StrEnum):
    UP = "up"
    DOWN = "down"
    FLAT = "flat"


class ControlStatus(StrEnum):
    """``tested``: limits computed and rules tested; otherwise why not."""

    TESTED = "tested"
    TOO_FEW_POINTS = "too_few_points"
    NO_DATA = "no_data"


class ActionStatus(StrEnum):
    """A corrective action's status (the store's ``ACTION_STATUSES``, in the same order)."""

    OPEN = "open"
    IN_PROGRESS = "in_progress"
    DONE = "done"
    VERIFIED = "verified"
    INEFFECTIVE = "ineffective"
    CANCELLED = "cancelled"


OPEN_STATUSES = (ActionStatus.OPEN, ActionStatus.IN_PROGRESS)
"""The statuses in which an action still has work to do (the store's ``OPEN_ACTION_STATUSES``)."""


class ActionChange(StrEnum):
    """What ACT's follow-up did to an action."""

    VERIFIED = "verified"
    INEFFECTIVE = "ineffective"
    REOPENED = "reopened"
    ESCALATED = "escalated"


class DecisionRule(StrEnum):
    """The rules ACT applies besides the definition's policies, as a decision's ``policy``
    (never a policy id: those have no ``-``)."""

    ACTION_VERIFICATION = "action-verification"
    ACTION_OVERDUE = "action-overdue"


class Record(BaseModel):
    """A frozen record with its JSON form."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    optional_keys: ClassVar[tuple[str, ...]] = ()
    """Keys left out of the JSON form when ``None`` (they were absent, not ``null``, before records)."""

    def to_json(self) -> JsonObject:
        """The record as JSON data (enums as their strings, tuples as lists)."""
        data = self.model_dump(mode="json")
        for key in self.optional_keys:
            if data.get(key) is None:
                data.pop(key, None)
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Self:
        """The record from its JSON form (or from any mapping of the same shape).

        Raises:
            pydantic.ValidationError: ``data`` does not have the record's shape.
        """
        return cls.model_validate(data)


class Target(Record):
    """A KPI's target: a ``min``, a ``max`` or both (a band); ``None`` where there is no bound."""

    min: Number | None = None
    max: Number | None = None

    @classmethod
    def of(cls, target: Mapping[str, Any] | None) -> Target:
        """The bounds of a target mapping (anything but a finite number is no bound)."""
        if not target:
            return cls()
        return cls(min=finite(target.get("min")), max=finite(target.get("max")))

    def describe(self) -> str:
        """``min 4.2``, ``max 48``, ``min 4, max 6``, or ``no target``."""
        return show_target(self.model_dump())


class Signal(Record):
    """A control-chart rule that fired on this cycle's point, with the cycles and numbers it saw."""

    rule: str
    description: str
    cycle: int | None
    cycles: tuple[int | None, ...]
    values: tuple[float, ...]
    side: Side
    threshold: float | None


class ControlChart(Record):
    """The control-chart record of one KPI in one cycle (kept in the audit trail with the KPI result).

    ``limits``: centre, sigma, ucl, lcl, the 1 and 2 sigma lines, mr_centre, mr_ucl and
    ``points`` (how many values they come from); ``None`` unless tested.
    ``limit_cycles``: the first and last cycle the limits come from. ``points``: the
    values charted (the window the rules saw).
    """

    chart: str
    rules: tuple[str, ...]
    baseline: int | None
    status: ControlStatus
    message: str
    limits: dict[str, int | float] | None = None
    limit_cycles: tuple[int | None, ...] = ()
    points: int = 0
    signals: tuple[Signal, ...] = ()


class KpiResult(Record):
    """One KPI's result in one cycle (see :func:`pdcaflow.engine.pdca.check.evaluate`).

    Read back from the store or from a hand-built context, a result may lack the
    later keys (they default) or its ``status`` (it follows from ``actual`` and the
    ``met``/``missed`` flags); keys it does not know are ignored.
    """

    model_config = ConfigDict(frozen=True, extra="ignore")
    optional_keys: ClassVar[tuple[str, ...]] = ("decimals",)

    actual: float | None = None
    target: Target = Target()
    met: bool | None = None
    missed: bool | None = None
    delta: float | None = None
    margin: float | None = None
    status: KpiStatus = KpiStatus.NO_DATA
    unit: str = ""
    decimals: int | None = None
    """The KPI's ``decimals:`` when its definition gives one (shown values only; ``actual`` stays exact)."""
    signals: tuple[str, ...] = ()
    trend: Trend | None = None
    control: ControlChart | None = None

    @model_validator(mode="before")
    @classmethod
    def _status_from_flags(cls, data: Any) -> Any:
        if not isinstance(data, Mapping) or data.get("status") in tuple(KpiStatus):
            return data
        if finite(data.get("actual")) is None:
            status = KpiStatus.NO_DATA
        else:
            status = KpiStatus.MET if data.get("met") else KpiStatus.MISSED if data.get("missed") else KpiStatus.NO_DATA
        return {**data, "status": status}


class CycleResult(KpiResult):
    """A KPI result with the cycle it was recorded in (``None``: not known), as ACT's tests read them."""

    cycle: int | None = None


class Decision(Record):
    """What one policy (or one of ACT's :class:`DecisionRule`) decided, and why, in numbers."""

    policy: str
    kpi: str | None
    fired: bool
    reason: str
    effects: tuple[str, ...]


@with_config(ConfigDict(extra="allow"))  # a step's own keys (what the action is about) pass `with:` intact
class ActionRecord(TypedDict):
    """A corrective action opened this cycle: ``id`` is ``process#cycle/name``, ``due`` an ISO date.

    ``due_days`` (the policy's) dates the action again when it is reopened; ``escalation``
    is its chain of owners (see :mod:`pdcaflow.engine.pdca.action_followup`). The step that
    opens an action may add keys naming what it is about (the complaint library's
    ``case_id``, ``complaint_id`` ...); they are kept with it.
    """

    id: str
    title: str
    owner: str
    due: str
    policy: str
    kpi: str | None
    verify_after: int | None
    opened_cycle: int
    status: str
    due_days: NotRequired[int]
    escalation: NotRequired[list[str]]
