"""Engine tests run against the same two stores as the store tests: a SQLite file and PostgreSQL."""

from tests.engine.store.conftest import db_url, pg_database  # noqa: F401  (fixtures shared with tests/engine/store)
