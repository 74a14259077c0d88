"""How a process's KPIs are shown: their order (the YAML's), titles, and the decimals of their numbers.

Every table and line that shows KPIs (a run's summary, ``pdca status``, ``pdca audit
kpis`` and ``show``, the demo) takes these from the definition: the one a run
runs, or for the review commands the latest version the store recorded for the
process (its exact YAML). A KPI no definition names any more (an old result) keeps
its id, its recorded unit, and comes after the others.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pdcaflow.engine.definition.model import ProcessDefinition
from pdcaflow.engine.errors import PdcaError
from pdcaflow.tasks.sdk.display import bound, decimals_for, fixed, rounded, signed

if TYPE_CHECKING:  # the store loads only where a command reads it (pdca validate and demo import this module)
    from sqlalchemy.orm import Session


@dataclass(frozen=True)
class KpiLabel:
    """One KPI as people read it: ``title`` (``None``: the YAML gives none) and the decimals of its numbers."""

    id: str
    title: str | None = None
    unit: str = ""
    decimals: int | None = None  # the YAML's `decimals:`; None: the unit's default

    @property
    def places(self) -> int:
        return decimals_for(self.unit, self.decimals)

    @property
    def name(self) -> str:
        """The title where the YAML gives one, else the id."""
        return self.title or self.id

    @property
    def full_name(self) -> str:
        """``Title (id)``, or the id alone: the id is what the commands take."""
        return f"{self.title} ({self.id})" if self.title else self.id

    def value(self, number: Any) -> str:
        """A value or a centre line with the KPI's decimals (``4.06``); ``-`` for none."""
        return fixed(number, self.places)

    def in_text(self, number: Any) -> str:
        """A value inside a sentence: at most the KPI's decimals (``4.2``, ``2.06``); ``-`` for none."""
        return "-" if number is None else rounded(number, self.places)

    def change(self, number: Any) -> str:
        """A change with its sign (``+0.02``); ``-`` for none."""
        return signed(number, self.places)

    def target(self, target: Mapping[str, Any] | None) -> str:
        """``>= 4.2``, ``<= 48`` or ``4 .. 6``: the bounds as the numbers they are; ``-`` for none."""
        if not target or (target.get("min") is None and target.get("max") is None):
            return "-"
        low, high = target.get("min"), target.get("max")
        if low is not None and high is not None:
            return f"{bound(low)} .. {bound(high)}"
        return f">= {bound(low)}" if low is not None else f"<= {bound(high)}"


class KpiLabels:
    """A process's KPI labels in the YAML's order."""

    def __init__(self, labels: Iterable[KpiLabel] = ()) -> None:
        self._labels = {label.id: label for label in labels}

    def of(self, kpi_id: str, result: Mapping[str, Any] | None = None) -> KpiLabel:
        """The KPI's label; for a KPI the definition does not name, one made from its recorded result."""
        known = self._labels.get(kpi_id)
        if known is not None:
            return known
        result = result or {}
        return KpiLabel(kpi_id, unit=str(result.get("unit") or ""), decimals=result.get("decimals"))

    def ordered(self, kpi_ids: Iterable[str]) -> list[str]:
        """``kpi_ids`` in the YAML's order; ids it does not name after them, alphabetically."""
        position = {kpi_id: index for index, kpi_id in enumerate(self._labels)}
        return sorted(kpi_ids, key=lambda kpi_id: (position.get(kpi_id, len(position)), kpi_id))


def labels_of(definition: ProcessDefinition) -> KpiLabels:
    """The labels of a loaded definition."""
    return KpiLabels(KpiLabel(kpi.id, kpi.title, kpi.unit, kpi.decimals) for kpi in definition.kpis)


def labels_from_yaml(yaml_text: str) -> KpiLabels:
    """The labels of a recorded definition's YAML (read leniently: an old version need not validate today)."""
    from pdcaflow.engine.definition.loader import load_definition_text  # only when a stored YAML is read

    try:
        data = load_definition_text(yaml_text).data
    except PdcaError:
        return KpiLabels()
    kpis = data.get("kpis") if isinstance(data, Mapping) else None
    labels = []
    for kpi in kpis if isinstance(kpis, list) else []:
        if isinstance(kpi, Mapping) and isinstance(kpi.get("id"), str):
            decimals = kpi.get("decimals")
            labels.append(KpiLabel(kpi["id"], str(kpi["title"]) if kpi.get("title") else None,
                                   str(kpi.get("unit") or ""),
                                   decimals if isinstance(decimals, int) and not isinstance(decimals, bool) else None))
    return KpiLabels(labels)


def process_labels(session: Session, process_id: str) -> KpiLabels:
    """The labels of the latest definition version the store recorded for the process (none: empty)."""
    # start-up speed: SQLAlchemy and the tables load only when a store is read
    from sqlalchemy import select

    from pdcaflow.engine.store.tables import DefinitionVersion

    yaml_text = session.scalar(select(DefinitionVersion.yaml_text).where(DefinitionVersion.process_id == process_id)
                               .order_by(DefinitionVersion.id.desc()).limit(1))
    return labels_from_yaml(yaml_text) if yaml_text else KpiLabels()
