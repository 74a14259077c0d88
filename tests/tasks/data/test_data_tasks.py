"""data.assert, survey.score and notify.send on real files, a real SQLite database and real local servers."""

from __future__ import annotations

import json
import socketserver
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from pdcaflow.tasks.data.assertions import Check, assert_data
from pdcaflow.tasks.data.notify import send
from pdcaflow.tasks.sdk.project_config import load_config
from pdcaflow.tasks.sdk.registry import StepContext
from pdcaflow.tasks.data.survey import score
from pdcaflow.tasks.data.table_aggregate import Filter
from tests.engine.store.conftest import db_url, pg_database  # noqa: F401  (real SQLite and PostgreSQL)

CONTEXT = StepContext(process_id="data-tasks-test", cycle=3, started_at="2026-05-10T08:00:00+00:00")


def test_data_assert_counts_passed_and_failed_checks(tmp_path: Path) -> None:
    csv = tmp_path / "observations.csv"
    csv.write_text("id,ward,compliant,observed_at\n1,A,1,2026-05-09T10:00:00\n2,B,0,2026-05-09T11:00:00\n"
                   "2,Z,7,2026-05-08T09:00:00\n4,,1,2026-05-09T12:00:00\n", "utf-8")
    checks = [Check(check="row_count", min=3), Check(check="not_null", column="ward"),
              Check(check="range", column="compliant", min=0, max=1), Check(check="unique", columns=["id"]),
              Check(check="freshness", column="observed_at", max_age_hours=24),
              Check(check="allowed", column="ward", values=["A", "B", "C"], name="known wards"),
              Check(check="row_count", max=2)]
    outputs = assert_data(CONTEXT, checks=checks, file=str(csv))
    assert (outputs["rows"], outputs["checks_total"], outputs["checks_passed"], outputs["checks_failed"]) == (4, 7, 2, 5)
    assert outputs["pass_rate"] == pytest.approx(28.57)
    assert outputs["failing"] == [
        {"check": "not_null(ward)", "detail": "1 empty value(s)", "failing_rows": 1},
        {"check": "range(compliant)", "detail": "1 value(s) outside 0 to 1", "failing_rows": 1},
        {"check": "unique(id)", "detail": "2 row(s) share a value", "failing_rows": 2},
        {"check": "known wards", "detail": "1 value(s) not allowed, e.g. 'Z'", "failing_rows": 1},
        {"check": "row_count(*)", "detail": "4 rows, expected <= 2", "failing_rows": 4},
    ]  # freshness passed: the newest observation is 20 h before the cycle started
    stale = assert_data(CONTEXT, checks=[Check(check="freshness", column="observed_at", max_age_hours=12)],
                        file=str(csv))
    assert stale["failing"][0]["detail"].startswith("newest 2026-05-09T12:00:00+00:00 is 20.0 h old")


def test_data_assert_and_survey_read_a_named_connection(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'surveys.db'}")
    with engine.begin() as connection:
        connection.exec_driver_sql("CREATE TABLE response (month TEXT, score INTEGER)")
        connection.execute(sa.text("INSERT INTO response VALUES (:month, :score)"),
                           [{"month": "2026-05", "score": s} for s in (10, 9, 9, 8, 7, 6, 3, 0, 11)]
                           + [{"month": "2026-04", "score": 1}])
    engine.dispose()
    monkeypatch.setenv("PDCA_CONNECTION_SURVEYS", f"sqlite:///{tmp_path / 'surveys.db'}")
    checked = assert_data(CONTEXT, checks=[Check(check="range", column="score", min=0, max=10)],
                          connection="surveys", table="response")
    assert (checked["checks_failed"], checked["failing"][0]["failing_rows"]) == (1, 1)
    queried = assert_data(CONTEXT, checks=[Check(check="row_count", min=9), Check(check="unique", column="score")],
                          connection="surveys", sql="SELECT score FROM response WHERE month = :month",
                          params={"month": "2026-05"})
    assert queried["rows"] == 9 and [f["check"] for f in queried["failing"]] == ["unique(score)"]
    with pytest.raises(ValueError, match=r"only a SELECT query may be run \(this one is DELETE\)"):
        assert_data(CONTEXT, checks=[], connection="surveys", sql="DELETE FROM response")
    nps = score(CONTEXT, connection="surveys", table="response", scale="0-10",
                where=[Filter(column="month", value="2026-05")])
    assert (nps["responses"], nps["invalid"]) == (8, 1)
    assert (nps["promoters_pct"], nps["detractors_pct"], nps["nps"]) == (37.5, 37.5, 0.0)
    assert nps["csat_pct"] == 37.5 and nps["mean_score"] == pytest.approx(6.5)


