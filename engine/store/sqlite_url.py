"""SQLite URLs: the file a URL names, and the read-only URL the review commands open it with.

A SQLite store can be named two ways: ``sqlite:///path/pdca.db`` (a plain path) or, as
SQLAlchemy's pysqlite driver allows, a SQLite URI ``sqlite:///file:/path/pdca.db?mode=ro&uri=true``
whose query parameters go to SQLite itself (https://www.sqlite.org/uri.html).

Reading uses ``mode=ro``: SQLite refuses every write on that connection, so nothing a review
does can change the file. ``immutable=1`` is added only when it is needed to open the file at
all, that is when the store is in WAL mode, this process cannot write the file or its folder
(a read-only mount, another user's store) and no ``-shm`` file (nor a non-empty ``-wal``) is
there: nobody has the store open. SQLite then reads the file as it is, without locks or the ``-wal``/``-shm``
files, on the promise that nobody writes it meanwhile: if a writer did start, the review
could read a half-written page. A store being written always has its ``-shm`` beside it,
so a review of a running store never takes that promise.
"""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import quote, unquote

from sqlalchemy.engine import URL

_WAL_FORMAT = 2  # byte 18 of the database header: 1 rollback journal, 2 WAL (https://www.sqlite.org/fileformat.html)


def is_uri(url: URL) -> bool:
    """The URL names a SQLite URI (``sqlite:///file:...?uri=true``) rather than a plain path."""
    return str(url.query.get("uri", "")).lower() in ("true", "1") and (url.database or "").startswith("file:")


def sqlite_file(url: URL) -> Path | None:
    """The database file a SQLite URL names (absolute), or ``None`` for an in-memory or non-SQLite URL."""
    if url.get_backend_name() != "sqlite":
        return None
    database = url.database or ""
    if is_uri(url):
        query = dict(url.query)
        if str(query.get("mode", "")) == "memory":
            return None
        database = _uri_path(database.removeprefix("file:"))
    if database in ("", ":memory:"):
        return None
    return Path(database).absolute()


def read_only_url(url: URL) -> URL:
    """The same SQLite store, opened read-only (``mode=ro``, and ``immutable=1`` when that alone can open it).

    The URL's other SQLite URI parameters are kept; a ``mode`` it gives is replaced.
    """
    path = sqlite_file(url)
    if path is None:
        return url
    query: dict[str, str | tuple[str, ...]] = dict(url.query)  # URI parameters, or the driver's (timeout=...)
    query.update(mode="ro", uri="true")
    if "immutable" not in query and needs_immutable(path):
        query["immutable"] = "1"
    return url.set(database="file:" + quote(str(path), safe="/"), query=query)


def needs_immutable(path: Path) -> bool:
    """Whether ``mode=ro`` alone cannot open the file: WAL mode, not writable here, and no ``-shm`` beside it."""
    writable = os.access(path, os.W_OK) and os.access(path.parent, os.W_OK)
    wal = Path(f"{path}-wal")
    # With a -shm there, mode=ro reads through it; a non-empty -wal holds commits immutable would not see.
    if writable or Path(f"{path}-shm").exists() or (wal.exists() and wal.stat().st_size > 0):
        return False
    try:
        with path.open("rb") as file:
            header = file.read(20)
    except OSError:
        return False  # SQLite reports the file in its own words
    return len(header) == 20 and header[18] == _WAL_FORMAT


def _uri_path(rest: str) -> str:
    # file:///abs, file://localhost/abs, file:/abs, file:relative (https://www.sqlite.org/uri.html)
    if rest.startswith("//"):
        authority, _, path = rest[2:].partition("/")
        rest = "/" + path if authority in ("", "localhost") else rest
    return unquote(rest.partition("#")[0])
