"""The ``stream`` engine: N-Triples and N-Quads dumps read in blocks, one part of the file per core, with no store.

Every shape is local to a node, its values and their types, and pfocr-rdf writes each IRI's triples together (an IRI
with its ``#fragment`` nodes: a figure with its mentions). So each part checks its blocks alone with the streaming
test (:mod:`converter.validate.evaluate`); the parts then settle the ``sh:class`` tests on values another part
holds (a mention's gene is written once, at the end of the dump) and locate every result by the figure that links
to it. A dump in any other layout, or one that declares subclasses, raises :class:`NotStreamable`, and
:func:`converter.validate.validate` reads it with the ``sparql`` engine instead.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import suppress
from itertools import pairwise
from typing import TYPE_CHECKING, Any

import pyoxigraph as ox

from ..rdf.formats import OXIGRAPH, of_file
from ..rdf.terms import Term, Triple, read_line
from ..rdf.vocab import RDF_TYPE
from .evaluate import Evaluator, Nodes, Pending, decide
from .report import Result, ValidationError, ValidationReport, figid_of
from .shape import Shape
from .terms import SUBCLASS, from_ox

if TYPE_CHECKING:
    from multiprocessing.connection import Connection

STREAMED = ("nt", "nq")  # the formats this engine reads
_IMAGE_OBJECT = "https://schema.org/ImageObject"
_CHUNK = 1 << 23
_PART_BYTES = 1 << 24  # smaller dumps are read in one process
_BATCH = 4000  # triples per evaluator call: whole blocks, so every subject's triples are checked together


class NotStreamable(Exception):
    """The dump's layout does not let blocks be checked alone; the ``sparql`` engine must read it."""


