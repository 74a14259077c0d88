"""The records ACT leaves: decisions and corrective actions.

``improve.apply_policies`` makes them, and records as its own those other steps of the
ACT phase hand it (``extra_decisions``, ``extra_actions``: e.g. the retail library's
``complaints.overdue_actions``); the engine stores both as they are (extra action keys
are kept with the action and come back with it in ``StepContext.actions`` of later cycles).
"""

from __future__ import annotations

from pydantic import ConfigDict, with_config
# typing_extensions' TypedDict: pydantic converts `with:` values to these on Python 3.11 only with it.
from typing_extensions import NotRequired, TypedDict


class Decision(TypedDict):
    policy: str
    kpi: str | None
    fired: bool
    reason: str
    effects: list[str]


@with_config(ConfigDict(extra="allow"))  # a step's own keys (what the action is about) pass `with:` intact
class ActionRecord(TypedDict):
    """A corrective action opened this cycle: ``id`` is ``process#cycle/name``, ``due`` an ISO date.

    ``due_days`` (the policy's) dates the action again when it is reopened; ``escalation``
    is its chain of owners (see :mod:`pdcaflow.engine.pdca.action_followup`). The step that
    opens an action may add keys naming what it is about (the retail library's
    ``complaint_id`` ...); they are kept with it.
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
