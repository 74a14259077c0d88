"""The ``pdca`` command line (entry point ``pdcaflow.engine.cli.app:main``).

``app`` holds the Typer app, the definition commands (validate, graph, schema), ``run``
and ``status``, and registers one module per command group: ``actions`` (actions,
override), ``approve`` (approve, reject, approvals), ``audit`` and ``attest`` (pdca
audit ...), ``db``, ``demo``, ``serve`` (serve, schedule, deploy) and ``tasks``.
``cycles`` draws the live view and the status tables; ``stop`` ends ``pdca run`` on
SIGINT/SIGTERM. ``common`` is what they share: the exit codes, the consoles, the
``--db`` option and one-line errors; ``hints`` names the ``pdca`` that printed hints run, and
``plain_help`` keeps help texts as written.

The top layer: it may import every other package, ``flows`` only inside the commands
that run cycles, the sample world only in ``demo``.
"""
