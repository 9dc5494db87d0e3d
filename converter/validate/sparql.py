"""The ``sparql`` engine: one SPARQL query per constraint, run in a pyoxigraph store.

It reads what the ``stream`` engine cannot: an open store (``pfocr-rdf validate --store``), Turtle and JSON-LD
dumps, and N-Triples whose nodes are not written together or that declare subclasses. Each constraint writes its
own query (:mod:`converter.validate.components`); this module gives it the focus nodes of its shape (instances of
the target class or of a subclass of it, in any graph) and the path to their values.
"""

from __future__ import annotations

from collections.abc import Iterable

import pyoxigraph as ox

from ..rdf.formats import OXIGRAPH, of_file
from ..rdf.vocab import RDF_TYPE
from .components import Constraint, ValueConstraint
from .report import Result, ValidationError, ValidationReport
from .shape import Shape
from .terms import SUBCLASS, nt_of_ox

_IMAGE_OBJECT = "<https://schema.org/ImageObject>"


def load_dumps(paths: Iterable[str]) -> ox.Store:
    """An in-memory store holding the given dumps."""
    store = ox.Store()
    for path in paths:
        fmt = of_file(path)
        if fmt is None:
            raise ValidationError(f"{path}: not a dump (expected .nt, .nq, .ttl or .jsonld)")
        try:
            store.bulk_load(path=path, format=OXIGRAPH[fmt])
        except (OSError, SyntaxError, ValueError) as err:
            raise ValidationError(f"{path}: {err}") from None
    return store


def validate_store(store: ox.Store, shapes: list[Shape]) -> ValidationReport:
    """The results of every constraint of every shape on the store's data (the union of its graphs)."""
    results = []
    for shape in shapes:
        for c in shape.constraints:
            query, gives_value = query_for(shape, c)
            for row in _select(store, query):
                focus = nt_of_ox(row["f"])
                value = nt_of_ox(row["v"]) if gives_value else (focus if shape.path is None else None)
                results.append(Result(shape.severity, shape.iri, c.iri, focus, shape.path, value, shape.message))
    report = ValidationReport(sorted(set(results)), "sparql", store=store)
    rows = _select(store, f"SELECT (COUNT(DISTINCT ?f) AS ?n) WHERE {{ ?f <{RDF_TYPE}> {_IMAGE_OBJECT} }}")
    report.figures = int(next(iter(rows))["n"].value)
    return report


def query_for(shape: Shape, c: Constraint) -> tuple[str, bool]:
    """The SELECT returning ``?f`` (and ``?v`` when the second item is true) for every violation of the constraint
    ``c`` of ``shape``."""
    focus = f"?f <{RDF_TYPE}>/<{SUBCLASS}>* {shape.target_class} ."
    if shape.path is None:  # a node shape: the focus node is the value (read_shapes allows value constraints only)
        assert isinstance(c, ValueConstraint)
        return c.select_focus(focus), False
    values = f"?v {shape.path[1:]} ?f ." if shape.path.startswith("^") else f"?f {shape.path} ?v ."
    return c.select(focus, values), isinstance(c, ValueConstraint)


def _select(store: ox.Store, query: str) -> ox.QuerySolutions:
    rows = store.query(query, use_default_graph_as_union=True)
    assert isinstance(rows, ox.QuerySolutions)  # a SELECT gives solutions
    return rows
