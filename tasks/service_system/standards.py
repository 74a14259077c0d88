"""service.standards: the operating mechanism of the nine-element system (measurable standards, owned)."""

from __future__ import annotations

from typing import Literal, TypedDict

from pydantic import BaseModel, ConfigDict, Field

from pdcaflow.tasks.sdk.registry import StepContext, task

ResearchMethod = Literal["survey", "interview", "complaint_analysis", "sales_analysis", "front_line_reports"]


class ServiceStandard(BaseModel):
    """One published, measurable service standard."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(description="short name, e.g. 'hotline_answer'")
    description: str = Field(min_length=1, description="what the customer is promised")
    measure: str = Field(min_length=1, description="what is measured, e.g. 'calls answered within 20 s'")
    unit: str = Field(min_length=1, description="e.g. '%', 'hours'")
    target: float = Field(description="the promised value, in `unit`")
    owner: str = Field(min_length=1, description="the role accountable for the standard")


class StandardsResult(TypedDict):
    mechanism: str
    standards_total: int
    measurable_pct: float
    owners_assigned_pct: float


class ResearchResult(TypedDict):
    needs: str
    responses: int
    response_rate: float
    needs_found: int
    unmet_needs: list[str]


class DesignResult(TypedDict):
    plan: str
    offerings: int
    new_offerings: int
    retired_offerings: int
    needs_covered_pct: float


@task("service.standards")
def publish_standards(
    context: StepContext,
    *,
    standards: list[ServiceStandard],
    roles: dict[str, str] | None = None,
) -> StandardsResult:
    """Publish the operating mechanism: measurable service standards, each with an owner.

    Checks every standard is measurable (a measure, a unit, a target) and owned,
    and publishes them with the ``roles`` (platform -> accountable role) as the
    mechanism the rest of the cycle works to.

    Args:
        context: the cycle this step runs in (passed by the engine).
        standards: the service standards in force this cycle.
        roles: who runs each of the system's platforms, e.g. ``{complaints: complaint-desk}``.

    Returns:
        ``mechanism`` (a reference to the published version), ``standards_total``,
        ``measurable_pct`` and ``owners_assigned_pct`` (both % of standards).
    """
    raise NotImplementedError("service.standards is registered for validation; its body arrives with the seven-step model issue")
