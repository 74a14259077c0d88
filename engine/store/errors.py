"""The audit store's error: every database problem a user can meet, in one line."""

from __future__ import annotations

from pdcaflow.engine.errors import PdcaError


class StoreError(PdcaError):
    """The audit store could not do what was asked (unreachable, locked, or a rule broken).

    The message names the database URL without its password; the database
    driver's own exception is chained as ``__cause__`` for ``--verbose`` output.
    """


class SchemaRevisionError(StoreError):
    """A store opened read-only whose schema is not this pdcaflow's newest: a review neither migrates it
    nor guesses how to read it.

    Attributes:
        url: the store's URL without its password.
        current: the revision the store is at (``None``: no pdcaflow schema at all).
        head: this pdcaflow's newest revision.
        newer: the store is at a revision this pdcaflow does not know (a newer pdcaflow wrote it).
    """

    def __init__(self, url: str, current: str | None, head: str, *, newer: bool) -> None:
        self.url, self.current, self.head, self.newer = url, current, head, newer
        super().__init__(self.explain("pdca db upgrade"))

    def explain(self, upgrade: str) -> str:
        """The message, with ``upgrade`` as the command that upgrades this store (e.g. with its ``--db``)."""
        if self.newer:
            return (f"this store ({self.url}) is at schema revision {self.current}, newer than this pdcaflow knows "
                    f"(its newest is {self.head}): a newer pdcaflow wrote it; upgrade pdcaflow to review it")
        where = (f"has no pdcaflow schema (an empty database)" if self.current is None
                 else f"is at schema revision {self.current}, older than this pdcaflow's {self.head}")
        return (f"this store ({self.url}) {where}; review commands never change a store: "
                f"run `{upgrade}` to upgrade it")
