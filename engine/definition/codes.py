"""Every diagnostic code pdcaflow reports, with a one-line meaning.

Codes are stable product surface: editors and CI match on them. ``PDCA0xx`` are
file and YAML problems, ``PDCA1xx`` the shape of a key or value, ``PDCA2xx``
problems that span the definition: all of them errors. ``PDCA3xx`` are warnings:
valid but probably not meant (the definition stays valid and runs; ``pdca validate
--strict`` fails on them). docs/errors.md is generated from this table.
"""

from __future__ import annotations

CODES: dict[str, str] = {
    "PDCA001": "YAML syntax error",
    "PDCA002": "duplicate key in a mapping",
    "PDCA003": "the document is not a mapping of keys",
    "PDCA004": "empty file",
    "PDCA005": "binary file, or not UTF-8 text",
    "PDCA006": "YAML tag not allowed (e.g. !!python/object)",
    "PDCA007": "alias expansion or nesting beyond the limits (YAML bomb)",
    "PDCA008": "more than one YAML document in the file",
    "PDCA009": "file missing or unreadable",
    "PDCA010": "file larger than 1 MiB",
    "PDCA011": "a task module (project config `tasks`, a `pdcaflow.tasks` entry point, PDCA_TASK_MODULES) failed to import",
    "PDCA012": "project config (pdca.toml or [tool.pdca] in pyproject.toml) is malformed",
    "PDCA013": "two task modules register the same task name",
    "PDCA014": "a task module registers an invalid task (a bad name or parameter)",
    "PDCA015": "number with more than 100 digits (Python and YAML's base-60 form would read it without limit)",
    "PDCA016": "number is infinite or not a number (`.inf`, `.nan`, or text such as 'nan' where a task takes a number)",
    "PDCA101": "unknown key",
    "PDCA102": "missing required key",
    "PDCA103": "value of the wrong type",
    "PDCA104": "value not allowed (not one of the choices, out of range, too short)",
    "PDCA105": "malformed id, task name or reference path",
    "PDCA106": "malformed duration",
    "PDCA107": "cron expression does not parse",
    "PDCA108": "unknown timezone",
    "PDCA109": "target is not a number (units belong in `unit:`)",
    "PDCA110": "target is empty or its min is above its max",
    "PDCA111": "schedule needs exactly one of cron or interval",
    "PDCA112": "policy condition (`when`) is malformed",
    "PDCA113": "param or target change is malformed",
    "PDCA114": "policy is malformed (no effect, or ratchet mixed with when)",
    "PDCA115": "amount is neither a positive number nor a percentage",
    "PDCA118": "escalation chain (`escalation`, `open_action.escalate_to`) names an owner twice",
    "PDCA123": "approval needs exactly one of `approvers` or `levels`",
    "PDCA124": "approval `on_timeout: escalate` lacks `timeout` or `escalate_to` (or `escalate_to` without escalate)",
    "PDCA125": "approval level named twice",
    "PDCA126": "expression value out of bounds (a number over 100 digits or infinite, round() digits beyond -15..15)",
    "PDCA201": "duplicate step, KPI or policy id",
    "PDCA202": "`uses` names an unknown task",
    "PDCA203": "`needs` names an unknown step",
    "PDCA204": "dependency cycle between steps",
    "PDCA205": "steps not written in plan, do, check, act order",
    "PDCA206": "no check step, or no act step",
    "PDCA207": "a step needs a step of a later phase",
    "PDCA208": "`with:` key the task (or sub-process) does not take",
    "PDCA209": "`with:` lacks a parameter the task requires",
    "PDCA210": "`with:` value of the wrong type for the task",
    "PDCA211": "expression syntax error",
    "PDCA212": "expression refers to something undeclared",
    "PDCA213": "expression reads something not yet available at that point of the cycle",
    "PDCA214": "step output the task does not produce",
    "PDCA215": "KPI source names an unknown step",
    "PDCA216": "policy names an unknown KPI",
    "PDCA217": "policy changes an undeclared param",
    "PDCA218": "policy adds to or multiplies a param that is not a number",
    "PDCA219": "policy waits for a control-chart signal the KPI does not test",
    "PDCA220": "KPI direction contradicts its target",
    "PDCA221": "task used in a phase it does not run in",
    "PDCA222": "unknown sub-process",
    "PDCA223": "sub-process calls itself, directly or in a loop",
    "PDCA224": "KPIs declared but no step evaluates them (kpi.check)",
    "PDCA225": "policies declared but no step applies them (improve.apply_policies)",
    "PDCA226": "KPI read from a step that does not finish before the KPI check",
    "PDCA227": "param name is not a valid name",
    "PDCA228": "target limit lies behind the current target",
    "PDCA229": "the process declares no KPIs",
    "PDCA230": "control-chart rule needs more points in a row than the KPI check charts",
    "PDCA231": "KPI never gets control limits: they need more values than the KPI check charts",
    "PDCA245": "KPI source reads an output a sub-process step does not roll up (or a KPI the sub-process lacks)",
    "PDCA234": "`open_action.verify_after` on a policy with no KPI to verify the action against",
    "PDCA250": "`with:` values the task's own check rejects (e.g. an expression inside data.query's SQL text)",
    "PDCA260": "a path in `with:` resolves (symlinks included) outside the project and the folders its config allows",
    "PDCA261": "a file parameter given a URL or a `scheme:` (connections are named in the project config, never written)",
    "PDCA262": "`<name>/...` names a folder the project config does not allow (`[folders]`)",
    "PDCA263": "a file or folder a step reads does not exist (relative paths are relative to the project root)",
    "PDCA264": "a connection name the project config does not define (`[connections]`, $PDCA_CONNECTION_<NAME>)",
    "PDCA265": "data.query / data.assert SQL is not one read-only SELECT (a second statement, a write, COPY, SET)",
    "PDCA266": "data.query / data.assert SQL calls a function not on the allowlist (e.g. pg_read_file, dblink)",
    "PDCA267": "data.query / data.assert SQL does not parse",
    "PDCA268": "a service standard (service.standards) is not measurable: words for a measure, an unknown table, "
               "column or function, no unit, target or owner, or a `%` unit on an aggregate that is not a share",
}
# Warnings (PDCA3xx): valid but probably not what was meant (engine/definition/schedule_checks.py, suspicious.py).
WARNING_CODES: dict[str, str] = {
    "PDCA301": "warning: cron fields look swapped or left at `*`: cycles come in a burst (every day of a month, every minute of an hour)",
    "PDCA302": "warning: cron day of the month that some months lack (29, 30, 31): those months get no cycle",
    "PDCA303": "warning: cron sets both day of the month and day of the week: it runs when either matches",
    "PDCA304": "warning: schedule runs far more or less often than the process's title or description says (\"monthly\")",
    "PDCA311": "warning: policy param change whose `min`/`max` stops it the moment it applies",
    "PDCA312": "warning: ratchet or target change whose `limit` is the current target: it never moves",
    "PDCA313": "warning: KPI target outside the range its unit states (`score (1-5)`, `%`): it can never be met",
    "PDCA314": "warning: approval may wait longer than the time between two scheduled cycles",
}
CODES.update(WARNING_CODES)


def errors_markdown() -> str:
    """docs/errors.md: the code table users look codes up in (kept current by a test)."""
    lines = [
        "# Diagnostic codes",
        "",
        "Generated from `engine/definition/codes.py` by `python -m pdcaflow.engine.definition.codes > docs/errors.md`.",
        "Every code has an invalid example in `tests/fixtures/invalid/` (named after it) except",
        "PDCA009 and PDCA010, which concern the file itself, and PDCA011-PDCA014, which concern a",
        "project's task modules (their tests build real project folders: `tests/engine/definition/test_project_tasks.py`).",
        "",
        "PDCA3xx are warnings: the definition is valid but probably not what was meant. `pdca validate`",
        "prints them and exits 0 (2 with `--strict`); `pdca run` prints them and runs. Their examples",
        "are in `tests/fixtures/warnings/`.",
        "",
        "| code | meaning | example |",
        "|---|---|---|",
    ]
    for code, meaning in CODES.items():
        folder = "warnings" if code in WARNING_CODES else "invalid"
        lines.append(f"| {code} | {meaning} | `tests/fixtures/{folder}/{code}-*.yaml` |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(errors_markdown(), end="")
