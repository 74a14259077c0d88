"""CHECK and ACT: the built-in ``kpi.check`` and ``improve.apply_policies``, and SPC.

Pure functions of a ``StepContext``: KPIs against their targets and control
limits (``check``, ``control``, ``spc``), policies, corrective actions and their
follow-up (``act``, ``policy_rules``, ``policy_effects``, ``capability``,
``action_followup``), the records ACT reads and leaves (``records``). Registered
like any task library; imports only ``pdcaflow.tasks.sdk``.
"""
