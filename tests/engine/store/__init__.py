"""Tests of pdcaflow.engine.store: every database test runs on SQLite and on PostgreSQL."""
