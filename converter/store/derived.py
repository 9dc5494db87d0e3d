"""Precomputed data the canned queries read, derived from the data when a store is built (never in the dumps).

Two named graphs hold it (``docs/mapping.md``, "Precomputed data"):

- ``https://pfocr.wikipathways.org/graph/statistics``: counts that would otherwise be aggregated over the whole
  corpus at query time (figures per entity, per year, per organism; mentions per match source; genes per figure);
- ``https://pfocr.wikipathways.org/graph/index``: lookup keys (a name or id lower-cased, so a parameter resolves by
  one exact lookup) and each figure's searchable text, lower-cased.

Each piece is a CONSTRUCT query in ``converter/data/derived/`` whose first line names its graph; the engine computes
it, with its own LCASE and its own aggregates, so the precomputed answers are the ones the queries would compute.
The same data goes to other triplestores with ``publish`` and in bulk-load chunks::

    >>> from converter.store.derived import derive                     # doctest: +SKIP
    >>> derive(store)                                            # doctest: +SKIP
    {'https://pfocr.wikipathways.org/graph/statistics': 27158, 'https://pfocr.wikipathways.org/graph/index': 431240}
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import cast

import pyoxigraph as ox

from ..rdf.vocab import PFOCR, RDF_TYPE, SITE

STATISTICS_GRAPH = SITE + "graph/statistics"
INDEX_GRAPH = SITE + "graph/index"
GRAPHS = {"statistics": STATISTICS_GRAPH, "index": INDEX_GRAPH}
DERIVED_GRAPHS = tuple(GRAPHS.values())


def _queries() -> list[tuple[str, str, str]]:
    """(name, graph IRI, CONSTRUCT text) of every derived piece the engine computes."""
    out = []
    files = resources.files("converter.data").joinpath("derived").iterdir()
    for path in sorted((p for p in files if p.name.endswith(".rq")), key=lambda p: p.name):
        text = path.read_text(encoding="utf-8")
        graph = re.match(r"#\s*graph:\s*(\w+)", text)
        if graph is None or graph[1] not in GRAPHS:
            raise ValueError(f"{path.name}: the first line must be '# graph: statistics' or '# graph: index'")
        out.append((path.name.removesuffix(".rq"), GRAPHS[graph[1]], text))
    return out


@dataclass(frozen=True)
class Reads:
    """What the derived queries match: triples with these ``predicates`` (of ``rdf:type``, only those with these
    ``classes``; None: any)."""

    predicates: frozenset[str]
    classes: frozenset[str] | None


@cache
def what_derived_reads() -> Reads | None:
    """What the derived queries match; None when one of them may match any predicate (a variable, or a path not
    made of IRIs). The precomputed data of a graph is that of its triples that these match, so a store built only
    to compute it (``publish``, chunks) needs only those: about a third of a dump."""
    from rdflib.paths import AlternativePath, SequencePath
    from rdflib.plugins.sparql import prepareQuery
    from rdflib.plugins.sparql.algebra import traverse
    from rdflib.term import URIRef

    predicates: set[str] = set()
    classes: set[str] = set()
    unknown = any_class = False

    def predicate(p: object) -> None:
        nonlocal unknown, any_class
        if isinstance(p, URIRef):
            predicates.add(str(p))
            any_class = any_class or str(p) == RDF_TYPE  # a type whose class is not named (a variable, a path)
        elif isinstance(p, (AlternativePath, SequencePath)):
            for step in p.args:
                predicate(step)
        else:  # a variable, an inverse, repeated or negated path: any predicate may count
            unknown = True

    def visit(node: object) -> None:
        if getattr(node, "name", None) != "BGP":
            return
        for _, p, o in getattr(node, "triples", []):
            if isinstance(p, URIRef) and str(p) == RDF_TYPE and isinstance(o, URIRef):
                predicates.add(RDF_TYPE)
                classes.add(str(o))
            else:
                predicate(p)

    for _, _, text in _queries():
        traverse(prepareQuery(text).algebra, visitPost=visit)
    if unknown:
        return None
    return Reads(frozenset(predicates), None if any_class else frozenset(classes))


def _constructed(store: ox.Store, graph: str, text: str) -> list[ox.Quad]:
    target = ox.NamedNode(graph)
    return [ox.Quad(t.subject, t.predicate, t.object, target)
            for t in cast("ox.QueryTriples", store.query(text, use_default_graph_as_union=True))]


def _ranks(counts: list[ox.Quad]) -> list[ox.Quad]:
    """Entities in the order "most mentioned first" rankings sort them (figure count descending, then IRI, as
    SPARQL orders IRIs: by code point): sorting thousands of entities by count breaks most ties by comparing IRIs,
    which the engine must first read back."""
    graph, rank = ox.NamedNode(STATISTICS_GRAPH), ox.NamedNode(PFOCR + "rank")
    ordered = sorted(counts, key=lambda q: (-int(cast("ox.Literal", q.object).value),
                                            cast("ox.NamedNode", q.subject).value))
    return [ox.Quad(q.subject, rank, ox.Literal(i), graph) for i, q in enumerate(ordered, 1)]


def derive(store: ox.Store) -> dict[str, int]:
    """Add the precomputed data to ``store`` (which holds the data and nothing derived yet); the number of quads
    added to each derived graph."""
    added = dict.fromkeys(DERIVED_GRAPHS, 0)
    with ThreadPoolExecutor(2) as pool:  # the engine evaluates without the GIL: two queries at once
        parts = dict(pool.map(lambda q: (q[0], _constructed(store, q[1], q[2])), _queries()))
    quads = [q for part in parts.values() for q in part] + _ranks(parts["entity-counts"])
    store.bulk_extend(quads)  # one bulk write: each is a set of files the store ingests
    for quad in quads:
        added[quad.graph_name.value] += 1
    return added


def derived_quads(store: ox.Store) -> Iterator[ox.Quad]:
    """Every precomputed quad of ``store``, graph by graph (to publish them or write them beside chunks)."""
    for graph in DERIVED_GRAPHS:
        yield from store.quads_for_pattern(None, None, None, ox.NamedNode(graph))
