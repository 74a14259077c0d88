"""What a task is: the registry, task discovery, project config, the path sandbox, sources.

``registry`` (``@task``, ``TaskSpec``, ``StepContext``, ``BUILTIN_MODULES``),
``discovery``, ``project_config`` (``pdca.toml``, named connections),
``project_paths``, ``sources`` (reading tables), ``workspace`` (the cycle's work
directory) and ``numbers``. The bottom layer: it imports nothing of the engine,
``flows`` or the other task packages.
"""
