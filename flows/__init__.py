"""The Prefect layer: the only package that imports ``prefect``.

``pdcaflow.flows.settings`` must take effect before Prefect reads its settings, so it is
applied here, when this package is first imported and before any module of it
imports ``prefect``. ``pdca validate``/``graph``/``schema`` never import this package.
"""

from pdcaflow.flows.settings import apply_embedded_defaults

apply_embedded_defaults()
