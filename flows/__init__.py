"""The Prefect layer: the only package that imports ``prefect``.

It will hold the compiler's last step (a validated definition -> a Prefect flow),
the stable entry flow for deployments, and schedules; those arrive with the engine
issue. Until then nothing here runs, and ``pdca validate``/``graph``/``schema``
never import this package.
"""
