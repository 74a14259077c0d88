"""Routing rules (first match wins) and load balancing within a team (fewest open cases, ties by name)."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
import pytest

from pdcaflow.tasks.complaints.routing import Balancer, Router

ROUTER = Router.build([{"when": {"channel": "field"}, "team": "field"},
                       {"when": {"type": ["bucket", "delivery"], "region": "north"}, "team": "north"}],
                      {"field": ["b", "a"], "north": ["n"], "desk": ["zoe", "amy", "ken"], "empty": []}, "desk")


@dataclass
class FakeCase:
    closed_at: pd.Timestamp | None


def test_the_first_matching_rule_names_the_team() -> None:
    assert ROUTER.team_for({"channel": "field", "type": "delivery", "region": "north"}) == "field"  # rule 1 first
    assert ROUTER.team_for({"channel": "hotline", "type": "bucket", "region": "north"}) == "north"  # any listed type
    # every condition of a rule must match: delivery in the south is not rule 2's -> the default team
    assert ROUTER.team_for({"channel": "hotline", "type": "delivery", "region": "south"}) == "desk"


def test_the_member_with_the_fewest_open_cases_takes_the_case_ties_by_name() -> None:
    balancer = Balancer(ROUTER)
    t = pd.Timestamp
    first = FakeCase(closed_at=t("2026-10-01 12:00"))
    # 09:00: all at 0 -> amy (first by name); 10:00: amy 1 -> ken (ken < zoe); 11:00: amy 1, ken 1 -> zoe
    assert balancer.assign("desk", t("2026-10-01 09:00"), first) == "amy"
    assert balancer.assign("desk", t("2026-10-01 10:00"), FakeCase(None)) == "ken"
    assert balancer.assign("desk", t("2026-10-01 11:00"), FakeCase(None)) == "zoe"
    # 13:00: amy's case closed at 12:00 -> amy 0, ken 1, zoe 1 -> amy
    assert balancer.assign("desk", t("2026-10-01 13:00"), FakeCase(None)) == "amy"
    # 14:00: each has 1 open -> amy again by name
    assert balancer.assign("desk", t("2026-10-01 14:00"), FakeCase(None)) == "amy"
    assert balancer.open_at("amy", t("2026-10-01 14:30")) == 2


def test_a_team_without_members_gives_no_owner() -> None:
    assert Balancer(ROUTER).assign("empty", pd.Timestamp("2026-10-01"), FakeCase(None)) is None


def test_the_default_team_must_be_listed() -> None:
    with pytest.raises(ValueError, match=r"default_team 'help' is not listed in teams \(teams: desk\)"):
        Router.build([], {"desk": ["amy"]}, "help")
