"""The definition language: a process definition as pydantic models.

Every model rejects unknown keys (a typo is an error, never silently ignored).
Checks that need more than one field at a time (references between steps, KPIs
and params, dependency cycles, registered tasks) live in ``pdcaflow.engine.definition.semantic``;
this module checks the shape of each piece. Errors raised here use
``PydanticCustomError`` types named ``pdca_*`` so that ``pdcaflow.engine.definition.validate`` can
turn them into stable diagnostic codes.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, WithJsonSchema, field_validator, model_validator
from pydantic_core import PydanticCustomError

from pdcaflow.engine.definition.model_chains import EscalationChain

Phase = Literal["plan", "do", "check", "act"]
PHASES: tuple[Phase, ...] = ("plan", "do", "check", "act")
Direction = Literal["higher_is_better", "lower_is_better", "on_target"]
SignalRule = Literal[
    "we1", "we2", "we3", "we4",
    "nelson1", "nelson2", "nelson3", "nelson4", "nelson5", "nelson6", "nelson7", "nelson8",
]

NAME_PATTERN = r"^[a-z][a-z0-9_]{0,63}$"
PROCESS_ID_PATTERN = r"^[a-z][a-z0-9_-]{0,63}$"
USES_PATTERN = r"^([a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+|process:[a-z][a-z0-9_-]*)$"
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|h|d|w)\s*$")
_DURATION_UNITS, MAX_DURATION_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}, 10 * 366 * 86400
_PERCENT = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*%\s*$")


def _name(value: Any) -> Any:
    if isinstance(value, str) and not re.match(NAME_PATTERN, value):
        raise PydanticCustomError(
            "pdca_bad_name", "'{value}' is not a valid name: use lowercase letters, digits and '_', "
            "starting with a letter", {"value": value})
    return value


def _number(value: Any) -> Any:
    if isinstance(value, bool) or not isinstance(value, int | float):
        shown = f"text '{value}'" if isinstance(value, str) else f"{type(value).__name__} {value!r}"
        raise PydanticCustomError("pdca_not_number", "expected a number, got {shown}", {"shown": shown})
    return value


def parse_duration(value: Any) -> Any:
    """``30``, ``"30s"``, ``"5m"``, ``"2h"``, ``"7d"``, ``"1w"`` -> seconds (at most ten years)."""
    if isinstance(value, bool):
        raise PydanticCustomError("pdca_bad_duration", "expected a duration, got {value}", {"value": value})
    match = _DURATION.match(value) if isinstance(value, str) else None
    if not match and not isinstance(value, int | float):
        raise PydanticCustomError("pdca_bad_duration", "'{value}' is not a duration", {"value": value})
    seconds = float(match.group(1)) * _DURATION_UNITS[match.group(2)] if match else float(value)
    if seconds < 0:
        raise PydanticCustomError("pdca_bad_duration", "a duration cannot be negative", {})
    if seconds > MAX_DURATION_SECONDS:  # a timer past that overflows dates and sleeps: never a real plan
        raise PydanticCustomError("pdca_bad_duration", "a duration cannot be longer than ten years", {})
    return seconds


def _amount(value: Any) -> Any:
    if isinstance(value, str) and _PERCENT.match(value) and float(value.strip()[:-1]) < float("inf"):
        return value.strip()
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        raise PydanticCustomError(
            "pdca_bad_amount", "'{value}' is not an amount: write a positive number in the KPI's unit or a "
            "percentage such as '2%'", {"value": value})
    return value


Name = Annotated[str, BeforeValidator(_name), WithJsonSchema({"type": "string", "pattern": NAME_PATTERN})]
Number = Annotated[float, BeforeValidator(_number), WithJsonSchema({"type": "number"})]
Duration = Annotated[float, BeforeValidator(parse_duration), WithJsonSchema({
    "anyOf": [{"type": "number", "minimum": 0}, {"type": "string", "pattern": _DURATION.pattern}],
    "description": "seconds, or a number with a unit: s, m, h, d, w (e.g. '30s', '5m', '7d')",
})]
Amount = Annotated[float | str, BeforeValidator(_amount), WithJsonSchema({
    "anyOf": [{"type": "number", "exclusiveMinimum": 0}, {"type": "string", "pattern": _PERCENT.pattern}],
    "description": "a positive number in the KPI's unit, or a percentage of the current target ('2%')",
})]
Text = Annotated[str, Field(min_length=1, max_length=2000)]


class DefinitionModel(BaseModel):
    """Base of every definition model: unknown keys are errors; instances are immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class Schedule(DefinitionModel):
    """When cycles run on their own: a cron expression in a timezone, or a fixed interval."""

    cron: str | None = Field(None, description="five-field cron, e.g. '0 6 1 * *' (06:00 on the 1st)")
    interval: Duration | None = Field(None, description="a fixed period between cycles, e.g. '7d'")
    timezone: str = Field("UTC", description="IANA timezone the cron is read in, e.g. 'Asia/Shanghai'")
    catchup: Literal["none", "latest", "all"] = Field(
        "none", description="cycles missed while nothing was serving: run none, only the latest, or all")

    @field_validator("cron")
    @classmethod
    def _cron_parses(cls, value: str | None) -> str | None:
        if value is None:
            return value
        from cronsim import CronSim, CronSimError  # only when a cron is read: start-up speed of every command

        if len(value.split()) != 5:
            raise PydanticCustomError("pdca_bad_cron", "cron '{cron}' must have 5 fields "
                                      "(minute hour day-of-month month day-of-week)", {"cron": value})
        try:
            next(CronSim(value, datetime(2000, 1, 1)))
        except (CronSimError, StopIteration) as exc:
            raise PydanticCustomError("pdca_bad_cron", "cron '{cron}' does not parse: {why}",
                                      {"cron": value, "why": str(exc) or "no matching time"}) from exc
        return value

    @field_validator("timezone")
    @classmethod
    def _timezone_exists(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise PydanticCustomError("pdca_bad_timezone", "unknown timezone '{tz}'", {"tz": value}) from exc
        return value

    @model_validator(mode="after")
    def _one_kind(self) -> Schedule:
        if (self.cron is None) == (self.interval is None):
            raise PydanticCustomError("pdca_schedule_kind", "a schedule needs exactly one of `cron` or `interval`", {})
        return self


class Target(DefinitionModel):
    """A KPI's target: at least ``min``, at most ``max``, or both (a band)."""

    min: Number | None = Field(None, description="the KPI meets its target at or above this value")
    max: Number | None = Field(None, description="the KPI meets its target at or below this value")

    @model_validator(mode="after")
    def _bounds(self) -> Target:
        if self.min is None and self.max is None:
            raise PydanticCustomError("pdca_empty_target", "a target needs `min`, `max` or both", {})
        if self.min is not None and self.max is not None and self.min > self.max:
            raise PydanticCustomError("pdca_empty_target", "target min {lo} is above max {hi}",
                                      {"lo": self.min, "hi": self.max})
        return self

    @property
    def implied_direction(self) -> Direction:
        if self.min is not None and self.max is not None:
            return "on_target"
        return "higher_is_better" if self.min is not None else "lower_is_better"


class Control(DefinitionModel):
    """Control-chart settings for a KPI's history."""

    chart: Literal["xmr"] = Field("xmr", description="individuals / moving-range chart")
    rules: list[SignalRule] = Field(["we1"], min_length=1, description="Western Electric / Nelson rules to test")
    baseline: int | None = Field(None, ge=2, description="fix the limits on the first N cycles")


class Kpi(DefinitionModel):
    """A measurable indicator: a number with a unit, a target, and where it is read from."""

    id: Name
    title: Text | None = None
    description: str | None = None
    unit: Text = Field(description="the unit the value is in, e.g. '%', 'hours', 'score (1-5)'")
    decimals: int | None = Field(None, ge=0, le=6, description="decimals shown (0-6); default by unit, e.g. '%' 1")
    target: Target
    direction: Direction | None = Field(None, description="defaults from the target: min -> higher_is_better, "
                                        "max -> lower_is_better, both -> on_target")
    source: str = Field(pattern=r"^[a-z][a-z0-9_]*(\.[A-Za-z0-9_]+)+$",
                        description="the step output the value is read from: `step_id.output`")
    control: Control | None = None

    @property
    def effective_direction(self) -> Direction:
        return self.direction or self.target.implied_direction


class ApprovalLevel(DefinitionModel):
    """One level of a multi-level sign-off (e.g. self, department, company): who may sign it."""

    name: Name = Field(description="the level's name, e.g. `self`, `department`, `company`")
    approvers: list[Text] = Field(min_length=1, description="people or roles who may sign this level")


class Approval(DefinitionModel):
    """A human gate on a step's outputs: recorded only once every level is signed, in order.

    ``approvers`` is the one-level form; ``levels`` the multi-level one (exactly one of them).
    ``timeout`` is how long each level may wait for its answer; then ``on_timeout`` applies:
    ``reject`` fails the step, ``escalate`` lets ``escalate_to`` answer that level for another
    ``timeout`` (and rejects when that passes too).
    """

    approvers: list[Text] | None = Field(None, min_length=1, description="people or roles who may approve (one level)")
    levels: list[ApprovalLevel] | None = Field(None, min_length=1, description="levels signed in order, each by "
                                               "one of its approvers (instead of `approvers`)")
    instructions: str | None = None
    timeout: Duration | None = Field(None, description="how long each level waits for an answer, e.g. '3d'")
    on_timeout: Literal["reject", "escalate"] = Field("reject", description="when a level times out: fail the step, "
                                                      "or hand the level to `escalate_to`")
    escalate_to: list[Text] | None = Field(None, min_length=1, description="who may answer a level that timed out "
                                           "(with `on_timeout: escalate`)")

    @model_validator(mode="after")
    def _shape(self) -> Approval:
        if (self.approvers is None) == (self.levels is None):
            raise PydanticCustomError("pdca_approval_shape", "an approval needs exactly one of `approvers` "
                                      "(one level) or `levels` (signed in order)", {})
        if self.levels is not None:
            names = [level.name for level in self.levels]
            repeated = sorted({name for name in names if names.count(name) > 1})
            if repeated:
                raise PydanticCustomError("pdca_approval_levels", "approval level '{name}' is named twice",
                                          {"name": repeated[0]})
        if self.on_timeout == "escalate" and (self.escalate_to is None or self.timeout is None):
            raise PydanticCustomError("pdca_approval_timeout", "`on_timeout: escalate` needs `timeout` and "
                                      "`escalate_to` (who answers once a level timed out)", {})
        if self.escalate_to is not None and self.on_timeout != "escalate":
            raise PydanticCustomError("pdca_approval_timeout", "`escalate_to` is only used with "
                                      "`on_timeout: escalate`", {})
        return self

    @property
    def signing_levels(self) -> list[ApprovalLevel]:
        """The levels in signing order (the one-level form as a level named `approval`)."""
        if self.levels is not None:
            return list(self.levels)
        return [ApprovalLevel(name="approval", approvers=list(self.approvers or []))]


class Step(DefinitionModel):
    """One unit of work in a cycle, run by a registered task or a sub-process."""

    id: Name
    title: Text | None = None
    description: str | None = None
    phase: Phase
    uses: str = Field(pattern=USES_PATTERN, description="a registered task (`pdca tasks`) or `process:<id>`")
    with_: dict[str, Any] = Field(default_factory=dict, alias="with", description="the task's parameters")
    needs: list[Name] = Field(default_factory=list, description="steps that must finish first")
    when: str | None = Field(None, description="run only when this expression is true")
    retries: int = Field(0, ge=0, le=20)
    retry_delay: Duration = Field(10.0, description="wait between retries")
    timeout: Duration | None = None
    approval: Approval | None = None

    @property
    def is_subprocess(self) -> bool:
        return self.uses.startswith("process:")


class Condition(DefinitionModel):
    """When a policy fires: a KPI missed, met, signalled or trending, or an expression."""

    kpi: Name | None = None
    missed: Literal[True] | None = None
    met: Literal[True] | None = None
    signal: SignalRule | None = None
    trend: Literal["up", "down"] | None = None
    cycles: int = Field(1, ge=1, le=100, description="in this many consecutive cycles")
    expr: str | None = Field(None, description="an expression over kpis, params, previous")

    @model_validator(mode="after")
    def _one_test(self) -> Condition:
        tests = [name for name in ("missed", "met", "signal", "trend", "expr") if getattr(self, name) is not None]
        if len(tests) != 1:
            raise PydanticCustomError("pdca_condition", "a `when` needs exactly one of missed, met, signal, "
                                      "trend or expr (found {found})", {"found": ", ".join(tests) or "none"})
        if self.expr is None and self.kpi is None:
            raise PydanticCustomError("pdca_condition", "`{test}` needs a `kpi`", {"test": tests[0]})
        return self


class ParamChange(DefinitionModel):
    """Change a param for the next cycle: set it, add to it or multiply it, within bounds."""

    param: str = Field(pattern=r"^[a-z][a-z0-9_]*(\.[A-Za-z0-9_]+)*$", description="dotted path into params")
    set: Any = None
    add: Number | None = None
    multiply: Number | None = None
    min: Number | None = Field(None, description="never below this")
    max: Number | None = Field(None, description="never above this")

    @model_validator(mode="after")
    def _one_change(self) -> ParamChange:
        given = [name for name in ("set", "add", "multiply") if getattr(self, name) is not None]
        if len(given) != 1:
            raise PydanticCustomError("pdca_change", "a param change needs exactly one of set, add or multiply "
                                      "(found {found})", {"found": ", ".join(given) or "none"})
        return self


class Capability(DefinitionModel):
    """A target from what the process shows it can do: mean -/+ k sigma of the KPI's last N cycles."""

    k: Number = Field(gt=0, le=6, description="how many sigmas from the mean the target lies")
    cycles: int = Field(ge=2, le=100, description="the last N cycles (this one included) the mean and sigma are of")


class TargetChange(DefinitionModel):
    """Move a KPI's target for the next cycle."""

    kpi: Name
    set: Target | None = None
    tighten: Amount | None = None
    relax: Amount | None = None
    capability: Capability | None = Field(None, description="mean -/+ k sigma of the last N cycles")
    limit: Number | None = Field(None, description="never move the target past this value")

    @model_validator(mode="after")
    def _one_change(self) -> TargetChange:
        given = [name for name in ("set", "tighten", "relax", "capability") if getattr(self, name) is not None]
        if len(given) != 1:
            raise PydanticCustomError("pdca_change", "a target change needs exactly one of set, tighten, relax or "
                                      "capability (found {found})", {"found": ", ".join(given) or "none"})
        return self


class ActionSpec(DefinitionModel):
    """A corrective action to open: who owns it and by when."""

    title: Text = Field(description="what must be done; may use ${{ }} expressions")
    owner: Text
    due_days: int = Field(ge=1, le=3650)
    verify_after: int | None = Field(None, ge=1, le=24, description="cycles after `done` to check it worked")
    escalate_to: EscalationChain | None = Field(None, description="who takes the action over, in order, when it "
                                                "is overdue or failed verification (default: the process's `escalation`)")


class Ratchet(DefinitionModel):
    """Tighten a KPI's target after it was met N cycles in a row, never past a limit."""

    kpi: Name
    after_met_cycles: int = Field(ge=1, le=100)
    tighten: Amount
    limit: Number | None = None


def _as_list(value: Any) -> Any:
    return [value] if isinstance(value, dict) else value


class Policy(DefinitionModel):
    """An improvement rule applied in ACT: a condition and its effects, or a ratchet."""

    id: Name
    title: Text | None = None
    when: Condition | None = None
    change: Annotated[list[ParamChange], BeforeValidator(
        _as_list, json_schema_input_type=ParamChange | list[ParamChange])] = Field(default_factory=list)
    change_target: TargetChange | None = None
    open_action: ActionSpec | None = None
    ratchet: Ratchet | None = None

    @model_validator(mode="after")
    def _shape(self) -> Policy:
        effects = bool(self.change) or self.change_target is not None or self.open_action is not None
        if self.ratchet is not None and (self.when is not None or effects):
            raise PydanticCustomError("pdca_policy_shape", "a `ratchet` policy stands alone: move `when` and its "
                                      "effects to a policy of their own", {})
        if self.ratchet is None and self.when is None:
            raise PydanticCustomError("pdca_policy_shape", "a policy needs `when` (with an effect) or `ratchet`", {})
        if self.when is not None and not effects:
            raise PydanticCustomError("pdca_policy_shape", "policy has a `when` but no effect: add `change`, "
                                      "`change_target` or `open_action`", {})
        return self


class ProcessDefinition(DefinitionModel):
    """A PDCA process: its steps, KPIs, params, policies and schedule."""

    id: Annotated[str, Field(pattern=PROCESS_ID_PATTERN, description="stable id, e.g. 'retail-customer-service'")]
    title: Text
    owner: Text = Field(description="the person or team accountable for the process")
    description: str | None = None
    schedule: Schedule | None = None
    params: dict[str, Any] = Field(default_factory=dict, description="plan values that ACT may change")
    kpis: list[Kpi] = Field(default_factory=list)
    steps: list[Step] = Field(min_length=1)
    policies: list[Policy] = Field(default_factory=list)
    escalation: EscalationChain | None = Field(None, description="default escalation chain of corrective actions, "
                                               "e.g. [team-lead, service-manager, director]")

    def step(self, step_id: str) -> Step | None:
        return next((step for step in self.steps if step.id == step_id), None)

    def kpi(self, kpi_id: str) -> Kpi | None:
        return next((kpi for kpi in self.kpis if kpi.id == kpi_id), None)
