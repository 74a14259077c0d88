"""Escalation chains in definitions: who takes a corrective action over, in order (``pdcaflow.engine.definition.model`` uses it)."""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, Field
from pydantic_core import PydanticCustomError


def _distinct_owners(value: list[str]) -> list[str]:
    seen = [owner for index, owner in enumerate(value) if owner in value[:index]]
    if seen:
        raise PydanticCustomError("pdca_escalation", "escalation chain names '{owner}' twice: each owner "
                                  "hands on to the next, so name each once", {"owner": seen[0]})
    return value


EscalationChain = Annotated[list[Annotated[str, Field(min_length=1, max_length=2000)]], Field(min_length=1),
                            AfterValidator(_distinct_owners)]
"""A list of owners, each named once: ``[team-lead, service-manager, director]``."""
