"""The two engines and the one choice between them: :func:`validate`.

``stream`` (the default, everywhere: this function, ``pfocr-rdf validate`` and the documentation) reads N-Triples
and N-Quads dumps in blocks on every core, without building a graph (:mod:`converter.validate.stream`). For input it
cannot stream (Turtle, JSON-LD, an open store, a dump whose nodes are not written together or that declares
subclasses) it hands over to ``sparql``, which runs one query per constraint in a pyoxigraph store
(:mod:`converter.validate.sparql`); the report names the engine that ran. Both give the same results: the tests
compare each with pySHACL, on the real sample and on one small graph per constraint.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable, Sequence
from typing import Literal, get_args

import pyoxigraph as ox

from ..rdf.formats import of_file
from ..records.identifiers import IRIStyle
from . import sparql, stream
from .report import ValidationError, ValidationReport
from .shape import read_shapes

Engine = Literal["stream", "sparql"]
ENGINES: tuple[Engine, ...] = get_args(Engine)
DEFAULT_ENGINE: Engine = "stream"


def validate(
    dumps: Iterable[str] = (),
    *,
    store: ox.Store | None = None,
    engine: Engine = DEFAULT_ENGINE,
    iri_style: IRIStyle = "slash",
    jobs: int | None = None,
    shapes: Sequence[str] = (),
) -> ValidationReport:
    """Validate dumps (or an open store) against the shapes in ``shapes/`` and the shape files in ``shapes``;
    returns the results, sorted. ``jobs`` bounds the stream engine's processes (default: one per core)."""
    if engine not in ENGINES:
        raise ValidationError(f"unknown engine {engine!r}; choose {' or '.join(ENGINES)}")
    started = time.perf_counter()
    checked = read_shapes(iri_style, list(shapes))
    dumps = list(dumps)
    if engine == "stream" and store is None and dumps and all(of_file(d) in stream.STREAMED for d in dumps):
        try:
            report = stream.validate_dumps(dumps, checked, jobs or os.cpu_count() or 1)
        except stream.NotStreamable:
            pass  # read into a store below
        else:
            report.seconds = time.perf_counter() - started
            return report
    report = sparql.validate_store(sparql.load_dumps(dumps) if store is None else store, checked)
    report.seconds = time.perf_counter() - started
    return report
