"""service.design: the offerings per segment within the profitability limits; the plan DO carries out."""

from __future__ import annotations

from typing import Literal, TypedDict

from pydantic import BaseModel, ConfigDict, Field

from pdcaflow.tasks.sdk.registry import ProjectFile, StepContext, task

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


@task("service.design")
def design(
    context: StepContext,
    *,
    needs: ProjectFile,
    service_levels: dict[str, str],
    mechanism: str | None = None,
    max_new_offerings: int = 3,
    budget: float | None = None,
) -> DesignResult:
    """Design the service offerings for the next period from the researched needs and service levels.

    Matches each researched need to an offering (existing, new or retired) for each
    segment at its service level, keeping the total cost within ``budget``.

    Args:
        context: the cycle this step runs in (passed by the engine).
        needs: the researched needs (``steps.<research step>.needs``).
        service_levels: segment -> service level (``steps.<profitability step>.service_levels``).
        mechanism: the published standards (``steps.<standards step>.mechanism``).
        max_new_offerings: new offerings introduced per cycle at most.
        budget: the period's service budget, in the currency of the cost data; ``None`` for no cap.

    Returns:
        ``plan`` (a reference the service step carries out), ``offerings``,
        ``new_offerings``, ``retired_offerings`` and ``needs_covered_pct`` (% of found needs).
    """
    raise NotImplementedError("service.design is registered for validation; its body arrives with the seven-step model issue")