def test_survey_csat_on_a_five_point_scale(tmp_path: Path) -> None:
    csv = tmp_path / "surveys.csv"
    csv.write_text("answer\n5\n4\n4\n3\n1\nn/a\n", "utf-8")
    csat = score(CONTEXT, file=str(csv), column="answer")
    assert (csat["responses"], csat["invalid"], csat["csat_pct"], csat["nps"]) == (5, 1, 60.0, None)
    assert score(CONTEXT, file=str(csv), column="answer", satisfied_at_least=5)["csat_pct"] == 20.0
    empty = score(CONTEXT, file=str(csv), column="answer", where=[Filter(column="answer", value="9")])
    assert empty["responses"] == 0 and empty["csat_pct"] is None


class _Hook(BaseHTTPRequestHandler):
    received: list[dict[str, Any]] = []
    status = 204

    def do_POST(self) -> None:  # noqa: N802 - the http.server API
        length = int(self.headers["Content-Length"])
        type(self).received.append(json.loads(self.rfile.read(length)))
        self.send_response(type(self).status)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


class _Smtp(socketserver.StreamRequestHandler):
    """Just enough SMTP (RFC 5321) to accept one message and keep it."""

    messages: list[str] = []

    def handle(self) -> None:
        self.wfile.write(b"220 test ready\r\n")
        while line := self.rfile.readline():
            verb = line.decode().strip().split(" ")[0].upper()
            if verb == "DATA":
                self.wfile.write(b"354 go on\r\n")
                body = []
                while (data := self.rfile.readline()) not in (b".\r\n", b""):
                    body.append(data.decode())
                type(self).messages.append("".join(body))
                self.wfile.write(b"250 queued\r\n")
            elif verb == "QUIT":
                self.wfile.write(b"221 bye\r\n")
                return
            else:
                self.wfile.write(b"250 ok\r\n")


@pytest.fixture()
def servers() -> Iterator[tuple[int, int]]:
    """A real local HTTP server (the webhook) and a real local SMTP server, on free ports."""
    _Hook.received, _Hook.status, _Smtp.messages = [], 204, []
    http = HTTPServer(("127.0.0.1", 0), _Hook)
    smtp = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _Smtp)
    smtp.daemon_threads = True
    threads = [threading.Thread(target=server.serve_forever, daemon=True) for server in (http, smtp)]
    for thread in threads:
        thread.start()
    try:
        yield http.server_address[1], smtp.server_address[1]
    finally:
        for server in (http, smtp):
            server.shutdown()
            server.server_close()


