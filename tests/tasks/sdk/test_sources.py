"""pdcaflow.tasks.sdk.sources: one reader for CSV, Parquet, a directory of tables, and SQL databases."""

from __future__ import annotations

import getpass
import secrets
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import create_engine, text

from pdcaflow.tasks.sdk.sources import SourceError, display_source, is_url, read_table, write_table

FRAME = pd.DataFrame({"customer_id": ["C1", "C2"], "month": ["2026-01", "2026-02"], "quantity": [3, 5]})


def test_csv_parquet_and_directory_read_the_same_rows(tmp_path: Path) -> None:
    write_table(FRAME, tmp_path / "sales.csv")
    write_table(FRAME, tmp_path / "dir" / "sales.parquet")
    from_csv = read_table(str(tmp_path / "sales.csv"))
    from_dir = read_table(str(tmp_path / "dir"), "sales")
    pd.testing.assert_frame_equal(from_csv, FRAME)
    pd.testing.assert_frame_equal(from_dir, FRAME)
    assert not list((tmp_path / "dir").glob("*.partial"))  # written atomically


def test_missing_things_are_named(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match=r"nope\.csv: no such file"):
        read_table(str(tmp_path / "nope.csv"))
    (tmp_path / "ops").mkdir()
    with pytest.raises(SourceError, match=r"no visits\.parquet or visits\.csv"):
        read_table(str(tmp_path / "ops"), "visits")
    write_table(FRAME, tmp_path / "sales.csv")
    with pytest.raises(SourceError, match=r"missing column\(s\) product_id"):
        read_table(str(tmp_path / "sales.csv"), columns=["customer_id", "product_id"])
    (tmp_path / "bad.parquet").write_bytes(b"not parquet")
    with pytest.raises(SourceError, match="cannot be read as Parquet"):
        read_table(str(tmp_path / "bad.parquet"))


def test_sqlite_url_reads_the_named_table(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'ops.db'}"
    engine = create_engine(url)
    FRAME.to_sql("sales", engine, index=False)
    engine.dispose()
    assert is_url(url) and not is_url(str(tmp_path / "sales.csv"))
    pd.testing.assert_frame_equal(read_table(url, "sales"), FRAME)
    with pytest.raises(SourceError, match="no table 'orders'"):
        read_table(url, "orders")
    with pytest.raises(SourceError, match="name the table"):
        read_table(url)


def test_postgresql_url_reads_the_named_table() -> None:
    url = f"postgresql+psycopg://{getpass.getuser()}@127.0.0.1:5432/test"
    table = f"sources_{secrets.token_hex(4)}"
    engine = create_engine(url)
    try:
        FRAME.to_sql(table, engine, index=False)
        pd.testing.assert_frame_equal(read_table(url, table), FRAME)
        with pytest.raises(SourceError, match="no table"):
            read_table(url, table + "_missing")
    finally:
        with engine.begin() as connection:
            connection.execute(text(f'DROP TABLE IF EXISTS "{table}"'))
        engine.dispose()


@pytest.mark.parametrize(("source", "shown"), [
    ("postgresql+psycopg://alice:s3cret@db:5432/ops", "postgresql+psycopg://alice:***@db:5432/ops"),
    ("postgresql+psycopg://alice@db/ops", "postgresql+psycopg://alice@db/ops"),  # no password to hide
    ("sqlite:///data/ops.db", "sqlite:///data/ops.db"),
    ("postgresql://alice:s3cret@db:notaport/ops", "postgresql://***@db:notaport/ops"),  # unparsable: cut before '@'
    ("data/water/quarters", "data/water/quarters"),  # a path is shown as given
])
def test_a_source_is_shown_without_its_password(source: str, shown: str) -> None:
    assert display_source(source) == shown
