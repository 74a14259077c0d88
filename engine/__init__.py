"""pdcaflow's engine: definitions in, recorded cycles out, split by stage.

``definition`` (load, shape, semantic checks, compile), ``pdca`` (CHECK and ACT),
``runtime`` (one running cycle), ``store`` (the audit store), ``review`` (reading
the trail) and ``cli`` (the ``pdca`` command); ``errors`` holds the error root.
The layers and what each may import are in docs/ARCHITECTURE.md and README.md
beside this file. Nothing in this package imports ``prefect``.
"""
