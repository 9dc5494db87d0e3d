"""Dump writers: one streaming writer per format, each written to a temporary file and renamed into place.

A crash leaves the previous dump untouched: nothing under its final name is ever half-written::

    >>> with DumpSet("output", ["nt", "ttl"]) as dumps:    # doctest: +SKIP
    ...     dumps.write(serialize(triples, dumps.formats))
"""

from __future__ import annotations

import fcntl
import fnmatch
import hashlib
import json
import os
import shutil
import tempfile
from contextlib import contextmanager
from typing import IO, Iterable

from .rdf import Triple, group, jsonld_nodes, nt_heads, nt_lines, turtle_block, turtle_prefixes
from .vocab import GRAPH, PREFIXES

FORMATS = ("ttl", "nt", "nq", "jsonld")
_RUN_CHUNK = 8 << 20  # bytes read at a time when a run of copies is written
FILE_NAMES = {"ttl": "pfocr.ttl", "nt": "pfocr.nt", "nq": "pfocr.nq", "jsonld": "pfocr.jsonld"}
MEDIA_TYPES = {"ttl": "text/turtle", "nt": "application/n-triples", "nq": "application/n-quads",
               "jsonld": "application/ld+json"}

Payload = dict[str, object]  # format -> text (or, for JSON-LD, a list of node texts)


def serialize(triples: Iterable[Triple], formats: Iterable[str], graph: str = GRAPH) -> Payload:
    """Text of ``triples`` in each of ``formats``; safe to call in a worker process."""
    triples = list(triples)
    formats = set(formats)
    out: Payload = {}
    if formats & {"nt", "nq"}:
        heads = nt_heads(triples)
        if "nt" in formats:
            out["nt"] = nt_lines(triples, heads=heads)
        if "nq" in formats:
            out["nq"] = nt_lines(triples, graph, heads=heads)
    if formats & {"ttl", "jsonld"}:
        grouped = group(triples)
        if "ttl" in formats:
            out["ttl"] = turtle_block(triples, grouped)
        if "jsonld" in formats:
            out["jsonld"] = jsonld_nodes(triples, grouped)
    return out


def _umask_mode() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


