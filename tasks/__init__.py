"""The step library: the tasks a definition's ``uses:`` may name.

Each task is a plain typed function registered with :func:`pdcaflow.tasks.sdk.registry.task`.
Its keyword parameters are the step's ``with:`` keys, its docstring's first line
is the summary ``pdca tasks`` prints, and the keys of its ``TypedDict`` return
type are the outputs that KPIs (``source: step_id.output``) and expressions
(``${{ steps.step_id.output }}``) may read. The engine passes the cycle's
:class:`pdcaflow.tasks.sdk.registry.StepContext` in the parameter annotated with it.

The built-in library, one module per part of the customer-service system:

* ``customers``  - the customer register with history, classification, profitability
* ``demand``     - demand forecasting (SES / Holt) with a measured error
* ``strategy``   - supply strategy and the allocation of scarce products by quota
* ``service``    - carrying the plan out: visits, orders, delivery
* ``feedback``   - inspection, follow-up surveys, complaint intake and handling
* ``quality``    - service standards, demand research, service design
* ``kpi``        - ``kpi.check``: every declared KPI against its target (CHECK)
* ``improve``    - ``improve.apply_policies``: policies -> next cycle's carry-over (ACT)

Tasks import neither ``prefect``, ``flows`` nor the ``engine`` (an import-linter
contract); recording happens around them, never inside.
"""
