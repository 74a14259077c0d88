"""Run one step's task: fill in its ``with:`` from the cycle's context, call it, check what it returns.

Plain Python, no Prefect and no store: ``pdcaflow.engine.runtime.cycle`` decides when a step runs
and records the outcome; ``flows/`` wraps the call in a Prefect task.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from functools import lru_cache
from typing import Any, Protocol

from pydantic import TypeAdapter, ValidationError

from pdcaflow.engine.errors import PdcaError
from pdcaflow.engine.definition.compile import PlannedStep
from pdcaflow.engine.definition.evaluation import Template, evaluate, render_template
from pdcaflow.engine.definition.expressions import ExpressionError
from pdcaflow.engine.definition.model import ProcessDefinition
from pdcaflow.tasks.sdk.project_config import ConfigError
from pdcaflow.tasks.sdk.project_paths import PathRefused, value_for_run
from pdcaflow.tasks.sdk.registry import StepContext, TaskSpec


# Outputs are recorded in the audit trail for good: one step's canonical JSON may hold at most this much.
MAX_OUTPUT_BYTES = 1_000_000


class StepError(PdcaError):
    """A step could not run or its task failed; the message names the step and what went wrong.

    ``retryable`` is False when another attempt cannot help (an expression or a value that
    does not fit, a task that is not implemented, outputs of the wrong shape): the step's
    ``retries`` are then not spent waiting.
    """

    def __init__(self, step_id: str, message: str, *, retryable: bool = False) -> None:
        super().__init__(f"step '{step_id}': {message}")
        self.step_id = step_id
        self.retryable = retryable


class BeforeTask(Protocol):
    """A hook whoever runs the cycles may install: called before every task call of a step.

    It gets the registered task's name and the step's inputs as the task will get them
    (converted, every parameter present, defaults filled in; no context). ``pdca demo``
    installs the sample world's (``simulate_before_delivery``): the world simulates the
    month a ``service.deliver`` step is about to read. Its failure is the step's failure.
    """

    def __call__(self, *, task: str, inputs: Mapping[str, Any]) -> None: ...


def render_value(value: Any, context: Mapping[str, Any]) -> Any:
    """Fill in every ``${{ }}`` inside a ``with:`` value (nested lists and mappings included).

    The plan's values hold their expressions parsed (``Template``); a plain string is parsed here.
    """
    if isinstance(value, Template) or (isinstance(value, str) and "${{" in value):
        return render_template(value, context)
    if isinstance(value, dict):
        return {key: render_value(item, context) for key, item in value.items()}
    if isinstance(value, list):
        return [render_value(item, context) for item in value]
    return value


def should_run(step: PlannedStep, context: Mapping[str, Any]) -> bool:
    """The value of the step's ``when:`` (True when it has none)."""
    if step.when is None:
        return True
    try:
        return bool(evaluate(step.when.expr, context))
    except ExpressionError as exc:
        raise StepError(step.id, f"`when: {step.when.text}` could not be evaluated: {exc.message}") from exc


@lru_cache(maxsize=512)
def _adapter(annotation: Any) -> TypeAdapter[Any]:
    return TypeAdapter(annotation)


def call_task(step: PlannedStep, spec: TaskSpec, context: Mapping[str, Any], step_context: StepContext,
              before_task: BeforeTask | None = None) -> dict[str, Any]:
    """Render ``with:``, convert each value to the parameter's type, call the task, check its outputs.

    ``before_task``, when given, is called with the converted inputs just before the task.

    Raises:
        StepError: an expression failed, a value does not fit, the task raised, or its
            outputs are not a JSON-ready mapping with the declared keys.
    """
    try:
        values = {key: render_value(value, context) for key, value in step.with_.items()}
    except ExpressionError as exc:
        raise StepError(step.id, f"`with:` expression failed: {exc.message}") from exc
    kwargs: dict[str, Any] = {}
    for param in spec.params:
        if param.name not in values:
            continue
        try:
            kwargs[param.name] = _adapter(param.annotation).validate_python(values[param.name])
        except ValidationError as exc:
            first = exc.errors(include_url=False)[0]
            raise StepError(step.id, f"`with.{param.name}` = {values[param.name]!r}: {first['msg']}") from exc
    kwargs.update(_project_paths(step, spec, kwargs, step_context))
    if before_task is not None:
        _before(before_task, step, spec, kwargs)
    if spec.context_param is not None:
        kwargs[spec.context_param] = step_context
    try:
        result = spec.function(**kwargs)
    except NotImplementedError as exc:
        raise StepError(step.id, f"task '{spec.name}' is not implemented: {exc}") from exc
    except Exception as exc:  # a task's failure is the step's failure, whatever it raised
        raise StepError(step.id, f"task '{spec.name}' failed: {type(exc).__name__}: {exc}", retryable=True) from exc
    return _checked_outputs(step, spec, result)


