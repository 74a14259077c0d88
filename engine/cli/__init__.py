"""The ``pdca`` command: the Typer app in ``app`` and one module per command group.

Each command parses its options, calls one stage function and maps the outcome to
an exit code (0 ok, 1 a run or check failed, 2 bad input, 3 a cycle waits for an
approval). The top layer: it may import every other package, ``flows`` only inside
the commands that run cycles, the sample world only in ``demo``.
"""
