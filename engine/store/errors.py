"""The audit store's error: every database problem a user can meet, in one line."""

from __future__ import annotations

from engine.errors import PdcaError


class StoreError(PdcaError):
    """The audit store could not do what was asked (unreachable, locked, or a rule broken).

    The message names the database URL without its password; the database
    driver's own exception is chained as ``__cause__`` for ``--verbose`` output.
    """
