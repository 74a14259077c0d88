"""The nine-element service system's own tasks (DOMAIN.md §2): standards, research, design, perform, control.

The tables they read: docs/service-system-data.md. Imports ``tasks.sdk`` and ``tasks.data``;
never retail, the sample worlds, the engine's store or runtime, or prefect.
"""
