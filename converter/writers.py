"""Dump writers: one streaming writer per format, each written to a temporary file and renamed into place.

A crash leaves the previous dump untouched: nothing under its final name is ever half-written::

    >>> with DumpSet("output", ["nt", "ttl"]) as dumps:    # doctest: +SKIP
    ...     dumps.write(serialize(triples, dumps.formats))
"""

from __future__ import annotations

import json
import os
import tempfile
from typing import IO, Iterable

from .rdf import Triple, jsonld_nodes, nt_lines, turtle_block, turtle_prefixes
from .vocab import GRAPH, PREFIXES

FORMATS = ("ttl", "nt", "nq", "jsonld")
FILE_NAMES = {"ttl": "pfocr.ttl", "nt": "pfocr.nt", "nq": "pfocr.nq", "jsonld": "pfocr.jsonld"}
MEDIA_TYPES = {"ttl": "text/turtle", "nt": "application/n-triples", "nq": "application/n-quads",
               "jsonld": "application/ld+json"}

Payload = dict[str, object]  # format -> text (or, for JSON-LD, a list of node texts)


def serialize(triples: Iterable[Triple], formats: Iterable[str], graph: str = GRAPH) -> Payload:
    """Text of ``triples`` in each of ``formats``; safe to call in a worker process."""
    triples = list(triples)
    out: Payload = {}
    for fmt in formats:
        if fmt == "nt":
            out[fmt] = nt_lines(triples)
        elif fmt == "nq":
            out[fmt] = nt_lines(triples, graph)
        elif fmt == "ttl":
            out[fmt] = turtle_block(triples)
        elif fmt == "jsonld":
            out[fmt] = jsonld_nodes(triples)
    return out


def _umask_mode() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


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
    """The dump files being written. ``output`` is a folder, or ``-`` for one format on standard output."""

    def __init__(self, output: str, formats: Iterable[str], graph: str = GRAPH, stdout: IO[str] | None = None):
        self.formats = list(formats)
        self.graph = graph
        self.to_stdout = output == "-"
        self.output = output
        self.paths: dict[str, str] = {}
        self._tmp: dict[str, str] = {}
        self._files: dict[str, IO[str]] = {}
        self._first_node = True
        if self.to_stdout:
            import sys

            if len(self.formats) != 1:
                raise ValueError("'-o -' writes one format: choose it with --format")
            self._files[self.formats[0]] = stdout or sys.stdout
        else:
            os.makedirs(output, exist_ok=True)
            for fmt in self.formats:
                final = os.path.join(output, FILE_NAMES[fmt])
                fd, tmp = tempfile.mkstemp(prefix=f".{FILE_NAMES[fmt]}.", suffix=".tmp", dir=output)
                os.fchmod(fd, _umask_mode())
                self.paths[fmt], self._tmp[fmt] = final, tmp
                self._files[fmt] = os.fdopen(fd, "w", encoding="utf-8", newline="\n", buffering=1 << 20)
        for fmt, fh in self._files.items():
            if fmt == "ttl":
                fh.write(turtle_prefixes())
            elif fmt == "jsonld":
                context = json.dumps(PREFIXES, ensure_ascii=False, indent=1)
                fh.write('{"@context": ' + context + ',\n"@graph": [\n')

    def __enter__(self) -> "DumpSet":
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.finish()
            self.commit()
        else:
            self.abort()

    def write(self, payload: Payload) -> None:
        for fmt, fh in self._files.items():
            part = payload[fmt]
            if fmt == "jsonld":
                for node in part:  # type: ignore[union-attr]
                    fh.write(node if self._first_node else ",\n" + node)
                    self._first_node = False
            else:
                fh.write(part)  # type: ignore[arg-type]

    def finish(self) -> dict[str, str]:
        """Complete every file under its temporary name; returns format -> temporary path."""
        for fmt, fh in self._files.items():
            if fmt == "jsonld":
                fh.write("\n]}\n")
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
        for fh in self._files.values():
            if not self.to_stdout and not fh.closed:
                fh.close()
        for tmp in self._tmp.values():
            _remove(tmp)
        self._tmp.clear()
