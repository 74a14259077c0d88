"""demand.research: ranked unmet needs per segment from surveys, complaint themes and front-line reports."""

from __future__ import annotations

from typing import Literal, TypedDict

from pydantic import BaseModel, ConfigDict, Field

from pdcaflow.tasks.sdk.registry import ProjectSource, StepContext, task

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


@task("demand.research")
def research(
    context: StepContext,
    *,
    source: ProjectSource,
    methods: tuple[ResearchMethod, ...] = ("survey", "complaint_analysis"),
    sample_size: int = 300,
    segments: tuple[str, ...] = (),
) -> ResearchResult:
    """Research what customers need and expect, and which of those needs go unmet.

    Combines the chosen ``methods``: survey answers, interviews, an analysis of the
    period's complaints and of sales, and reports from front-line staff. A need is
    unmet when customers name it and no current offering covers it.

    Args:
        context: the cycle this step runs in (passed by the engine).
        source: a CSV directory or ``connection:NAME`` with survey answers, interview notes and reports.
        methods: the research methods used this cycle.
        sample_size: customers invited to the survey.
        segments: customer segments to report on separately; empty for all together.

    Returns:
        ``needs`` (a reference the design step reads), ``responses``, ``response_rate``
        (% of those invited), ``needs_found`` and ``unmet_needs`` (their names).
    """
    raise NotImplementedError("demand.research is registered for validation; its body arrives with the seven-step model issue")
