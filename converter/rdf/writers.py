"""Dump writers: one streaming writer per format, each written to a temporary file and renamed into place.

A crash leaves the previous dump untouched: nothing under its final name is ever half-written::

    >>> with DumpSet("output", ["nt", "ttl"]) as dumps:    # doctest: +SKIP
    ...     dumps.write(serialize(triples, dumps.formats))
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import tempfile
from collections.abc import Iterable
from contextlib import suppress
from importlib import resources
from types import TracebackType
from typing import IO, Any

from ..files import _remove, named, shared_mode
from .formats import CONTEXT_FILE, FILE_NAMES
from .terms import Link, Triple, group, json_texts, nt_heads, nt_lines, turtle_block, turtle_prefixes
from .vocab import CONTEXT, GRAPH

_RUN_CHUNK = 8 << 20  # bytes read at a time when a run of copies is written, and the length that sends a run off

# Format -> text: a str (N-Triples, N-Quads, Turtle), a list of node texts (JSON-LD), or an open node and its links
# (JSON Lines, a JsonlPart); which one is told by the format, a string known only at run time.
Payload = dict[str, Any]
JsonlPart = tuple[str, list[Link]]
# Bytes to write, or (fd, start, end, name): bytes [start, end) of an open file to copy
_Job = bytes | tuple[int, int, int, str]


def serialize(triples: Iterable[Triple], formats: Iterable[str], graph: str = GRAPH,
              linked: set[str] | None = None, head: str = "{") -> Payload:
    """Text of ``triples`` in each of ``formats``; safe to call in a worker process.

    For ``jsonl`` the block's first node is made without its closing brace (after ``head``), leaving out what
    points to ``linked`` nodes, written by the parent, which knows them as the dump has them (:mod:`.jsonlines`)."""
    triples = list(triples)
    formats = set(formats)
    out: Payload = {}
    if formats & {"nt", "nq"}:
        heads = nt_heads(triples)
        if "nt" in formats:
            out["nt"] = nt_lines(triples, heads=heads)
        if "nq" in formats:
            out["nq"] = nt_lines(triples, graph, heads=heads)
    if formats & {"ttl", "jsonld", "jsonl"}:
        grouped = group(triples)
        if "ttl" in formats:
            out["ttl"] = turtle_block(triples, grouped)
        if formats & {"jsonld", "jsonl"}:
            nodes, opened = json_texts(grouped, linked, head if "jsonl" in formats else None)
            if "jsonld" in formats:
                out["jsonld"] = nodes
            if "jsonl" in formats:
                out["jsonl"] = opened
    return out


def context_text() -> str:
    """The text of ``data/context.jsonld``, as shipped."""
    return resources.files("converter.data").joinpath(CONTEXT_FILE).read_text(encoding="utf-8")


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
        self.sizes = dict.fromkeys(self.formats, 0)  # what is written, pending copies included
        self._runs: dict[str, list[Any]] = {}  # format -> [source, start, end]: a copy not written yet
        self._writers: dict[str, _Writer] = {}
        self._first_node = True
        if self.to_stdout:
            import sys

            if len(self.formats) != 1:
                raise ValueError("'-o -' writes one format: choose it with --format")
            self._writers[self.formats[0]] = _Writer(stdout or sys.stdout.buffer, "standard output", on_disk=False)
        else:
            os.makedirs(output, exist_ok=True)
            for fmt in self.formats:
                final = os.path.join(output, FILE_NAMES[fmt])
                fd, tmp = tempfile.mkstemp(prefix=f".{FILE_NAMES[fmt]}.", suffix=".tmp", dir=output)
                os.fchmod(fd, shared_mode())
                self.paths[fmt], self._tmp[fmt] = final, tmp
                self._writers[fmt] = _Writer(os.fdopen(fd, "wb", buffering=1 << 20), final, on_disk=True)
        for fmt in self.formats:
            if fmt == "ttl":
                self.put(fmt, turtle_prefixes().encode("utf-8"), raw=True)
            elif fmt == "jsonld":
                context = json.dumps(CONTEXT, ensure_ascii=False, indent=1)
                self.put(fmt, ('{"@context": ' + context + ',\n"@graph": [\n').encode("utf-8"), raw=True)
        self._graph_start = self.sizes.get("jsonld")  # where the first node of a dump starts

    def __enter__(self) -> DumpSet:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
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
            self._writers[fmt].add(data)
            self.sizes[fmt] += len(data)
        return start, self.sizes[fmt]

    def write(self, payload: Payload) -> dict[str, tuple[int, int]]:
        """Write one serialised block in the formats it has; returns format -> (start, end) of what it wrote."""
        return {fmt: self.put(fmt, encode(fmt, payload[fmt])) for fmt in self.formats if fmt in payload}

    def copy(self, fmt: str, source: IO[bytes], start: int, end: int) -> tuple[int, int]:
        """Write bytes [start, end) of ``source`` (a dump or shard file in this layout); returns where they went.

        Copies that continue each other (the unchanged records of a rebuild, one after another in the previous
        dump) are written as one run, in large reads, when something else is written, when the run reaches
        ``_RUN_CHUNK`` bytes or when :meth:`flush` is called: call it before closing a source."""
        begin = self.sizes[fmt]
        if fmt == "jsonld":
            start = self._comma(source, start)
        run = self._runs.get(fmt)
        if run is None or run[0] is not source or run[2] != start:
            self._write_run(fmt)
            self._runs[fmt] = run = [source, start, end]
        else:
            run[2] = end
        if run[2] - run[1] >= _RUN_CHUNK:
            self._write_run(fmt)  # a rebuild's long runs are written while the records after them are looked up
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
        """Write everything still pending, the copies included, and wait until it is written: call it before
        closing a file copies come from."""
        for fmt in list(self._runs):
            self._write_run(fmt)
        for writer in self._writers.values():
            writer.hand_over()  # all at once, so that the files are written side by side while this waits
        for writer in self._writers.values():
            writer.wait()

    def _write_run(self, fmt: str) -> None:
        run = self._runs.pop(fmt, None)
        if run is not None:
            source, start, end = run
            self._writers[fmt].add((source.fileno(), start, end, getattr(source, "name", "a build file")))

    def digests(self) -> dict[str, tuple[int, str]]:
        """Format -> (size in bytes, SHA-256) of each file written (after :meth:`finish`)."""
        return {fmt: (self.sizes[fmt], self._writers[fmt].hexdigest()) for fmt in self.formats}

    def finish(self) -> dict[str, str]:
        """Complete every file under its temporary name; returns format -> temporary path."""
        if "jsonld" in self._writers:
            self.put("jsonld", b"\n]}\n", raw=True)
        self.flush()
        for writer in self._writers.values():
            writer.finish(synced=not self.to_stdout)
        return dict(self._tmp)

    def commit(self) -> None:
        """Move every finished file to its final name."""
        for fmt, tmp in self._tmp.items():
            os.replace(tmp, self.paths[fmt])
        self._tmp.clear()

    def abort(self) -> None:
        for writer in self._writers.values():
            writer.abandon(close=not self.to_stdout)
        for tmp in self._tmp.values():
            _remove(tmp)
        self._tmp.clear()


# Each dump goes to the disk every so often as it grows, not all at the end: the kernel would otherwise hold
# gigabytes of it in memory until the final fsync, which then took a second or more with every core idle (20,000
# records, all four dumps); written as they go, the last fsync has at most this much left to write.
_SYNC_EVERY = 256 << 20


class _Writer:
    """Writes one dump file, and hashes what it writes, in a thread of its own. Copies are read there too: the
    dumps of a rebuild, which are mostly long runs copied from the last ones, are then copied all at once, each
    thread waiting on the disk or hashing (both let go of the GIL) while the others and the main thread go on.

    Work is handed over in batches (one queue operation per batch, not per piece); :meth:`wait` hands over the
    last one and returns once all is written, raising what went wrong in the thread. :meth:`finish` or
    :meth:`abandon` ends the thread."""

    _BATCH = 64  # pieces, or
    _BATCH_BYTES = 4 << 20  # bytes written or copied, whichever comes first

    def __init__(self, file: IO[bytes], name: str, on_disk: bool) -> None:
        """``on_disk``: a dump file, hashed for ``void.ttl`` and synced as it grows (not standard output)."""
        import queue
        import threading

        self.file, self.name = file, name
        self.hash = hashlib.sha256() if on_disk else None
        self._unsynced = 0
        self._batch: list[_Job] = []
        self._batch_bytes = 0
        self._error: BaseException | None = None
        self._abandoned = False
        self._queue: queue.Queue[list[_Job] | None] = queue.Queue(maxsize=8)
        self._runner = threading.Thread(target=self._run, daemon=True)  # (compiled, "_thread" is C's "__thread")
        self._runner.start()

    def hexdigest(self) -> str:
        """The SHA-256 of what was written (a dump file's: standard output is not hashed)."""
        assert self.hash is not None, "standard output is not hashed"
        return self.hash.hexdigest()

    def add(self, job: _Job) -> None:
        """Bytes to write, or ``(fd, start, end, name)``: bytes [start, end) of an open file to copy."""
        self._batch.append(job)
        self._batch_bytes += len(job) if job.__class__ is bytes else job[2] - job[1]
        if len(self._batch) >= self._BATCH or self._batch_bytes >= self._BATCH_BYTES:
            self.hand_over()

    def hand_over(self) -> None:
        """Pass what was added to the thread (a full queue waits for it), raising what went wrong there."""
        if self._error is not None:
            raise self._error
        if self._batch:
            self._queue.put(self._batch)
            self._batch, self._batch_bytes = [], 0

    def wait(self) -> None:
        self.hand_over()
        self._queue.join()
        if self._error is not None:
            raise self._error

    def finish(self, synced: bool) -> None:
        """After :meth:`wait`: end the thread and flush the file; ``synced``: to the disk, and close it."""
        self._stop()
        try:
            self.file.flush()
            if synced:
                os.fsync(self.file.fileno())
                self.file.close()
        except OSError as err:
            raise self._named(err) from None

    def abandon(self, close: bool) -> None:
        """End the thread once the piece it is on is written, dropping the rest; ``close`` the file. Raises nothing:
        it runs when something already went wrong."""
        self._abandoned = True
        self._stop()
        if close and not self.file.closed:
            with suppress(OSError):  # what it still held cannot be written either (a full disk): the file goes anyway
                self.file.close()

    def _stop(self) -> None:
        if self._runner.is_alive():
            self._queue.put(None)
            self._runner.join()

    def _run(self) -> None:
        while (batch := self._queue.get()) is not None:
            try:
                if self._error is None and not self._abandoned:
                    for job in batch:
                        if isinstance(job, tuple):
                            self._copy(*job)
                        else:
                            self._write(job)
            except BaseException as err:  # kept for the main thread; later batches are dropped
                self._error = self._named(err)
            finally:
                self._queue.task_done()
        self._queue.task_done()

    def _named(self, err: BaseException) -> BaseException:
        return named(err, self.name) if isinstance(err, OSError) else err  # which dump a full disk stopped

    def _write(self, data: bytes) -> None:
        self.file.write(data)
        if self.hash is not None:
            self.hash.update(data)
            self._unsynced += len(data)
            if self._unsynced >= _SYNC_EVERY:
                self.file.flush()
                os.fdatasync(self.file.fileno())
                self._unsynced = 0

    def _copy(self, fd: int, start: int, end: int, name: str) -> None:
        while start < end:
            data = os.pread(fd, min(end - start, _RUN_CHUNK), start)
            if not data:
                raise OSError(errno.EIO, "shorter than the build index says", name)
            self._write(data)
            start += len(data)


def encode(fmt: str, part: Any) -> bytes:
    """A serialised block as the bytes of its format (JSON-LD nodes each after a ``,\\n``; of JSON Lines, the open
    node: its links travel beside it). ``part`` is the format's value in a :data:`Payload`."""
    if fmt == "jsonld":
        return "".join(f",\n{node}" for node in part).encode("utf-8")
    text: str = part[0] if fmt == "jsonl" else part
    return text.encode("utf-8")
