"""Generic data tasks any process can use: ``data.query``, ``data.assert``, ``survey.score``, ``notify.send``.

``query`` with its SQL guard (``sql_check``, ``sql_functions``, ``sql_privileges``,
``sql_readonly``) and file aggregates (``table_aggregate``), ``assertions``,
``survey``, ``notify`` with ``outbox_table``. Domain-free; imports only
``pdcaflow.tasks.sdk``.
"""