def test_notify_delivers_to_a_webhook_and_smtp_and_keeps_the_outbox(tmp_path: Path, servers: tuple[int, int],
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    http_port, smtp_port = servers
    (tmp_path / "pdca.toml").write_text(f'[webhooks]\nowners = "http://127.0.0.1:{http_port}/hook"\n'
                                        f'[smtp]\nhost = "127.0.0.1"\nport = {smtp_port}\nsender = "pdca@lab.test"\n',
                                        encoding="utf-8")
    context = replace(CONTEXT, config=load_config(tmp_path / "pdca.toml"))
    outbox = tmp_path / "outbox.jsonl"
    outputs = send(context, to="ward.manager@lab.test", subject="Hand hygiene below target",
                   message="Ward B: 71 %", webhook="owners", email=True, outbox=str(outbox), data={"ward": "B"})
    assert (outputs["delivered"], outputs["failed"]) == (3, 0)
    assert [d["channel"] for d in outputs["deliveries"]] == ["log", "webhook owners", "email"]
    assert _Hook.received[0]["subject"] == "Hand hygiene below target" and _Hook.received[0]["data"] == {"ward": "B"}
    assert "Subject: Hand hygiene below target" in _Smtp.messages[0] and "Ward B: 71 %" in _Smtp.messages[0]
    record = json.loads(outbox.read_text("utf-8"))
    assert record["id"] == outputs["notification_id"] and record["cycle"] == 3 and record["to"] == "ward.manager@lab.test"


def test_a_failed_delivery_is_recorded_never_fatal(tmp_path: Path, servers: tuple[int, int]) -> None:
    http_port, _ = servers
    _Hook.status = 500
    (tmp_path / "pdca.toml").write_text(f'[webhooks]\nowners = "http://127.0.0.1:{http_port}/hook"\n'
                                        'gone = "http://127.0.0.1:9/nothing-listens"\n', encoding="utf-8")
    context = replace(CONTEXT, config=load_config(tmp_path / "pdca.toml"))
    outbox = tmp_path / "outbox.jsonl"
    outputs = send(context, to="quality lead", subject="s", webhook="owners", outbox=str(outbox))
    assert outputs["failed"] == 1 and outputs["deliveries"][1]["detail"].startswith("HTTPError: HTTP Error 500")
    for webhook, detail in (("gone", "URLError"), ("unknown", "ConfigError: no webhook named 'unknown'")):
        outputs = send(context, to="quality lead", subject="s", webhook=webhook, outbox=str(outbox))
        assert outputs["failed"] == 1 and outputs["deliveries"][1]["detail"].startswith(detail)
    emailed = send(context, to="quality lead", subject="s", email=True, outbox=str(outbox))
    assert emailed["deliveries"][1]["detail"] == f"ValueError: no [smtp] server configured (config {tmp_path / 'pdca.toml'})"
    lines = [json.loads(line) for line in outbox.read_text("utf-8").splitlines()]
    assert len(lines) == 4 and all(not line["deliveries"][1]["ok"] for line in lines)


def test_notify_writes_an_outbox_table_in_a_named_connection(db_url: str, tmp_path: Path,  # noqa: F811
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PDCA_CONNECTION_ALERTS", db_url)
    (tmp_path / "pdca.toml").write_text('[webhooks]\ngone = "http://127.0.0.1:9/nothing-listens"\n', "utf-8")
    context = replace(CONTEXT, config=load_config(tmp_path / "pdca.toml"))
    outbox = str(tmp_path / "outbox.jsonl")
    first = send(context, to="ipc-lead", subject="one", outbox=outbox, outbox_connection="alerts")
    second = send(context, to="ipc-lead", subject="two", webhook="gone", outbox=outbox, outbox_connection="alerts")
    assert first["failed"] == 0 and second["failed"] == 1 and second["deliveries"][-1]["ok"]
    engine = sa.create_engine(db_url)
    try:
        with engine.connect() as connection:
            rows = connection.execute(sa.text("SELECT id, subject, status, cycle FROM pdca_outbox "
                                              "ORDER BY subject")).all()
    finally:
        engine.dispose()
    assert [tuple(row) for row in rows] == [(first["notification_id"], "one", "delivered", 3),
                                            (second["notification_id"], "two", "partly", 3)]
    monkeypatch.delenv("PDCA_CONNECTION_ALERTS")
    unreachable = send(context, to="ipc-lead", subject="three", outbox=outbox, outbox_connection="alerts")
    assert unreachable["failed"] == 1 and "no connection named 'alerts'" in unreachable["deliveries"][-1]["detail"]
