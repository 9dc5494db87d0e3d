"""The embedded store: an on-disk pyoxigraph (Oxigraph) database built from dumps or straight from records.

    >>> from converter.store.load import load, open_store
    >>> load(["output/pfocr.nt"], "output/store")          # doctest: +SKIP
    LoadReport(triples=1650, ...)
    >>> store = open_store("output/store")                 # doctest: +SKIP

A rebuild never touches the store in use: the new database is built in a fresh folder under ``.stores/`` beside
the store path, and the store path (a symbolic link) is switched to it in one atomic rename. A failed load leaves
the previous store as it was.

When the store is built, what the canned queries would otherwise compute over the whole corpus is precomputed into
named graphs of its own (:mod:`converter.store.derived`): counts, lookup keys, each figure's searchable text.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import pyoxigraph as ox

from ..files import exclusive, sweep
from ..rdf.formats import OXIGRAPH, of_file
from ..rdf.vocab import DATASET, RDF_TYPE, SITE
from .derived import DERIVED_GRAPHS, derive, derived_quads, what_derived_reads
from .versions import VERSIONS, remove_unused

if TYPE_CHECKING:
    from ..pipeline.convert import Issue

VOID_GRAPH = SITE + "graph/void"  # the dataset description (void.ttl beside a loaded dump), for /dataset
_OWN_GRAPHS = {*DERIVED_GRAPHS, VOID_GRAPH}
DEFAULT_STORE = os.path.join("output", "store")

class StoreError(Exception):
    """The store cannot be built or opened."""


def dump_format(path: str) -> ox.RdfFormat:
    """The Oxigraph format of a dump file, by its extension."""
    fmt = of_file(path)
    if fmt is None:
        raise StoreError(f"{path}: not a dump (expected .nt, .nq, .ttl or .jsonld)")
    return OXIGRAPH[fmt]


class NothingLoaded(StoreError):
    """The inputs hold no triples (every record was rejected, say); the previous store is left as it was.
    ``report`` says what was read and rejected."""

    def __init__(self, message: str, report: LoadReport) -> None:
        super().__init__(message)
        self.report = report


@dataclass
class LoadReport:
    """What a load did. ``rejected`` lists the records that could not be converted (when records were loaded),
    each naming its file, field and reason."""

    store: str
    triples: int = 0
    statistics: int = 0
    description: int = 0
    inputs: list[str] = field(default_factory=list)
    seconds: float = 0.0
    rejected: list[Issue] = field(default_factory=list)

    def summary(self) -> str:
        return (f"store {self.store}: {self.triples} triples from {len(self.inputs)} input(s), "
                f"{self.statistics} precomputed triples, {self.description} dataset-description triples; "
                f"{self.seconds:.1f} s")


def data_in_named_graphs(store: ox.Store) -> bool:
    """True when the data itself lives in named graphs (loaded from N-Quads, say): queries then take the union of
    all graphs as their default graph. Otherwise the default graph holds the data and queries stay on it, which
    Oxigraph answers much faster; the statistics and VoID graphs are read with ``GRAPH``."""
    return any(g.value not in _OWN_GRAPHS for g in store.named_graphs() if isinstance(g, ox.NamedNode))


def open_store(path: str = DEFAULT_STORE, *, writable: bool = False) -> ox.Store:
    """Open a store built by :func:`load` (read-only unless ``writable``)."""
    if not os.path.isdir(path):
        raise StoreError(f"{path}: no store here; build one with 'pfocr-rdf load'")
    try:
        return ox.Store(path) if writable else ox.Store.read_only(path)
    except OSError as err:
        raise StoreError(f"{path}: cannot open the store: {err}") from None


def _bulk_load(store: ox.Store, dumps: list[str]) -> None:
    """Bulk-load each dump; a parse error names the dump."""
    for dump in dumps:
        try:
            store.bulk_load(path=dump, format=dump_format(dump))
        except (SyntaxError, ValueError) as err:
            raise StoreError(f"{dump}: {err}") from None


@contextmanager
def derived_from(dumps: list[str], work: str) -> Iterator[Iterator[ox.Quad]]:
    """The precomputed data of the graph in ``dumps``, for a store other than this one (``publish``, bulk-load
    chunks): the dumps are loaded into a throw-away store in ``work``, on disk, so memory stays flat."""
    folder = tempfile.mkdtemp(prefix="derived-", dir=work)
    try:
        try:
            store = ox.Store(os.path.join(folder, "store"))
            _bulk_load(store, _triples_read(dumps, folder))
        except StoreError:  # said again with the dump's own name and line
            del store
            store = ox.Store(os.path.join(folder, "again"))
            _bulk_load(store, dumps)
        store.optimize()
        derive(store)
        yield derived_quads(store)
        del store
    finally:
        shutil.rmtree(folder, ignore_errors=True)


_LINES_READ = 8 << 20  # bytes of a dump cut down at once


def _triples_read(dumps: list[str], folder: str) -> list[str]:
    """The dumps cut down to what the derived queries match (:func:`what_derived_reads`), as files in ``folder``:
    the N-Triples and N-Quads lines they match. Other formats, and every dump when a query may match any
    predicate, are left whole."""
    reads = what_derived_reads()
    if reads is None:
        return dumps
    keep = {f"<{p}>".encode() for p in reads.predicates}
    is_a = f"<{RDF_TYPE}>".encode()
    classes = None if reads.classes is None else {f"<{c}>".encode() for c in reads.classes}
    out = []
    for n, dump in enumerate(dumps):
        if dump_format(dump) not in (ox.RdfFormat.N_TRIPLES, ox.RdfFormat.N_QUADS):
            out.append(dump)
            continue
        target = os.path.join(folder, f"read-{n}{os.path.splitext(dump)[1]}")
        with open(dump, "rb") as source, open(target, "wb") as sink:
            rest = b""
            while True:
                chunk = source.read(_LINES_READ)
                lines = (rest + chunk).split(b"\n")
                rest = lines.pop() if chunk else b""
                # whitespace ends a subject, a predicate and an IRI object; lines of fewer parts (blank, comments)
                # and lines with escapes (an IRI may be written with them) go on as they are, for the store to read
                sink.write(b"".join(
                    line + b"\n" for line in lines
                    if len(parts := line.split(None, 2)) < 3 or (parts[1] in keep and (
                        parts[1] != is_a or classes is None or parts[2].split(None, 1)[0] in classes))
                    or b"\\" in line))
                if not chunk:
                    break
        out.append(target)
    return out


def dump_files(inputs: Iterable[str], work: str, rejected: list[Issue] | None = None) -> list[str]:
    """Dump files to load: dumps as given; records (folders, .md, -) converted to N-Triples in ``work`` first,
    the records that could not be converted added to ``rejected``."""
    dumps, records = [], []
    for path in inputs:
        if of_file(path) and os.path.isfile(path):
            dumps.append(path)
        elif path == "-" or os.path.exists(path):
            records.append(path)
        else:
            raise StoreError(f"{path}: no such file or folder")
    if records:
        from ..pipeline.convert import convert

        converted = convert(records, output=os.path.join(work, "converted"), formats=["nt"])
        if rejected is not None:
            rejected.extend(converted.rejected)
        dumps.append(os.path.join(work, "converted", "pfocr.nt"))
    return dumps


def _load_descriptions(store: ox.Store, dumps: list[str]) -> int:
    """Load the ``void.ttl`` written beside each dump into the VoID graph; its relative dump names resolve
    against the dataset IRI, where the dumps are published. The number of triples added."""
    added = 0  # counted as read: len(store) scans an index, seconds on a large store
    graph = ox.NamedNode(VOID_GRAPH)
    for void in dict.fromkeys(os.path.join(os.path.dirname(os.path.abspath(d)), "void.ttl") for d in dumps):
        if os.path.isfile(void):
            try:
                quads = {ox.Quad(t.subject, t.predicate, t.object, graph) for t in
                         ox.parse(path=void, format=ox.RdfFormat.TURTLE, base_iri=DATASET)}
            except (SyntaxError, ValueError) as err:
                raise StoreError(f"{void}: {err}") from None
            store.bulk_extend(quads)
            added += len(quads)
    return added


def load(inputs: Iterable[str], store_path: str = DEFAULT_STORE) -> LoadReport:
    """Build the store at ``store_path`` from dumps (.nt, .nq, .ttl, .jsonld) or PFOCR records, atomically."""
    started = time.perf_counter()
    inputs = list(inputs)
    if not inputs:
        raise StoreError("nothing to load: name dump files or PFOCR records")
    store_path = os.path.abspath(store_path)
    if os.path.exists(store_path) and not os.path.islink(store_path):
        raise StoreError(f"{store_path} exists and is not a store built by 'pfocr-rdf load'; move it away")
    parent = os.path.dirname(store_path)
    versions = os.path.join(parent, VERSIONS)
    os.makedirs(versions, exist_ok=True)
    with exclusive(versions, "load", StoreError):
        sweep(parent, [".store-link-*"])  # a load killed just before its switch left its link
        report = LoadReport(store_path, inputs=inputs)
        fresh = tempfile.mkdtemp(prefix=os.path.basename(store_path) + "-", dir=versions)
        try:
            with tempfile.TemporaryDirectory(dir=versions) as work:
                dumps = dump_files(inputs, work, report.rejected)
                store = ox.Store(fresh)
                _bulk_load(store, dumps)
                report.description = _load_descriptions(store, dumps)  # before the converted records' folder goes
            store.optimize()  # compacts what the bulk load wrote: the queries below, and users', run much faster
            report.triples = len(store) - report.description  # a scan, faster on the compacted store
            if not report.triples:
                raise NothingLoaded(f"nothing loaded: {', '.join(inputs)} hold no triples; the store is left as "
                                    "it was", report)
            report.statistics = sum(derive(store).values())
            store.flush()
            del store
            link = os.path.join(parent, f".store-link-{os.getpid()}-{time.time_ns()}")
            os.symlink(os.path.relpath(fresh, parent), link)
            os.replace(link, store_path)  # the switch: atomic on POSIX
        except BaseException:
            shutil.rmtree(fresh, ignore_errors=True)
            raise
        # older versions go unless a server (or a query) holds a lease on one: it is removed by a later load once
        # nothing reads it. Other stores in this folder share .stores and keep theirs; work folders of killed
        # loads go.
        remove_unused(versions, os.path.basename(store_path), keep=fresh)
        for old in os.listdir(versions):
            path = os.path.join(versions, old)
            if old.startswith("tmp") and os.path.isdir(path):
                shutil.rmtree(path, ignore_errors=True)
    report.seconds = time.perf_counter() - started
    return report
