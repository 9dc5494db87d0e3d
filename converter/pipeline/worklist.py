"""The pages of one build in the order it writes them, and the keys it has written, kept on disk.

A build writes figures in figid order, so it must know every page's figid before it writes the first one; and it
writes a figid, an article or a journal once, so it must remember which it has written. For a corpus of a hundred
thousand pages, Python objects for all of that would be the largest thing the parent process holds. Here it lives
in a private temporary SQLite database instead (SQLite keeps a few megabytes of it in memory and the rest in a
temporary file, deleted when the list is closed)::

    >>> from converter.records.sources import Source
    >>> with WorkList() as work:
    ...     for path, figid in [("b.md", "PMC2__f1"), ("a.md", "PMC2__f1"), ("c.md", "PMC1__f1"), ("d.md", None)]:
    ...         work.add(Source(path), figid)
    ...     [(figid, [s.path for s in sources]) for sources, figid in work.groups()]
    [('PMC1__f1', ['c.md']), ('PMC2__f1', ['a.md', 'b.md']), (None, ['d.md'])]
"""

from __future__ import annotations

import errno
import sqlite3
import tempfile
from collections.abc import Iterable, Iterator
from types import TracebackType

from ..records.sources import Source

# BLOBs compare byte by byte, and UTF-8 keeps the order of code points, which is Python's order for str; with
# surrogatepass it also holds the lone surrogates of file names that are not UTF-8.
_ENCODING = ("utf-8", "surrogatepass")
_TABLES = ("figid", "shared")  # what a build writes once: figures, and nodes several figures share


class WorkList:
    """Pages with the figid each one's figid line gives (None when it cannot be read), and the keys written."""

    def __init__(self) -> None:
        self._db = sqlite3.connect("", isolation_level=None)  # "": private, on disk past its cache, deleted on close
        self._db.executescript(
            "PRAGMA journal_mode = OFF; PRAGMA cache_size = -8192;"  # 8 MiB
            "CREATE TABLE page (path BLOB PRIMARY KEY, figid BLOB, folders INTEGER) WITHOUT ROWID;"
            + "".join(f"CREATE TABLE {t} (key BLOB PRIMARY KEY) WITHOUT ROWID;" for t in _TABLES)
            + "CREATE TABLE kept (key BLOB PRIMARY KEY, value BLOB) WITHOUT ROWID;"
            + "BEGIN;")  # one transaction, never committed: the database goes when the list does
        self._folders: dict[tuple[str, ...], int] = {}  # each page's companion folders, as a number
        self._texts: dict[str, str] = {}  # standard input, whose text is nowhere else
        # pages added and not yet inserted (path, figid, folders): inserted many at a time
        self._rows: list[tuple[bytes, bytes | None, int]] = []

    def __enter__(self) -> WorkList:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()
        if isinstance(exc, sqlite3.Error):  # its private database is a file in the temporary folder: say which
            raise OSError(errno.EIO, f"the build's work list: {exc}", tempfile.gettempdir()) from None

    def close(self) -> None:
        self._db.close()

    def add(self, source: Source, figid: str | None) -> None:
        """A page and its figid; a page added again (the same path) counts once."""
        folders = self._folders.setdefault(source.data_dirs, len(self._folders))
        if source.text is not None:
            self._texts[source.path] = source.text
        self._rows.append((source.path.encode(*_ENCODING), None if figid is None else figid.encode(*_ENCODING),
                           folders))
        if len(self._rows) >= 4096:
            self._insert()

    def _insert(self) -> None:
        self._db.executemany("INSERT OR IGNORE INTO page VALUES (?, ?, ?)", self._rows)
        self._rows.clear()

    def __len__(self) -> int:
        self._insert()
        count: int = self._db.execute("SELECT count(*) FROM page").fetchone()[0]
        return count

    def group_count(self) -> int:
        """How many groups :meth:`groups` yields."""
        self._insert()
        count: int = self._db.execute("SELECT count(DISTINCT figid) + count(*) - count(figid) FROM page").fetchone()[0]
        return count

    def groups(self) -> Iterator[tuple[list[Source], str | None]]:
        """The pages grouped by figid, in figid order, each group in path order; then the pages whose figid could
        not be read, each alone, in path order (their figid None)."""
        self._insert()
        folders = {number: dirs for dirs, number in self._folders.items()}
        group: list[Source] = []
        current = b""  # the figid of the group (a group is never empty)
        for figid, path, number in self._db.execute(
                "SELECT figid, path, folders FROM page ORDER BY figid IS NULL, figid, path"):
            path = path.decode(*_ENCODING)
            source = Source(path, folders[number], self._texts.get(path))
            if group and (figid is None or figid != current):
                yield group, current.decode(*_ENCODING)
                group = []
            if figid is None:
                yield [source], None
            else:
                group.append(source)
                current = figid
        if group:
            yield group, current.decode(*_ENCODING)

    def claim(self, table: str, keys: Iterable[str]) -> bool:
        """Note ``keys`` as written (``table``: "figid" or "shared"), unless one of them already is: then note
        nothing and return False."""
        assert table in _TABLES
        rows = [(key.encode(*_ENCODING),) for key in keys]
        if len(rows) == 1:
            return self._db.execute(f"INSERT OR IGNORE INTO {table} VALUES (?)", rows[0]).rowcount == 1
        if any(self._db.execute(f"SELECT 1 FROM {table} WHERE key = ?", row).fetchone() for row in rows):
            return False
        self._db.executemany(f"INSERT OR IGNORE INTO {table} VALUES (?)", rows)
        return True

    def keep(self, key: str, value: bytes) -> None:
        """Keep ``value`` under ``key`` (the first value kept for a key stays)."""
        self._db.execute("INSERT OR IGNORE INTO kept VALUES (?, ?)", (key.encode(*_ENCODING), value))

    def kept(self, key: str) -> bytes | None:
        """What :meth:`keep` kept under ``key``, or None."""
        row = self._db.execute("SELECT value FROM kept WHERE key = ?", (key.encode(*_ENCODING),)).fetchone()
        return None if row is None else row[0]