@contextmanager
def exclusive(folder: str, what: str, error: type[Exception] = BlockingIOError):
    """Hold the lock file ``folder/.lock`` while a build writes there; a second build into the same place fails at
    once (raising ``error``) instead of mixing its files with the first's. The kernel drops the lock when its
    holder dies, however it dies, so a killed build never leaves the folder locked."""
    os.makedirs(folder, exist_ok=True)
    fd = os.open(os.path.join(folder, ".lock"), os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise error(f"another {what} is writing to {os.path.dirname(folder) or '.'}; wait for it to "
                        "finish") from None
        yield
    finally:
        os.close(fd)


def sweep(folder: str, patterns: Iterable[str]) -> None:
    """Remove what a killed build left in ``folder`` (its temporary files and folders), under its lock."""
    for name in os.listdir(folder):
        if any(fnmatch.fnmatchcase(name, p) for p in patterns):
            path = os.path.join(folder, name)
            if os.path.isdir(path) and not os.path.islink(path):
                shutil.rmtree(path, ignore_errors=True)
            else:
                _remove(path)


def atomic_write(path: str, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file in the same folder."""
    folder = os.path.dirname(path) or "."
    fd, tmp = tempfile.mkstemp(prefix=f".{os.path.basename(path)}.", suffix=".tmp", dir=folder)
    try:
        os.fchmod(fd, _umask_mode())  # mkstemp makes files private; dumps are for sharing
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        _remove(tmp)
        raise


def _remove(path: str) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass


class DumpSet:
    """The dump files being written. ``output`` is a folder, or ``-`` for one format on standard output.

    Text comes in two ways: serialised blocks (:meth:`write`), and byte ranges of files written earlier, by a
    worker or by the previous build (:meth:`copy`). Each file's size and SHA-256 are kept as it is written.
    """

    def __init__(self, output: str, formats: Iterable[str], graph: str = GRAPH, stdout: IO[bytes] | None = None):
        self.formats = list(formats)
        self.graph = graph
        self.to_stdout = output == "-"
        self.output = output
        self.paths: dict[str, str] = {}
        self._tmp: dict[str, str] = {}
        self._files: dict[str, IO[bytes]] = {}
        self.sizes = dict.fromkeys(self.formats, 0)  # what is written, pending copies included
        self._runs: dict[str, list] = {}  # format -> [source, start, end]: a copy not written yet
        self._hasher = _Hasher(self.formats) if output != "-" else None
        self._first_node = True
        if self.to_stdout:
            import sys

            if len(self.formats) != 1:
                raise ValueError("'-o -' writes one format: choose it with --format")
            self._files[self.formats[0]] = stdout or sys.stdout.buffer
        else:
            os.makedirs(output, exist_ok=True)
            for fmt in self.formats:
                final = os.path.join(output, FILE_NAMES[fmt])
                fd, tmp = tempfile.mkstemp(prefix=f".{FILE_NAMES[fmt]}.", suffix=".tmp", dir=output)
                os.fchmod(fd, _umask_mode())
                self.paths[fmt], self._tmp[fmt] = final, tmp
                self._files[fmt] = os.fdopen(fd, "wb", buffering=1 << 20)
        for fmt in self.formats:
            if fmt == "ttl":
                self.put(fmt, turtle_prefixes().encode("utf-8"), raw=True)
            elif fmt == "jsonld":
                context = json.dumps(PREFIXES, ensure_ascii=False, indent=1)
                self.put(fmt, ('{"@context": ' + context + ',\n"@graph": [\n').encode("utf-8"), raw=True)
        self._graph_start = self.sizes.get("jsonld")  # where the first node of a dump starts

    def __enter__(self) -> "DumpSet":
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.finish()
            self.commit()
        else:
            self.abort()

    def put(self, fmt: str, data: bytes, raw: bool = False) -> tuple[int, int]:
        """Write encoded bytes to one dump; returns (start, end) of what it wrote."""
        self._write_run(fmt)
        start = self.sizes[fmt]
        if fmt == "jsonld" and data and not raw:
            # Nodes travel as ",\n{node}"; the file's first node goes without the comma.
            data = data[2:] if data.startswith(b",\n") else data
            data = data if self._first_node else b",\n" + data
            self._first_node = False
        if data:
            self._files[fmt].write(data)
            if self._hasher is not None:
                self._hasher.update(fmt, data)
            self.sizes[fmt] += len(data)
        return start, self.sizes[fmt]

    def write(self, payload: Payload) -> dict[str, tuple[int, int]]:
        """Write one serialised block; returns format -> (start, end) of what it wrote."""
        return {fmt: self.put(fmt, encode(fmt, payload[fmt])) for fmt in self.formats}

    def copy(self, fmt: str, source: IO[bytes], start: int, end: int) -> tuple[int, int]:
        """Write bytes [start, end) of ``source`` (a dump or shard file in this layout); returns where they went.

        Copies that continue each other (the unchanged records of a rebuild, one after another in the previous
        dump) are written as one run, in large reads, when something else is written or :meth:`flush` is called:
        call it before closing a source."""
        begin = self.sizes[fmt]
        if fmt == "jsonld":
            start = self._comma(source, start)
        run = self._runs.get(fmt)
        if run is None or run[0] is not source or run[2] != start:
            self._write_run(fmt)
            self._runs[fmt] = [source, start, end]
        else:
            run[2] = end
        self.sizes[fmt] += end - start
        return begin, self.sizes[fmt]

    def _comma(self, source: IO[bytes], start: int) -> int:
        """Where a copied JSON-LD node starts. Nodes travel as ``,\\n{node}``, except the first of a dump, which
        has no comma: the first node written here loses its comma, and a previous dump's first node gets one."""
        if not self._first_node and start != self._graph_start:
            return start  # not where a dump's first node is: it has its comma
        comma = os.pread(source.fileno(), 2, start) == b",\n"
        if self._first_node:
            self._first_node = False
            return start + 2 if comma else start
        if not comma:
            self.put("jsonld", b",\n", raw=True)
        return start

    def flush(self) -> None:
        """Write the copies still pending."""
        for fmt in list(self._runs):
            self._write_run(fmt)

    def _write_run(self, fmt: str) -> None:
        run = self._runs.pop(fmt, None)
        if run is None:
            return
        source, start, end = run
        while start < end:
            data = os.pread(source.fileno(), min(end - start, _RUN_CHUNK), start)
            if not data:
                raise OSError(f"{getattr(source, 'name', 'a build file')}: shorter than the build index says")
            self._files[fmt].write(data)
            if self._hasher is not None:
                self._hasher.update(fmt, data)
            start += len(data)

    def digests(self) -> dict[str, tuple[int, str]]:
        """Format -> (size in bytes, SHA-256) of each file written (after :meth:`finish`)."""
        hexdigests = self._hasher.hexdigests()
        return {fmt: (self.sizes[fmt], hexdigests[fmt]) for fmt in self.formats}

    def finish(self) -> dict[str, str]:
        """Complete every file under its temporary name; returns format -> temporary path."""
        self.flush()
        for fmt, fh in self._files.items():
            if fmt == "jsonld":
                self.put(fmt, b"\n]}\n", raw=True)
            fh.flush()
            if not self.to_stdout:
                os.fsync(fh.fileno())
                fh.close()
        return dict(self._tmp)

    def commit(self) -> None:
        """Move every finished file to its final name."""
        for fmt, tmp in self._tmp.items():
            os.replace(tmp, self.paths[fmt])
        self._tmp.clear()

    def abort(self) -> None:
        if self._hasher is not None:
            self._hasher.hexdigests()
        for fh in self._files.values():
            if not self.to_stdout and not fh.closed:
                fh.close()
        for tmp in self._tmp.values():
            _remove(tmp)
        self._tmp.clear()


class _Hasher:
    """SHA-256 of each dump, computed by a thread beside the writing one (hashlib lets go of the GIL for large
    buffers, so hashing runs on the other core)."""

    _CHUNK = 1 << 20

    def __init__(self, formats: list[str]) -> None:
        import queue
        import threading

        self._hashes = {fmt: hashlib.sha256() for fmt in formats}
        self._pending = {fmt: bytearray() for fmt in formats}
        self._queue: queue.Queue = queue.Queue(maxsize=64)
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        self._done: dict[str, str] | None = None

    def _run(self) -> None:
        while (job := self._queue.get()) is not None:
            self._hashes[job[0]].update(job[1])

    def update(self, fmt: str, data: bytes) -> None:
        pending = self._pending[fmt]
        if not pending and len(data) >= self._CHUNK:
            self._queue.put((fmt, data))  # a large read: hashed as it is, not copied
            return
        pending += data
        if len(pending) >= self._CHUNK:
            self._queue.put((fmt, bytes(pending)))
            pending.clear()

    def hexdigests(self) -> dict[str, str]:
        if self._done is None:
            for fmt, pending in self._pending.items():
                if pending:
                    self._queue.put((fmt, bytes(pending)))
            self._queue.put(None)
            self._thread.join()
            self._done = {fmt: h.hexdigest() for fmt, h in self._hashes.items()}
        return self._done


def encode(fmt: str, part) -> bytes:
    """A serialised block as the bytes of its format (JSON-LD nodes each after a ``,\\n``)."""
    if fmt == "jsonld":
        return "".join(f",\n{node}" for node in part).encode("utf-8")
    return part.encode("utf-8")
