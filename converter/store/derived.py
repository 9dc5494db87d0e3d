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
from importlib import resources
from typing import cast

import pyoxigraph as ox

from ..rdf.vocab import PFOCR, SITE

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
