"""Reviewing the audit trail: the queries and files behind ``pdca audit`` (engine/cli/audit.py).

Modules: ``access`` (opening the store for review; ``ReviewError``), ``events``
(filtering the event log), ``records`` (an event as JSON/CSV data), ``cycle_view``
(one cycle, whole), ``kpis`` (KPI history), ``versions`` (definition versions and
their semantic diff), ``export`` (the trail to files and back), ``checkpoint``
(exported heads that expose a later truncation), ``render`` and ``render_cycle``
(rich tables). Nothing here writes to the store, and nothing imports ``prefect``
or ``flows``.
"""
