"""Reviewing while a cycle writes: review commands and `pdca status` never queue behind SQLite's write lock."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

from typer.testing import CliRunner

from pdcaflow.engine.cli.app import app
from tests.engine.review.trail import PROCESS

runner = CliRunner()


def test_audit_log_and_status_answer_while_another_process_holds_the_write_lock(trail_url: str) -> None:
    path = Path(trail_url.removeprefix("sqlite:///"))
    writer = sqlite3.connect(path, isolation_level=None, timeout=1)
    writer.execute("BEGIN IMMEDIATE")  # what a running cycle holds while it records a step
    try:
        finished: dict[str, int] = {}

        def review() -> None:
            for name, args in (("log", ["audit", "log", "--process", PROCESS, "--limit", "5"]),
                               ("status", ["status", PROCESS])):
                finished[name] = runner.invoke(app, [*args, "--db", trail_url], env={"COLUMNS": "200"}).exit_code

        reader = threading.Thread(target=review)
        reader.start()
        # Before the fix both commands began with BEGIN IMMEDIATE and waited out the 30 s busy timeout.
        reader.join(timeout=10)
        assert not reader.is_alive(), "a review command waited for the writer's lock"
        assert finished == {"log": 0, "status": 0}
    finally:
        writer.execute("ROLLBACK")
        writer.close()
