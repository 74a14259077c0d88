"""Service-quality tasks of the nine-element service system: standards, demand research, design.

A service standard is only useful if it can be checked: each one names what is
measured, in which unit, against which target, and who owns it ("reply promptly"
is not a standard; "answer 90 % of hotline calls within 20 s" is).
"""

from __future__ import annotations

from typing import Literal, TypedDict

from pydantic import BaseModel, ConfigDict, Field

from pdcaflow.tasks.sdk.registry import ProjectFile, ProjectSource, StepContext, task

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
