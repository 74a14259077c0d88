"""The Prefect layer: the only package that imports ``prefect``.

It owns how cycles run on Prefect: the flow of one cycle and the stable entry flow
``pdca_cycle`` (``cycle_flow``), ``pdca run``'s runner (``runner``), deployments,
serving and deploying (``deployments``, ``serve``, ``deploy``, ``scheduled``),
approval pauses, sub-process steps, and the guards that keep child processes from
outliving ``pdca``. It may import every engine layer below the CLI, never
``pdcaflow.engine.cli``.

``pdcaflow.flows.settings`` must take effect before Prefect reads its settings, so it is
applied here, when this package is first imported and before any module of it
imports ``prefect``. ``pdca validate``/``graph``/``schema`` never import this package.
"""

from pdcaflow.flows.settings import apply_embedded_defaults

apply_embedded_defaults()
