"""The loader: safe YAML, positions for every key, clear errors for every kind of bad file."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from pdcaflow.engine.errors import DefinitionError
from pdcaflow.engine.definition.loader import load_definition_bytes, load_definition_file, load_definition_text


def _error(text: str | bytes) -> tuple[str, int, int, str]:
    with pytest.raises(DefinitionError, match=r"x.yaml:\d+:\d+: PDCA0\d\d ") as caught:
        if isinstance(text, bytes):
            load_definition_bytes(text, "x.yaml")
        else:
            load_definition_text(text, "x.yaml")
    first = caught.value.diagnostics[0]
    return first.code, first.line, first.column, first.message


def test_source_map_points_at_keys_and_values() -> None:
    document = load_definition_text("id: x\nsteps:\n  - id: a\n    uses: kpi.check\n", "x.yaml")
    assert document.data == {"id": "x", "steps": [{"id": "a", "uses": "kpi.check"}]}
    assert document.source_map.keys[("steps", 0, "uses")].line == 4
    assert document.source_map.keys[("steps", 0, "uses")].column == 5
    assert document.source_map.values[("steps", 0, "uses")].column == 11
    assert document.source_map.values[("steps", 0, "uses")].length == len("kpi.check")


def test_python_tags_are_rejected_and_never_run(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    text = f'id: x\nowner: !!python/object/apply:os.system ["touch {marker}"]\n'
    code, line, column, message = _error(text)
    assert (code, line, column) == ("PDCA006", 2, 8)
    assert "!!python/object/apply:os.system" in message
    assert not marker.exists()


def test_alias_bomb_is_stopped_quickly() -> None:
    rows = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for name, previous in zip("bcdefghi", "abcdefgh", strict=True):
        rows.append(f"{name}: &{name} [" + ",".join([f"*{previous}"] * 9) + "]")
    started = time.perf_counter()
    code, _, _, message = _error("\n".join(rows))
    assert code == "PDCA007" and "alias" in message
    assert time.perf_counter() - started < 5  # a safety bound, not a benchmark: unbounded expansion takes hours


def test_recursive_alias_is_an_error() -> None:
    assert _error("a: &a [1, *a]\n")[0] == "PDCA007"


def test_duplicate_key_names_both_places() -> None:
    code, line, column, message = _error("id: x\ntitle: a\nsteps: []\ntitle: b\n")
    assert (code, line, column) == ("PDCA002", 4, 1)
    assert "first defined at line 2" in message


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (b"", ("PDCA004", 1, 1)),
        (b"# nothing but a comment\n\n", ("PDCA004", 1, 1)),
        (b"id: x\x00y\n", ("PDCA005", 1, 6)),
        (b"id: x\ntitle: caf\xe9\n", ("PDCA005", 2, 11)),
        (b"- a\n- b\n", ("PDCA003", 1, 1)),
        (b"just text\n", ("PDCA003", 1, 1)),
        (b"id: a\n---\nid: b\n", ("PDCA008", 2, 1)),
        (b"id: x\n  title: y\n", ("PDCA001", 2, 8)),
        (b"a: [1, 2\n", ("PDCA001", 2, 1)),
    ],
)
def test_bad_files_get_a_located_code(raw: bytes, expected: tuple[str, int, int]) -> None:
    assert _error(raw)[:3] == expected


def test_oversized_file_is_refused() -> None:
    assert _error(b"a: " + b"x" * (1024 * 1024 + 1))[0] == "PDCA010"


def test_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(DefinitionError, match=r"PDCA009 file not found"):
        load_definition_file(tmp_path / "nope.yaml")


def test_bom_merge_keys_dates_and_cjk_are_read_as_text() -> None:
    raw = "\ufeffbase: &b {x: 1, y: 2}\nd:\n  <<: *b\n  y: 3\nwhen: 2026-01-01\ntitle: 摸清客户\n".encode()
    document = load_definition_bytes(raw, "x.yaml")
    assert document.data["d"] == {"y": 3, "x": 1}
    assert document.data["when"] == "2026-01-01"
    assert document.data["title"] == "摸清客户"
    assert document.source_map.values[("title",)].column == 8
