"""What a cycle starts from: carried values persist, unless the YAML's own value was edited since."""

from __future__ import annotations

import yaml

from pdcaflow.engine.definition.model import ProcessDefinition
from pdcaflow.engine.runtime.starting_values import declared_values, starting_values
from tests.conftest import FIXTURES

MINIMAL = (FIXTURES / "valid" / "minimal.yaml").read_text("utf-8")
CARRY = {"cycle": 3, "params": {"visits_per_month": {"A": 4, "B": 5}},
         "targets": {"satisfaction": {"min": 4.4, "max": None}}}  # ACT raised B to 5 and the target to 4.4


def _definition(text: str) -> ProcessDefinition:
    return ProcessDefinition.model_validate(yaml.safe_load(text))


def test_unedited_yaml_starts_from_the_carried_values() -> None:
    params, targets = starting_values(_definition(MINIMAL), CARRY, declared_values(MINIMAL))

    assert params == {"visits_per_month": {"A": 4, "B": 5}}
    assert targets == {"satisfaction": {"min": 4.4, "max": None}}


def test_a_target_edited_in_the_yaml_wins_over_the_carried_one() -> None:
    edited = MINIMAL.replace("target: {min: 4.2}", "target: {min: 4.0}")

    _, targets = starting_values(_definition(edited), CARRY, declared_values(MINIMAL))

    assert targets == {"satisfaction": {"min": 4.0, "max": None}}


def test_a_param_edited_in_the_yaml_wins_and_its_unedited_neighbour_keeps_the_carried_value() -> None:
    edited = MINIMAL.replace("{A: 4, B: 2}", "{A: 6, B: 2}")

    params, targets = starting_values(_definition(edited), CARRY, declared_values(MINIMAL))

    assert params == {"visits_per_month": {"A": 6, "B": 5}}
    assert targets == {"satisfaction": {"min": 4.4, "max": None}}


def test_without_the_earlier_definition_every_carried_value_wins() -> None:
    edited = MINIMAL.replace("target: {min: 4.2}", "target: {min: 4.0}").replace("B: 2}", "B: 3}")

    params, targets = starting_values(_definition(edited), CARRY, declared_values(None))

    assert params == {"visits_per_month": {"A": 4, "B": 5}}
    assert targets == {"satisfaction": {"min": 4.4, "max": None}}
