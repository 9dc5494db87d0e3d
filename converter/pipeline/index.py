"""The build index: what the last conversion into an output folder wrote, so that the next one converts only the
records whose files changed and copies the text of the others from the last dumps.

``output/.pfocr-build/index.sqlite`` is a SQLite database. Its ``groups`` table holds, keyed by the input digest
of each group of pages, the group as the build wrote it (pickled); its ``tail`` table the header, which stamps the
dumps the index describes (size and modification time) and the options and code they were made with, and the
tables of entities and taxa the groups refer to by number. Groups are written as the build goes and read back one
at a time, so that neither the build nor the next one holds them, or their keys, in memory::

    >>> previous = PreviousBuild.open(folder, header)        # doctest: +SKIP
    >>> previous.group(previous.find(digest))                # doctest: +SKIP
"""

from __future__ import annotations

import errno
import os
import pickle
import sqlite3
import tempfile
from contextlib import suppress
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

if TYPE_CHECKING:
    from ..records.model import PlainEntity, PlainTaxon

INDEX = "index.sqlite"
Header = dict[str, Any]  # what the dumps were made with and their sizes and times (pipeline._header)
_SCHEMA = ("CREATE TABLE groups (key TEXT PRIMARY KEY, data BLOB NOT NULL);"
           "CREATE TABLE tail (header BLOB NOT NULL, entities BLOB NOT NULL, taxa BLOB NOT NULL);")


class IndexWriter:
    """The index of the build being made, written as it goes under a temporary name (``.index-*``)."""

    def __init__(self, folder: str) -> None:
        os.makedirs(folder, exist_ok=True)
        self.folder = folder
        fd, self._tmp = tempfile.mkstemp(prefix=".index-", dir=folder)
        os.close(fd)
        # no journal and no syncs: the file is renamed into place only once complete
        self._db = sqlite3.connect(self._tmp, isolation_level=None)
        self._db.executescript(f"PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF; {_SCHEMA} BEGIN;")

    def add(self, key: str, group: Any) -> None:
        try:
            self._db.execute("INSERT OR REPLACE INTO groups VALUES (?, ?)",
                             (key, pickle.dumps(group, protocol=pickle.HIGHEST_PROTOCOL)))
        except sqlite3.Error as err:
            raise self._failed(err) from None

    def _failed(self, err: sqlite3.Error) -> OSError:
        """SQLite's error (a full disk, say) as an I/O error that names the index."""
        return OSError(errno.EIO, str(err), os.path.join(self.folder, INDEX))

    def commit(self, header: Header, entities: list[PlainEntity], taxa: list[PlainTaxon]) -> None:
        """Write the tail and put the index in place of the last one."""
        try:
            self._db.execute("INSERT INTO tail VALUES (?, ?, ?)",
                             [pickle.dumps(x, protocol=pickle.HIGHEST_PROTOCOL) for x in (header, entities, taxa)])
            self._db.execute("COMMIT")
            self._db.close()
            os.replace(self._tmp, os.path.join(self.folder, INDEX))
        except sqlite3.Error as err:
            self.abort()
            raise self._failed(err) from None
        except BaseException:
            self.abort()
            raise

    def abort(self) -> None:
        self._db.close()
        with suppress(FileNotFoundError):
            os.unlink(self._tmp)


class PreviousBuild:
    """The index of the last build, when its header is the one expected (same dumps, options and code); and, in
    :attr:`files`, the dumps it describes, opened by the caller (closed with the index)."""

    def __init__(self, db: sqlite3.Connection, entities: list[PlainEntity], taxa: list[PlainTaxon]) -> None:
        self._db = db
        self.entities, self.taxa = entities, taxa
        self.empty = bool(db.execute("SELECT NOT EXISTS (SELECT 1 FROM groups)").fetchone()[0])
        self.files: dict[str, Any] = {}

    @classmethod
    def open(cls, folder: str, header: Header) -> PreviousBuild | None:
        """The last build's index in ``folder``, or None when there is none, it is damaged or its header differs."""
        path = os.path.join(folder, INDEX)
        if not os.path.isfile(path):
            return None
        db = None
        try:
            db = sqlite3.connect(f"file:{quote(os.path.abspath(path))}?mode=ro", uri=True, isolation_level=None)
            found, entities, taxa = db.execute("SELECT header, entities, taxa FROM tail").fetchone()
            # the whole file is checked (cheap beside a build): a damaged page would otherwise
            # surface in the middle of the build
            if pickle.loads(found) == header and db.execute("PRAGMA quick_check").fetchone() == ("ok",):
                return cls(db, pickle.loads(entities), pickle.loads(taxa))  # the converter's own file
        except (sqlite3.Error, TypeError, EOFError, pickle.UnpicklingError, AttributeError, ValueError):
            pass
        if db is not None:
            db.close()
        return None

    def find(self, key: str) -> int | None:
        """Where the group with input digest ``key`` is (for :meth:`group`), or None when the last build had none."""
        row = self._db.execute("SELECT rowid FROM groups WHERE key = ?", (key,)).fetchone()
        return None if row is None else row[0]

    def group(self, where: int) -> Any:
        """The group :meth:`find` gave ``where`` for."""
        row = self._db.execute("SELECT data FROM groups WHERE rowid = ?", (where,)).fetchone()
        if row is None:
            raise OSError(f"{INDEX}: a group it lists is gone")
        return pickle.loads(row[0])  # the converter's own file

    def close(self) -> None:
        for fh in self.files.values():
            fh.close()
        self._db.close()
