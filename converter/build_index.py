"""The build index: what the last conversion into an output folder wrote, so that the next one converts only the
records whose files changed and copies the text of the others from the last dumps.

``output/.pfocr-build/index.pickle`` holds eight bytes giving where its tail starts, then one pickled group after
another as the build wrote them, then the tail: a pickle of ``(header, entities, taxa, directory)``, where the
header stamps the dumps the index describes (size and modification time) and the options and code they were made
with, and the directory maps the input digest of each group to where its pickle lies. Groups are written as the
build goes and read back one at a time, so that neither the build nor the next one holds every group in memory::

    >>> previous = PreviousBuild.open(folder, header)        # doctest: +SKIP
    >>> previous.group(previous.directory[digest])           # doctest: +SKIP
"""

from __future__ import annotations

import os
import pickle
import struct
import tempfile
from typing import Any

INDEX = "index.pickle"
_OFFSET = struct.Struct("<Q")  # where the tail starts


class IndexWriter:
    """The index of the build being made, written as it goes under a temporary name (``.index-*``)."""

    def __init__(self, folder: str) -> None:
        os.makedirs(folder, exist_ok=True)
        self.folder = folder
        fd, self._tmp = tempfile.mkstemp(prefix=".index-", dir=folder)
        self._fh = os.fdopen(fd, "wb", buffering=1 << 20)
        self._fh.write(bytes(_OFFSET.size))
        self._size = _OFFSET.size
        self.directory: dict[str, tuple[int, int]] = {}

    def add(self, key: str, group: Any) -> None:
        data = pickle.dumps(group, protocol=pickle.HIGHEST_PROTOCOL)
        self.directory[key] = (self._size, len(data))
        self._fh.write(data)
        self._size += len(data)

    def commit(self, header: dict, entities: list, taxa: list) -> None:
        """Write the tail and put the index in place of the last one."""
        try:
            pickle.dump((header, entities, taxa, self.directory), self._fh, protocol=pickle.HIGHEST_PROTOCOL)
            self._fh.seek(0)
            self._fh.write(_OFFSET.pack(self._size))
            self._fh.close()
            os.replace(self._tmp, os.path.join(self.folder, INDEX))
        except BaseException:
            self.abort()
            raise

    def abort(self) -> None:
        self._fh.close()
        try:
            os.unlink(self._tmp)
        except FileNotFoundError:
            pass


class PreviousBuild:
    """The index of the last build, when its header is the one expected (same dumps, options and code); and, in
    :attr:`files`, the dumps it describes, opened by the caller (closed with the index)."""

    def __init__(self, fh, entities: list, taxa: list, directory: dict[str, tuple[int, int]]) -> None:
        self._fh = fh
        self.entities, self.taxa, self.directory = entities, taxa, directory
        self.files: dict[str, Any] = {}

    @classmethod
    def open(cls, folder: str, header: dict) -> "PreviousBuild | None":
        """The last build's index in ``folder``, or None when there is none, it is damaged or its header differs."""
        try:
            fh = open(os.path.join(folder, INDEX), "rb")
        except OSError:
            return None
        try:
            (tail,) = _OFFSET.unpack(fh.read(_OFFSET.size))
            fh.seek(tail)
            found, entities, taxa, directory = pickle.load(fh)  # noqa: S301 - the converter's own file
            if found == header:
                return cls(fh, entities, taxa, directory)
        except (OSError, EOFError, pickle.UnpicklingError, struct.error, AttributeError, ValueError, TypeError):
            pass
        fh.close()
        return None

    def group(self, where: tuple[int, int]) -> Any:
        """The group whose pickle lies at ``where`` (a value of :attr:`directory`)."""
        offset, length = where
        data = os.pread(self._fh.fileno(), length, offset)
        if len(data) != length:
            raise OSError(f"{self._fh.name}: shorter than its directory says")
        return pickle.loads(data)  # noqa: S301 - the converter's own file

    def close(self) -> None:
        for fh in self.files.values():
            fh.close()
        self._fh.close()
