"""`pdca db status` and `pdca db upgrade`: the store's schema revision, and the explicit upgrade.

The review commands open a store read-only and never migrate it; a store written by an older
pdcaflow is upgraded here (or by the next writing command: `pdca run`, `approve`, `actions
update`, `override`, which upgrade on open as they always did). Exit codes: 0 ok, 1 the store
is not at this pdcaflow's schema (`status`) or failed, 2 bad input (no store there). Nothing
here imports the store at module level: `pdca validate` imports the CLI and must stay fast.
"""

from __future__ import annotations

import typer

from pdcaflow.engine.cli.common import Db, ExitCode, one_line_errors, out
from pdcaflow.engine.cli.hints import pdca_command

db_app = typer.Typer(help="The audit store's schema: which revision it is at, and upgrading it.",
                     no_args_is_help=True)


@db_app.command("status")
def status(db: Db = None) -> None:
    """The store's schema revision and this pdcaflow's (exit 1 when they differ); changes nothing."""
    # start-up speed: the store (SQLAlchemy) loads only when this runs
    from pdcaflow.engine.store.access import store_url
    from pdcaflow.engine.store.db import open_store
    from pdcaflow.engine.store.migrate import SCHEMA_HEAD, is_known_revision

    with one_line_errors():
        store = open_store(store_url(db), read_only=True, migrate=False)
        try:
            current, shown = store.revision(), store.display_url
        finally:
            store.dispose()
    upgrade = f"{pdca_command()} db upgrade" + (f" --db {shown}" if db else "")
    if current == SCHEMA_HEAD:
        out.print(f"{shown}: schema revision {current}, this pdcaflow's newest: up to date", markup=False)
        return
    if current is not None and not is_known_revision(current):
        out.print(f"{shown}: schema revision {current}, newer than this pdcaflow knows (its newest is "
                  f"{SCHEMA_HEAD}): a newer pdcaflow wrote it; upgrade pdcaflow", markup=False)
    else:
        where = "no pdcaflow schema (an empty database)" if current is None else f"schema revision {current}"
        out.print(f"{shown}: {where}; this pdcaflow's is {SCHEMA_HEAD}: run `{upgrade}` to upgrade it",
                  markup=False)
    raise typer.Exit(ExitCode.FAILED)


@db_app.command("upgrade")
def upgrade(db: Db = None) -> None:
    """Upgrade the store's schema to this pdcaflow's newest (the one command, besides the writing ones, that
    migrates); waits for a running cycle's write lock like any writer."""
    # start-up speed: the store (SQLAlchemy) loads only when this runs
    from pdcaflow.engine.store.access import store_url
    from pdcaflow.engine.store.db import open_store
    from pdcaflow.engine.store.migrate import SCHEMA_HEAD

    with one_line_errors():
        store = open_store(store_url(db), migrate=False)
        try:
            before, shown = store.revision(), store.display_url
            if before != SCHEMA_HEAD:
                store.upgrade()
        finally:
            store.dispose()
    if before == SCHEMA_HEAD:
        out.print(f"{shown} is already at schema revision {SCHEMA_HEAD}", markup=False)
    elif before is None:
        out.print(f"created the schema (revision {SCHEMA_HEAD}) in {shown}", markup=False)
    else:
        out.print(f"upgraded {shown} from schema revision {before} to {SCHEMA_HEAD}", markup=False)
