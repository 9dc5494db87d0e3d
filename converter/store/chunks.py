"""Bulk-load chunks: the N-Triples dump as sorted, gzip-compressed N-Quads files of bounded size.

    >>> from converter.store.chunks import write_chunks
    >>> write_chunks("output/pfocr.nt", "output/chunks", 1_000_000)    # doctest: +SKIP
    ['pfocr-00001.nq.gz', ..., 'pfocr-derived.nq.gz']

Parallel bulk loaders (Virtuoso's ``rdf_loader_run``, ``tdb2.tdbloader``, QLever's index builder, ``oxigraph load``)
take many compressed files at once. Every line names its graph, so a loader needs no graph argument: the data goes
to ``https://pfocr.wikipathways.org/graph`` and the precomputed data the canned queries read to its own graphs
(``pfocr-derived.nq.gz``; :mod:`converter.store.derived`). The lines are sorted across all chunks
(an external merge sort of sorted runs, so memory stays bounded), and the gzip headers carry no time stamp: the
same dump gives the same bytes. The folder is replaced whole, so a crash leaves the previous chunks.
"""

from __future__ import annotations

import gzip
import heapq
import os
import shutil
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import ExitStack

from ..files import shared_mode
from ..rdf.vocab import GRAPH
from .load import derived_from


def _lines(path: str) -> Iterator[str]:
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            if line.strip() and not line.startswith("#"):
                yield line if line.endswith("\n") else line + "\n"

def _runs(lines: Iterable[str], size: int, work: str) -> list[str]:
    """Sorted runs of at most ``size`` lines, each in its own file."""
    runs: list[str] = []
    batch: list[str] = []
    for line in lines:
        batch.append(line)
        if len(batch) == size:
            runs.append(_write_run(batch, work, len(runs)))
            batch = []
    if batch or not runs:
        runs.append(_write_run(batch, work, len(runs)))
    return runs

def _write_run(batch: list[str], work: str, index: int) -> str:
    path = os.path.join(work, f"run-{index:05d}.nt")
    batch.sort()
    with open(path, "w", encoding="utf-8") as fh:
        fh.writelines(batch)
    return path

class _Gzip:
    """A gzip file with no name and no time in its header: the same lines give the same bytes."""

    def __init__(self, path: str) -> None:
        self.raw = open(path, "wb")
        self.gz = gzip.GzipFile(filename="", mode="wb", fileobj=self.raw, mtime=0, compresslevel=6)

    def write(self, data: bytes) -> None:
        self.gz.write(data)

    def close(self) -> None:
        self.gz.close()
        self.raw.close()

def _quad(line: str, graph: str) -> bytes:
    return (line.rstrip()[:-1].rstrip() + f" <{graph}> .\n").encode("utf-8")

def write_chunks(dump: str, folder: str, chunk_size: int, graph: str = GRAPH) -> list[str]:
    """Write ``dump`` (N-Triples) as chunks of at most ``chunk_size`` triples into ``folder``; returns their names."""
    if chunk_size < 1:
        raise ValueError("chunk_size must be at least 1")
    folder = os.path.abspath(folder)
    parent = os.path.dirname(folder)
    os.makedirs(parent, exist_ok=True)
    fresh = tempfile.mkdtemp(prefix=".chunks-", dir=parent)
    os.chmod(fresh, shared_mode(folder=True))  # a loader may run as another user
    try:
        names: list[str] = []
        with tempfile.TemporaryDirectory(dir=parent, prefix=".runs-") as work:
            runs = _runs(_lines(dump), chunk_size, work)
            with ExitStack() as stack:
                merged = heapq.merge(*(stack.enter_context(open(r, encoding="utf-8")) for r in runs))
                out, count = None, 0
                previous = None
                for line in merged:
                    if line == previous:  # a triple written twice is one triple
                        continue
                    previous = line
                    if out is None or count == chunk_size:
                        if out is not None:
                            out.close()
                        names.append(f"pfocr-{len(names) + 1:05d}.nq.gz")
                        out, count = _Gzip(os.path.join(fresh, names[-1])), 0
                    out.write(_quad(line, graph))
                    count += 1
                if out is not None:
                    out.close()
        with derived_from([dump], fresh) as quads:
            lines = sorted(f"{quad} .\n" for quad in quads)
        if lines:
            names.append("pfocr-derived.nq.gz")
            derived = _Gzip(os.path.join(fresh, names[-1]))
            for line in lines:
                derived.write(line.encode("utf-8"))
            derived.close()
        _swap(fresh, folder)
    except BaseException:
        shutil.rmtree(fresh, ignore_errors=True)
        raise
    return names

def _swap(fresh: str, folder: str) -> None:
    """Put ``fresh`` in place of ``folder``: the old folder is moved aside first, then removed."""
    if os.path.exists(folder):
        old = tempfile.mkdtemp(prefix=".chunks-old-", dir=os.path.dirname(folder))
        os.replace(folder, os.path.join(old, "chunks"))
        os.replace(fresh, folder)
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.replace(fresh, folder)
