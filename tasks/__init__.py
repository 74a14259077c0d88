"""The step library: the tasks a definition's ``uses:`` may name.

Each task is a plain typed function registered with :func:`pdcaflow.tasks.sdk.registry.task`.
Its keyword parameters are the step's ``with:`` keys, its docstring's first line
is the summary ``pdca tasks`` prints, and the keys of its ``TypedDict`` return
type are the outputs that KPIs (``source: step_id.output``) and expressions
(``${{ steps.step_id.output }}``) may read. The engine passes the cycle's
:class:`pdcaflow.tasks.sdk.registry.StepContext` in the parameter annotated with it.

Sub-packages: ``sdk`` (what a task is: registry, discovery, project config, paths,
sources), ``data`` (the generic ``data.query``, ``data.assert``, ``survey.score``,
``notify.send``), ``retail`` (the seven-step retail library: customers, demand,
strategy, service, feedback), ``service_system`` (the nine-element system's own
tasks: standards, research, design, perform, control), ``complaints`` (complaint
handling as a case process) and ``sample_world`` / ``water_world`` (the simulated
retail city and water brand, for ``pdca demo`` and tests only). The built-in CHECK and ACT tasks, ``kpi.check``
and ``improve.apply_policies``, live in ``pdcaflow.engine.pdca``.

Tasks import neither ``prefect``, ``flows`` nor the engine's store, runtime or
definition packages (import-linter contracts); recording happens around them,
never inside.
"""
