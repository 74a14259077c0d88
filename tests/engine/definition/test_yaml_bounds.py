"""Bad YAML input is a located diagnostic (exit 2), never an internal error (issue 13, findings 10 and 11).

Each case is written into a copy of the minimal valid definition and checked through the real
``pdca validate`` command: exit 2, ``file:line:col: CODE``, and no traceback. Numbers the YAML
cannot hold (a 5,000-digit integer, ``.inf``, ``.nan``), nesting deeper than the loader's limit
(as keys or as values, flow or block style), and a large definition without aliases.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from pdcaflow.engine.errors import DefinitionError
from pdcaflow.engine.definition.loader import MAX_DEPTH, MAX_INT_DIGITS, load_definition_file, load_definition_text
from tests.conftest import FIXTURES, run_pdca

MINIMAL = (FIXTURES / "valid" / "minimal.yaml").read_text(encoding="utf-8")
PARAMS_LINE = "  visits_per_month: {A: 4, B: 2}\n"


def _with_param(tmp_path: Path, value: str, name: str = "process.yaml") -> Path:
    """The minimal definition with ``  extra: VALUE`` as line 7 (params start on line 5)."""
    assert PARAMS_LINE in MINIMAL
    path = tmp_path / name
    path.write_text(MINIMAL.replace(PARAMS_LINE, PARAMS_LINE + f"  extra: {value}\n"), encoding="utf-8")
    return path


def _replaced(tmp_path: Path, old: str, new: str) -> Path:
    assert old in MINIMAL
    path = tmp_path / "process.yaml"
    path.write_text(MINIMAL.replace(old, new), encoding="utf-8")
    return path


def _assert_located(path: Path, code: str, line: int, column: int, *command: str) -> str:
    result = run_pdca(*(command or ("validate",)), str(path), cwd=path.parent)
    output = result.stdout + result.stderr
    assert result.returncode == 2, output[-2000:]
    assert f"{path.name}:{line}:{column}: {code} " in result.stderr, output[-2000:]
    assert "internal error" not in output and "Traceback" not in output
    assert "hint:" in result.stderr
    return result.stderr


# ----- finding 10: numbers the YAML cannot hold --------------------------------------------------

def test_a_5000_digit_integer_is_located(tmp_path: Path) -> None:
    stderr = _assert_located(_with_param(tmp_path, "9" * 5000), "PDCA015", 7, 10)
    assert f"more than {MAX_INT_DIGITS} digits" in stderr


@pytest.mark.parametrize("text", ["-" + "1" * 101, "1_" * 120 + "1", "0x" + "f" * 120, "1" + ":30" * 60])
def test_long_integers_in_every_yaml_spelling_are_located(tmp_path: Path, text: str) -> None:
    _assert_located(_with_param(tmp_path, text), "PDCA015", 7, 10)


def test_an_integer_of_the_maximum_length_is_fine() -> None:
    document = load_definition_text(MINIMAL.replace(PARAMS_LINE, PARAMS_LINE + f"  extra: {'9' * MAX_INT_DIGITS}\n"))
    assert document.data["params"]["extra"] == int("9" * MAX_INT_DIGITS)


@pytest.mark.parametrize("text", [".inf", "-.inf", "+.inf", ".Inf", ".INF", "-.Inf", ".nan", ".NaN", ".NAN",
                                  "1.0e+999", "-1.0e+999", "1" * 400 + ".0"])
def test_non_finite_params_are_located(tmp_path: Path, text: str) -> None:
    _assert_located(_with_param(tmp_path, text), "PDCA016", 7, 10)


@pytest.mark.parametrize(
    ("old", "new", "line", "column"),
    [
        ("target: {min: 4.2}", "target: {min: .inf}", 10, 19),
        ("target: {min: 4.2}", "target: {max: -.Inf}", 10, 19),
        ("add: 1, max: 8}", "add: 1, max: .nan}", 34, 54),
        ("add: 1, max: 8}", "add: .NaN, max: 8}", 34, 46),
        ("with: {source: data/feedback}", "with: {source: data/feedback, complaint_sla_hours: .inf}", 23, 56),
        # pydantic reads the text 'nan' as a float: a task's number parameter refuses it too
        ("with: {source: data/feedback}", "with: {source: data/feedback, complaint_sla_hours: 'nan'}", 23, 56),
        ("with: {source: data/feedback}", "with: {source: data/feedback, complaint_sla_hours: '-Infinity'}", 23, 56),
    ],
)
def test_non_finite_numbers_anywhere_are_located(tmp_path: Path, old: str, new: str, line: int, column: int) -> None:
    _assert_located(_replaced(tmp_path, old, new), "PDCA016", line, column)


@pytest.mark.parametrize(
    ("value", "code", "column"),
    [(".nan", "PDCA016", 10), ("9" * 5000, "PDCA015", 10), ("{" * 200 + "a: 1" + "}: 1" * 199 + "}", "PDCA007", 73)],
)
def test_pdca_run_refuses_them_before_anything_is_recorded(tmp_path: Path, value: str, code: str, column: int) -> None:
    database = tmp_path / "store.db"
    path = _with_param(tmp_path, value)
    _assert_located(path, code, 7, column, "run", "--reason", "test", "--db", f"sqlite:///{database}")
    assert not database.exists()


# ----- finding 10: nesting -------------------------------------------------------------------------

def _flow_keys(levels: int) -> str:
    """``{{{a: 1}: 1}: 1}``: mappings used as keys, ``levels`` deep."""
    return "{" * levels + "a: 1" + "}: 1" * (levels - 1) + "}"


@pytest.mark.parametrize("levels", [200, 10_000])
def test_deeply_nested_flow_mapping_keys_are_located(tmp_path: Path, levels: int) -> None:
    # a node's depth is how many mappings and lists hold it: extra's value (column 10) is at depth 2
    column = 9 + MAX_DEPTH
    stderr = _assert_located(_with_param(tmp_path, _flow_keys(levels)), "PDCA007", 7, column)
    assert f"nested more than {MAX_DEPTH} levels" in stderr


@pytest.mark.parametrize("levels", [200, 10_000])
def test_deeply_nested_flow_lists_are_located(tmp_path: Path, levels: int) -> None:
    _assert_located(_with_param(tmp_path, "[" * levels + "]" * levels), "PDCA007", 7, 9 + MAX_DEPTH)


def test_deeply_nested_block_mappings_are_located(tmp_path: Path) -> None:
    lines = "".join("  " * (depth + 1) + f"k{depth}:\n" for depth in range(1, 120))
    path = tmp_path / "process.yaml"
    path.write_text(MINIMAL.replace(PARAMS_LINE, PARAMS_LINE + "  extra:\n" + lines + " " * 242 + "1\n"),
                    encoding="utf-8")
    # the key k1 (line 8) is at depth 3, so k{MAX_DEPTH - 1} is the first node deeper than the limit
    line = 7 + MAX_DEPTH - 1
    _assert_located(path, "PDCA007", line, 2 * (MAX_DEPTH - 1) + 3)


def test_nesting_at_the_limit_in_a_value_loads(tmp_path: Path) -> None:
    # extra's list is at depth 2: inside MAX_DEPTH - 2 lists the scalar sits at depth MAX_DEPTH exactly
    inner = MAX_DEPTH - 2
    path = _with_param(tmp_path, "[" * inner + "1" + "]" * inner)
    value = load_definition_file(path).data["params"]["extra"]
    for _ in range(inner):
        value = value[0]
    assert value == 1
    with pytest.raises(DefinitionError, match=f"nested more than {MAX_DEPTH} levels"):
        load_definition_file(_with_param(tmp_path, "[" * (inner + 1) + "1" + "]" * (inner + 1), "deeper.yaml"))


# ----- finding 11: alias expansion counts aliases, not document size ------------------------------------

def _many_steps(count: int) -> str:
    head, tail = MINIMAL.split("steps:\n", 1)
    steps = "".join(f"  - id: deliver_{index}\n    phase: do\n    uses: service.deliver\n"
                    f"    with: {{plan: p, source: data/service, visits_per_month: {{A: 1}}}}\n"
                    for index in range(count))
    return head + "steps:\n" + steps + tail


def test_an_8000_step_definition_without_aliases_validates(tmp_path: Path) -> None:
    path = tmp_path / "big.yaml"
    path.write_text(_many_steps(8000), encoding="utf-8")
    started = time.monotonic()
    result = run_pdca("validate", str(path), cwd=tmp_path, timeout=120)
    elapsed = time.monotonic() - started
    assert result.returncode == 0, (result.stdout + result.stderr)[-2000:]
    assert "8004 steps" in result.stdout
    assert elapsed < 60, f"validating 8,000 steps took {elapsed:.1f} s"


def test_the_alias_bomb_still_fails_quickly() -> None:
    started = time.monotonic()
    with pytest.raises(DefinitionError, match="alias expansion bomb"):
        load_definition_file(FIXTURES / "invalid" / "PDCA007-alias-bomb.yaml")
    assert time.monotonic() - started < 5


def test_aliases_of_a_small_anchor_are_fine() -> None:
    text = MINIMAL.replace(PARAMS_LINE, PARAMS_LINE + "  base: &base {a: 1, b: 2}\n" +
                           "".join(f"  copy{index}: *base\n" for index in range(200)))
    assert load_definition_text(text).data["params"]["copy199"] == {"a": 1, "b": 2}


# ----- durations: a timer past ten years overflows dates and sleeps ---------------------------------

@pytest.mark.parametrize("text", ["99999999999999999999w", "1" * 400 + "s", "1.0e+300", "3661d"])
def test_durations_beyond_ten_years_are_located(tmp_path: Path, text: str) -> None:
    path = _replaced(tmp_path, "    uses: service.deliver\n", f"    uses: service.deliver\n    retry_delay: {text}\n")
    stderr = _assert_located(path, "PDCA106", 16, 18)
    assert "longer than ten years" in stderr
