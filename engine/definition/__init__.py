"""The definition language: load, shape, semantic checks, expressions, compile.

YAML in, located diagnostics (codes in ``codes``) or a frozen ``ExecutionPlan``
out; every problem of every file is collected before anything is reported
(``validate``). No store, no runtime, no ``prefect``: ``pdca validate`` stays fast.
"""
