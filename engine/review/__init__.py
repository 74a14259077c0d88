"""Reviewing the audit trail: the queries and files behind ``pdca audit`` (engine/cli/audit.py).

Modules: ``events`` (filtering the event log), ``records`` (an event as JSON/CSV
data), ``cycle_view`` (one cycle, whole), ``cycle_report`` (a finished cycle's KPI
table and decisions), ``kpis``, ``kpi_chart`` and ``kpi_plot`` (KPI history and
control charts), ``versions`` (definition versions and their semantic diff),
``export`` (the trail to files and back), ``checkpoint`` (exported heads that
expose a later truncation), ``signed`` and ``proofs`` (signed checkpoints),
``render`` and ``render_cycle`` (rich tables), ``layout`` (tables fitted to the
page, never cutting a number or an id) and ``readable`` (recorded values as
``key: value`` lines). The store is opened read-only
(``pdcaflow.engine.store.access``); nothing here writes to it, and nothing imports
``prefect`` or ``flows``.
"""
