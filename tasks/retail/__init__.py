"""The seven-step retail customer-service library: the tasks of the flagship definition.

``customers`` (register, classification, profitability), ``demand`` (forecast),
``strategy`` (allocation of scarce supply), ``service`` (delivery measured),
``feedback`` (inspection, surveys, complaints) and ``quality``; their work is in
the ``*_steps`` and arithmetic modules, imported when a task runs. Imports
``pdcaflow.tasks.sdk`` and ``pdcaflow.engine.pdca``'s records; nothing in the core
imports it (docs/ARCHITECTURE.md).
"""
