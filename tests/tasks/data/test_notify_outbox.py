"""notify.send's outbox file (issue 13, finding 1): one JSON line a notification, whatever the text; no symlinks."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from pdcaflow.tasks.data.notify import send
from pdcaflow.tasks.sdk.project_config import ProjectConfig
from pdcaflow.tasks.sdk.registry import StepContext

CONTEXT = StepContext(process_id="outbox-test", cycle=2)
TRICKY = 'ok"}\n{"to": "forged", "subject": "x"}\r\u2028\u2029\x85\x1c\x1d\x1e\x0b\x0c$(touch owned)`id`'


@pytest.fixture(autouse=True)
def _no_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every test's context carries an empty project config rooted in its own folder."""
    monkeypatch.setitem(globals(), "CONTEXT", replace(CONTEXT, config=ProjectConfig(root=tmp_path)))


def test_a_subject_or_message_cannot_break_the_line_format(tmp_path: Path) -> None:
    outbox = tmp_path / "outbox.jsonl"
    for number in range(2):
        send(CONTEXT, to=f"lead{number}", subject=TRICKY, message=TRICKY, data={"note": TRICKY}, outbox=str(outbox))
    text = outbox.read_text("utf-8")
    assert len(text.splitlines()) == 2 and len(outbox.read_bytes().split(b"\n")) == 3  # also by Python's splitlines
    notes = [json.loads(line) for line in text.splitlines()]
    assert [(n["to"], n["subject"], n["message"], n["data"]["note"]) for n in notes] == [
        ("lead0", TRICKY, TRICKY, TRICKY), ("lead1", TRICKY, TRICKY, TRICKY)]
    send(CONTEXT, to="lead", subject="Hand hygiene, 病区 B", outbox=str(outbox))
    assert "Hand hygiene, 病区 B" in outbox.read_text("utf-8").splitlines()[2]


def test_an_outbox_that_is_a_symlink_is_refused_and_its_target_untouched(tmp_path: Path) -> None:
    target = tmp_path / "elsewhere" / "profile"
    target.parent.mkdir()
    target.write_text("export PATH=/usr/bin\n", encoding="utf-8")
    link = tmp_path / "outbox.jsonl"
    link.symlink_to(target)
    with pytest.raises(ValueError, match=r"^the outbox .*outbox\.jsonl is a symbolic link: notify\.send appends only "
                                         r"to a plain file$"):
        send(CONTEXT, to="lead", subject="$(touch owned)", outbox=str(link))
    assert target.read_text("utf-8") == "export PATH=/usr/bin\n"