def validate_dumps(paths: list[str], shapes: list[Shape], jobs: int) -> ValidationReport:
    """Validates N-Triples/N-Quads dumps whose nodes sit together by root, as pfocr-rdf writes them, in up to
    ``jobs`` parts checked in parallel processes."""
    evaluator = Evaluator(shapes)
    ranges = [(path, a, b) for path in paths
              for a, b in _split(path, max(1, min(jobs, os.path.getsize(path) // _PART_BYTES)))]
    parts = [_Part(evaluator, *r) for r in ranges]
    workers: list[_Local] | list[_Worker] = (
        [_Local(p) for p in parts] if len(parts) == 1 or jobs <= 1 else [_Worker(p) for p in parts])
    try:
        return _settle(workers)
    finally:
        for worker in workers:
            worker.close()


def _root(term: str) -> str:
    """Nodes with one root (an IRI up to its fragment; a blank node alone) must sit together in a dump."""
    return term.partition("#")[0]


def _lines(path: str, start: int, end: int) -> Iterator[str]:
    """The lines in bytes [start, end) of a file that has line breaks at both ends of the range."""
    with open(path, "rb") as fh:
        fh.seek(start)
        left, carry = end - start, b""
        while left > 0:
            chunk = fh.read(min(_CHUNK, left))
            if not chunk:
                break
            left -= len(chunk)
            chunk = carry + chunk
            cut = chunk.rfind(b"\n") + 1 if left > 0 else len(chunk)
            carry = chunk[cut:]
            try:
                text = chunk[:cut].decode("utf-8")
            except UnicodeDecodeError as err:
                raise ValidationError(f"{path}: invalid UTF-8 near byte {start + err.start}") from None
            start += cut
            yield from text.split("\n")


def _split(path: str, parts: int) -> list[tuple[int, int]]:
    """Byte ranges of about equal size, each starting at a line whose root differs from the line before."""
    size = os.path.getsize(path)
    cuts = [0]
    with open(path, "rb") as fh:
        for i in range(1, parts):
            fh.seek(max(size * i // parts, cuts[-1]))
            fh.readline()
            before = None
            while True:
                at, line = fh.tell(), fh.readline()
                if not line:
                    at = size
                    break
                root = _root(line.split(b" ", 1)[0].decode("utf-8", "replace").strip("<>"))
                if before is not None and root != before:
                    break
                before = root
            cuts.append(at)
    cuts.append(size)
    return [(a, b) for a, b in pairwise(cuts) if b > a]


class _Part:
    """One byte range of one dump: its own results, and the class tests it needs other parts' types for."""

    def __init__(self, evaluator: Evaluator, path: str, start: int, end: int) -> None:
        self.evaluator, self.path, self.start, self.end = evaluator, path, start, end
        self.types: dict[str, frozenset[str]] = {}
        self.pending: Pending = {}
        self.refs: dict[str, str] = {}  # node -> the first node of another root linking to it

    def scan(self) -> tuple[list[Result], set[tuple[str, str]], set[str], int]:
        """Checks every block; returns the results, the (value, class) tests left open, the roots and the figure
        count. Raises NotStreamable when a root comes back after another or a link needs another root's node."""
        pending, refs = self.pending, self.refs
        inverse = self.evaluator.inverse
        fmt = OXIGRAPH[of_file(self.path) or "nt"]
        results: list[Result] = []
        roots: set[str] = set()
        nodes: Nodes = {}
        props: dict[str, dict[Term, None]] = {}
        root = last = ""  # no node has an empty name
        size = 0
        for line in _lines(self.path, self.start, self.end):
            triple = read_line(line)
            if triple is None:
                triple = self._parse(line, fmt)
                if triple is None:
                    continue
            s, p, o = triple
            if s != last:
                last = s
                here = _root(s)
                if here != root:
                    if here in roots:
                        raise NotStreamable(f"the triples of <{here}> are not together")
                    if size >= _BATCH:
                        results.extend(self._check(nodes))
                        nodes, size = {}, 0
                    roots.add(here)
                    root = here
                found = nodes.get(s)
                if found is None:
                    found = nodes[s] = {}
                props = found
            objects = props.get(p)
            if objects is None:
                props[p] = {o: None}
            else:
                objects[o] = None
            size += 1
            if isinstance(o, str) and p != RDF_TYPE:
                if p == SUBCLASS:
                    raise NotStreamable("the data declares subclasses")
                if p in inverse and _root(o) != root:
                    raise NotStreamable(f"<{p}> links <{s}> to a node with another root")
                if o not in refs and not o.startswith(root):
                    refs[o] = s
        results.extend(self._check(nodes))
        results.extend(self.decide(self.types))
        figures = sum(_IMAGE_OBJECT in t for t in self.types.values())
        return results, {(v, c) for v, c in pending if isinstance(v, str) and v not in self.types}, roots, figures

    def _check(self, nodes: Nodes) -> list[Result]:
        shared: dict[frozenset[str], frozenset[str]] = {}
        for s, props in nodes.items():
            if RDF_TYPE in props:
                t = frozenset(o for o in props[RDF_TYPE] if isinstance(o, str))
                self.types[s] = shared.setdefault(t, t)
        return self.evaluator.check_nodes(nodes, pending=self.pending)

    def _parse(self, line: str, fmt: ox.RdfFormat) -> Triple | None:
        """A line the fast reader leaves alone (escapes, language tags, comments), read by pyoxigraph."""
        try:
            for quad in ox.parse(line, format=fmt):
                s, o = from_ox(quad.subject), from_ox(quad.object)
                assert isinstance(s, str)  # a subject is an IRI or a blank node
                return s, quad.predicate.value, o
        except (SyntaxError, ValueError) as err:
            raise ValidationError(f"{self.path}: {err}: {line[:200]}") from None
        return None

    def types_of(self, values: list[str]) -> dict[str, frozenset[str]]:
        return {v: self.types[v] for v in values if v in self.types}

    def decide(self, known: dict[str, frozenset[str]]) -> list[Result]:
        """Results of the open class tests whose value's types are in ``known`` (all of them, at the end: a value
        no part has types for has none)."""
        return decide(self.pending, known)

    def referrers(self, values: set[str]) -> dict[str, str]:
        """A node of another root linking to each value, for locating results on nodes outside any figure."""
        return {value: self.refs[value] for value in values if value in self.refs}


def _settle(workers: list[_Local] | list[_Worker]) -> ValidationReport:
    """Asks every part for its results, then settles the open class tests and locates the results."""
    def everyone(method: str, *args: object) -> list[Any]:
        for worker in workers:
            worker.ask(method, *args)
        return [worker.answer() for worker in workers]

    results: list[Result] = []
    roots: set[str] = set()
    wanted: set[str] = set()
    figures = 0
    for found, open_tests, part_roots, count in everyone("scan"):
        if roots & part_roots:
            raise NotStreamable("a root's triples are in two places")
        results += found
        roots |= part_roots
        wanted.update(value for value, _ in open_tests)
        figures += count
    known: dict[str, frozenset[str]] = {}
    for types in everyone("types_of", sorted(wanted)):
        known.update(types)
    known.update((value, frozenset()) for value in wanted - known.keys())
    for found in everyone("decide", known):
        results += found
    located = {r.focus: figid for r in results if (figid := figid_of(r.focus))}
    # A node outside every figure is located by the figure linking to it, or to a node linking to it (a taxon:
    # through a gene); a few hops at most.
    chase = {r.focus[1:-1]: r.focus for r in results if r.focus not in located and r.focus.startswith("<")}
    for _hop in range(3):
        if not chase:
            break
        found_refs: dict[str, str] = {}
        for refs in everyone("referrers", set(chase)):
            for value, node in refs.items():
                found_refs.setdefault(value, node)
        chase_next = {}
        for value, node in found_refs.items():
            figid = figid_of(node)
            if figid:
                located.setdefault(chase[value], figid)
            else:
                chase_next[node] = chase[value]
        chase = chase_next
    return ValidationReport(sorted(set(results)), "stream", figures, located=located)


class _Local:
    """A part checked in this process."""

    def __init__(self, part: _Part) -> None:
        self.part = part
        self.value: object = None

    def ask(self, method: str, *args: object) -> None:
        self.value = getattr(self.part, method)(*args)

    def answer(self) -> object:
        return self.value

    def close(self) -> None:
        pass


def _serve_part(conn: Connection, part: _Part) -> None:
    """A worker process's loop: answers the parent's questions about its part until told to close."""
    try:
        while True:
            method, args = conn.recv()
            if method == "close":
                break
            conn.send(("ok", getattr(part, method)(*args)))
    except (NotStreamable, ValidationError) as err:
        conn.send(("error", err))
    finally:
        conn.close()
        os._exit(0)  # the part's tables are thrown away whole, not freed object by object


class _Worker:
    """A part checked in a forked process that keeps its state between questions."""

    def __init__(self, part: _Part) -> None:
        import multiprocessing

        ctx = multiprocessing.get_context("fork")
        self.path = part.path
        self.conn, theirs = ctx.Pipe()
        self.process = ctx.Process(target=_serve_part, args=(theirs, part), daemon=True)
        self.process.start()
        theirs.close()

    def ask(self, method: str, *args: object) -> None:
        self.conn.send((method, args))

    def answer(self) -> object:
        try:
            status, value = self.conn.recv()
        except EOFError:
            raise ValidationError(f"{self.path}: a validation worker stopped") from None
        if status == "error":
            raise value
        return value

    def close(self) -> None:
        with suppress(OSError):  # the worker is gone already
            self.conn.send(("close", ()))
        self.conn.close()
        self.process.join(timeout=5)
        if self.process.is_alive():
            self.process.kill()
            self.process.join()
