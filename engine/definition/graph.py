"""Draw a validated definition as a Mermaid flowchart: one subgraph per PDCA phase.

Edges are the steps' dependencies (``needs`` and same-phase references), the
order of the phases, and the cycle edge from ACT back to PLAN that carries params,
targets and open actions into the next cycle.
"""

from __future__ import annotations

from pdcaflow.engine.definition.model import PHASES, Step
from pdcaflow.engine.definition.validate import ValidatedDefinition

_PHASE_TITLES = {"plan": "PLAN", "do": "DO", "check": "CHECK", "act": "ACT"}
_PHASE_STYLES = {
    "plan": "fill:#e8f1fb,stroke:#3b78c4",
    "do": "fill:#eaf7ea,stroke:#3c9a3c",
    "check": "fill:#fdf5e1,stroke:#c49a1b",
    "act": "fill:#fbe9e9,stroke:#c43b3b",
}


def to_mermaid(validated: ValidatedDefinition) -> str:
    """The Mermaid source text (``flowchart LR``: phases left to right, steps top to bottom) of a validated definition."""
    definition = validated.definition
    lines = [f"%% {definition.id}: {_comment(definition.title)}", "flowchart LR"]
    present = [phase for phase in PHASES if any(step.phase == phase for step in definition.steps)]
    for phase in present:
        lines.append(f'  subgraph phase_{phase}["{_PHASE_TITLES[phase]}"]')
        lines.append("    direction TB")
        for step in definition.steps:
            if step.phase == phase:
                lines.append(f"    {_node(step)}")
        lines.append("  end")
    for step in definition.steps:
        for dependency in sorted(validated.depends_on.get(step.id, ())):
            lines.append(f"  step_{dependency} --> step_{step.id}")
    for earlier, later in zip(present, present[1:], strict=False):
        lines.append(f"  phase_{earlier} ==> phase_{later}")
    if "act" in present and "plan" in present:
        lines.append('  phase_act -. "next cycle: params, targets, open actions" .-> phase_plan')
    for phase in present:
        lines.append(f"  style phase_{phase} {_PHASE_STYLES[phase]}")
    return "\n".join(lines) + "\n"


def _node(step: Step) -> str:
    label = _escape(step.title or step.id)
    detail = _escape(step.uses)
    marks = []
    if step.approval is not None:
        marks.append("approval")
    if step.when is not None:
        marks.append("conditional")
    suffix = f"<br/><i>{' · '.join(marks)}</i>" if marks else ""
    shape_open, shape_close = ("[[", "]]") if step.is_subprocess else ("[", "]")
    return f'step_{step.id}{shape_open}"{label}<br/><small>{detail}</small>{suffix}"{shape_close}'


def _escape(text: str) -> str:
    """Make text safe inside a quoted Mermaid label (quotes and markup become entities)."""
    replacements = {"&": "#38;", '"': "#quot;", "<": "#60;", ">": "#62;", "\n": " "}
    return "".join(replacements.get(char, char) for char in text)


def _comment(text: str) -> str:
    return text.replace("\n", " ")
