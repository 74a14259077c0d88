"""Who owns a case: the team from the routing rules, then the least-loaded member of that team.

The rules are read top to bottom and the first whose every condition matches
the case's first contact names the team (``{when: {type: water_quality},
team: quality-desk}``); a condition's value may be one value or a list of
values any of which matches. A case no rule matches goes to ``default_team``.

Within the team the case goes to the member with the fewest cases open at the
moment it arrives; members with as many open cases share the tie, and the
first by name takes it. So the owner can be worked out by hand from the list
of cases in order of arrival. A team with no members listed leaves its cases
without an owner (the intake's ``assigned_pct`` shows it).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

import pandas as pd

from pdcaflow.tasks.complaints.case_types import RoutingRule


@dataclass(frozen=True)
class Rule:
    """A routing rule read: its position (1-based, for messages), conditions and team."""

    number: int
    conditions: tuple[tuple[str, frozenset[str]], ...]
    team: str

    def matches(self, fields: Mapping[str, str]) -> bool:
        return all(fields.get(name) in values for name, values in self.conditions)


@dataclass(frozen=True)
class Router:
    """The routing rules, the teams with their members, and the team no rule names."""

    rules: tuple[Rule, ...]
    teams: Mapping[str, tuple[str, ...]]
    default_team: str

    @classmethod
    def build(cls, routing: Sequence[RoutingRule], teams: Mapping[str, Sequence[str]],
              default_team: str) -> Router:
        """Check that every team a rule names, and the default team, is listed in ``teams``."""
        rules = tuple(Rule(number, tuple((str(name), frozenset([value] if isinstance(value, str) else map(str, value)))
                                         for name, value in rule["when"].items()), str(rule["team"]))
                      for number, rule in enumerate(routing, start=1))
        known = {str(team): tuple(sorted(dict.fromkeys(map(str, members)))) for team, members in teams.items()}
        for rule in rules:
            if rule.team not in known:
                raise ValueError(f"routing rule {rule.number} sends cases to team {rule.team!r}, which teams does "
                                 f"not list (teams: {', '.join(sorted(known)) or 'none'})")
        if default_team not in known:
            raise ValueError(f"default_team {default_team!r} is not listed in teams "
                             f"(teams: {', '.join(sorted(known)) or 'none'})")
        return cls(rules, known, default_team)

    def team_for(self, fields: Mapping[str, str]) -> str:
        """The team of the first rule that matches, else the default team."""
        return next((rule.team for rule in self.rules if rule.matches(fields)), self.default_team)


class Closing(Protocol):
    """A case as the balancer sees it: when it closed, ``None`` while open (read each time it is asked)."""

    @property
    def closed_at(self) -> pd.Timestamp | None: ...


class Balancer:
    """Hands each arriving case to the member of its team with the fewest cases open at that moment.

    Ask in order of arrival (never for an earlier moment than the last).
    """

    def __init__(self, router: Router) -> None:
        self._router = router
        self._cases: dict[str, list[Closing]] = {}

    def assign(self, team: str, arrives: pd.Timestamp, case: Closing) -> str | None:
        """The owner of a case of ``team`` arriving at ``arrives`` (``None``: the team has no members).

        Args:
            team: the team the rules chose.
            arrives: when the case's first contact was received.
            case: the case; its ``closed_at`` is read again for every later arrival (a
                repeat contact or an event can move it).
        """
        members = self._router.teams.get(team, ())
        if not members:
            return None
        owner = min(members, key=lambda member: (self.open_at(member, arrives), member))
        self._cases.setdefault(owner, []).append(case)
        return owner

    def open_at(self, member: str, moment: pd.Timestamp) -> int:
        """How many of ``member``'s cases are open at ``moment`` (not closed by then).

        Cases arrive in time order, so a case closed by ``moment`` is closed for every
        later arrival too (no contact can join it any more): it is dropped from the count.
        """
        still_open = [case for case in self._cases.get(member, ())
                      if case.closed_at is None or case.closed_at > moment]
        self._cases[member] = still_open
        return len(still_open)
