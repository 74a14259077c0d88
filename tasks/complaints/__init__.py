"""Complaint handling as a case process: intake and routing, SLA clocks, escalation, closure, claims.

The tables it reads: docs/service-system-data.md. Imports ``tasks.sdk`` and ``tasks.data``;
never retail, the sample worlds, the engine's store or runtime, or prefect.
"""
