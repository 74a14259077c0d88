"""``notify.send``: tell someone (an action's owner, a ward manager) through the outbox, the log, a webhook or email.

Every notification is written to the **outbox**, a JSON-lines file (default
``.pdca/outbox.jsonl`` under the working folder; one object a line with its id,
time, process, cycle, recipient, subject, message and each channel's result), and
to the ``pdcaflow.notify`` logger; with ``outbox_connection``, also as a row of the
``pdca_outbox`` table in that named connection (:mod:`pdcaflow.tasks.data.outbox_table`). Where the user configured them it is also
delivered to a **webhook** (an HTTP POST of the same JSON to a URL named in the
project config's ``[webhooks]`` or ``$PDCA_WEBHOOK_<NAME>``) and by **email**
(the config's ``[smtp]`` server). Tasks never touch the audit store; the outbox is
the notification's own record.

A failure to deliver is recorded in the outputs and in the outbox and never fails
the step (a cycle does not stop because a mail server is down); only an outbox
that cannot be written fails it, since then nothing would be recorded.
"""

from __future__ import annotations

import datetime as dt
import errno
import json
import logging
import os
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TypedDict

from pdcaflow.tasks.data.outbox_table import write_outbox_row
from pdcaflow.tasks.sdk.project_config import ProjectConfig
from pdcaflow.tasks.sdk.registry import ConnectionName, ProjectFile, StepContext, task

LOG = logging.getLogger("pdcaflow.notify")
DEFAULT_OUTBOX = ".pdca/outbox.jsonl"
_LINE_BREAKS = str.maketrans({"\u2028": "\\u2028", "\u2029": "\\u2029", "\x85": "\\u0085"})  # json leaves them


class Delivery(TypedDict):
    channel: str
    ok: bool
    detail: str


class NotifyOutputs(TypedDict):
    notification_id: str
    delivered: int
    failed: int
    deliveries: list[Delivery]
    outbox: str


@task("notify.send")
def send(context: StepContext, *, to: str, subject: str, message: str = "", webhook: str | None = None,
         email: bool = False, outbox: ProjectFile = DEFAULT_OUTBOX, outbox_connection: ConnectionName | None = None,
         data: dict[str, Any] | None = None, timeout_seconds: float = 10.0) -> NotifyOutputs:
    """Send a notification: always to the outbox file and the log; to a webhook and by email where configured.

    ``to`` is the recipient (a name, a role, or an email address when ``email`` is on);
    ``webhook`` names a webhook of the project config (``[webhooks]`` in pdca.toml or
    ``$PDCA_WEBHOOK_<NAME>``), which receives the notification as JSON (HTTP POST);
    ``email: true`` sends it through the config's ``[smtp]`` server. ``data`` is extra
    JSON carried along (e.g. the KPI that was missed). ``outbox_connection`` names a
    connection whose ``pdca_outbox`` table gets a row too (created if missing). A
    delivery that fails is recorded in ``deliveries`` and the outbox and never fails the step.
    """
    config = context.project_config()
    note: dict[str, Any] = {
        "id": uuid.uuid4().hex, "at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "process": context.process_id, "cycle": context.cycle, "to": to, "subject": subject,
        "message": message, "data": data or {},
    }
    deliveries: list[Delivery] = [{"channel": "log", "ok": True, "detail": "pdcaflow.notify"}]
    LOG.info("notify %s: %s (%s, cycle %s)", to, subject, context.process_id, context.cycle)
    if webhook is not None:
        deliveries.append(_deliver("webhook " + webhook, lambda: _post(config.webhook_url(webhook), note,
                                                                        timeout_seconds)))
    if email:
        deliveries.append(_deliver("email", lambda: _mail(config, note, timeout_seconds)))
    if outbox_connection is not None:  # after the other channels, so the row holds their results
        deliveries.append(_deliver("outbox table " + outbox_connection, lambda: write_outbox_row(
            config.connection_url(outbox_connection), note, deliveries)))
    path = Path(outbox)  # inside the project: the engine checked it (pdcaflow.tasks.sdk.project_paths) before this step ran
    _append(path, outbox_line({**note, "deliveries": deliveries}))  # the record, whatever was delivered
    failed = sum(not delivery["ok"] for delivery in deliveries)
    for delivery in deliveries:
        if not delivery["ok"]:
            LOG.warning("notify %s: %s not delivered: %s", to, delivery["channel"], delivery["detail"])
    return {"notification_id": note["id"], "delivered": len(deliveries) - failed, "failed": failed,
            "deliveries": deliveries, "outbox": str(path)}


def outbox_line(record: Mapping[str, Any]) -> str:
    """One JSON line: every line break a reader may split on is escaped (``splitlines`` splits on U+2028 too)."""
    return json.dumps(record, ensure_ascii=False, default=str).translate(_LINE_BREAKS) + "\n"


def _append(path: Path, line: str) -> None:
    """Append to the outbox file, never through a symlink (one made after the engine's check included)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW, 0o644)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise ValueError(f"the outbox {path} is a symbolic link: notify.send appends only to a plain file") from exc
        raise
    with os.fdopen(descriptor, "a", encoding="utf-8") as handle:
        handle.write(line)


def _deliver(channel: str, attempt: Any) -> Delivery:
    try:
        detail = attempt()
    except Exception as exc:  # any failure to deliver is a result to record, never the step's failure
        text = str(exc).strip().splitlines()
        return {"channel": channel, "ok": False, "detail": f"{type(exc).__name__}: {text[0] if text else ''}"}
    return {"channel": channel, "ok": True, "detail": detail}


def _post(url: str, note: Mapping[str, Any], timeout_seconds: float) -> str:
    import urllib.request  # only when a notification is sent (start-up speed)

    if not url.startswith(("http://", "https://")):
        raise ValueError("a webhook URL starts with http:// or https://")
    request = urllib.request.Request(url, data=json.dumps(note, default=str).encode("utf-8"), method="POST",
                                     headers={"Content-Type": "application/json", "User-Agent": "pdcaflow"})
    with urllib.request.urlopen(request, timeout=timeout_seconds) as response:  # noqa: S310 - http(s) only
        return f"HTTP {response.status}"


def _mail(config: ProjectConfig, note: Mapping[str, Any], timeout_seconds: float) -> str:
    import smtplib  # only when a notification is sent (start-up speed)
    from email.message import EmailMessage

    smtp = config.smtp
    if not smtp.get("host"):
        raise ValueError(f"no [smtp] server configured ({config.label})")
    if "@" not in str(note["to"]):
        raise ValueError(f"'{note['to']}' is not an email address")
    mail = EmailMessage()
    mail["From"] = str(smtp.get("sender", "pdcaflow@localhost"))
    mail["To"] = str(note["to"])
    mail["Subject"] = str(note["subject"])
    mail.set_content(f"{note['message']}\n\n-- {note['process']}, cycle {note['cycle']}")
    with smtplib.SMTP(str(smtp["host"]), int(smtp.get("port", 25)), timeout=timeout_seconds) as server:
        if smtp.get("starttls"):
            server.starttls()
        if smtp.get("user"):
            password = os.environ.get(str(smtp.get("password", "")).removeprefix("env:"), "")
            server.login(str(smtp["user"]), password)
        server.send_message(mail)
    return f"sent via {smtp['host']}"