def _before(hook: BeforeTask, step: PlannedStep, spec: TaskSpec, kwargs: Mapping[str, Any]) -> None:
    inputs = {param.name: kwargs.get(param.name, param.default) for param in spec.params}
    try:
        hook(task=spec.name, inputs=inputs)
    except Exception as exc:  # like a task's own failure: another attempt may succeed
        raise StepError(step.id, f"before task '{spec.name}': {type(exc).__name__}: {exc}", retryable=True) from exc


def _project_paths(step: PlannedStep, spec: TaskSpec, kwargs: Mapping[str, Any],
                   step_context: StepContext) -> dict[str, str]:
    """The path values checked again now and made absolute (symlinks resolved), connections as URLs.

    A task's own default path counts too: it is relative to the project root like one the definition names.
    """
    checked: dict[str, str] = {}
    for param in spec.params:
        value = kwargs.get(param.name, param.default)
        if param.path is None or not isinstance(value, str):
            continue
        try:
            checked[param.name] = value_for_run(value, param.path, step_context.project_config())
        except (PathRefused, ConfigError) as exc:
            raise StepError(step.id, f"`with.{param.name}` refused: {exc}") from exc
    return checked


def _checked_outputs(step: PlannedStep, spec: TaskSpec, result: Any) -> dict[str, Any]:
    if result is None:
        result = {}
    if not isinstance(result, Mapping):
        raise StepError(step.id, f"task '{spec.name}' returned {type(result).__name__}, not a mapping of outputs")
    outputs = dict(result)
    if spec.outputs is not None:
        missing = [name for name in spec.outputs if name not in outputs]
        if missing:
            raise StepError(step.id, f"task '{spec.name}' did not return {', '.join(missing)}")
    try:
        text = json.dumps(outputs, allow_nan=False, default=_refuse, ensure_ascii=False, sort_keys=True,
                          separators=(",", ":"))  # the canonical form the audit trail stores
    except (TypeError, ValueError) as exc:
        raise StepError(step.id, f"task '{spec.name}' returned outputs that are not JSON data: {exc}") from exc
    size = len(text.encode("utf-8"))
    if size > MAX_OUTPUT_BYTES:
        raise StepError(step.id, f"task '{spec.name}' returned {size / 1e6:.1f} MB of outputs; the audit trail "
                                 f"records at most {MAX_OUTPUT_BYTES / 1e6:.1f} MB per step: return a summary or "
                                 "fewer rows (e.g. a smaller max_rows)")
    return json.loads(text)


def _refuse(value: Any) -> Any:
    if isinstance(value, tuple | set | frozenset):
        return list(value)
    raise TypeError(f"{type(value).__name__} {value!r} cannot be stored")


def kpi_actuals(definition: ProcessDefinition, outputs: Mapping[str, Mapping[str, Any]]) -> dict[str, float | None]:
    """Each KPI's value read from the step output its ``source`` names; None when absent or not a number."""
    actuals: dict[str, float | None] = {}
    for kpi in definition.kpis:
        value: Any = outputs
        for part in kpi.source.split("."):
            value = value.get(part) if isinstance(value, Mapping) else None
        number = value if isinstance(value, int | float) and not isinstance(value, bool) else None
        actuals[kpi.id] = float(number) if number is not None and math.isfinite(number) else None
    return actuals
