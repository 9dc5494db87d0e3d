"""The kinds of node the mapping writes, read from ``data/node-kinds.json``: the one table of classes, IRI patterns,
label properties, identifier namespaces and the properties each kind has, with their cardinality.

    >>> from converter.rdf.kinds import KINDS
    >>> KINDS["gene"].classes, KINDS["gene"].namespaces
    (('https://schema.org/Gene',), ('ncbigene',))

The mapping takes its classes from here, the generated shapes their namespaces, ``void.ttl`` its class partitions,
the figure pages their lists; ``docs/mapping.md`` and ``shapes/pfocr.ttl`` are checked against it by the tests.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from importlib import resources
from typing import Any

from .vocab import PREFIXES

CARDINALITIES = {"1": (1, 1), "0..1": (0, 1), "0..n": (0, None), "1..n": (1, None)}


def expand(curie: str) -> str:
    """The IRI of ``schema:name``-style names of the table."""
    prefix, _, local = curie.partition(":")
    if prefix not in PREFIXES:
        raise ValueError(f"data/node-kinds.json: {curie!r} has no known prefix")
    return PREFIXES[prefix] + local


@dataclass(frozen=True)
class NodeKind:
    """One kind of node: ``classes`` (IRIs, the first the main one), how its IRI is made, its label property, the
    namespaces its IRIs may be in, the ``void.ttl`` statistic it is counted in, the class of its mentions (entity
    kinds), the list and heading it has on a figure page, and its properties -> (min, max) counts (max None: any)."""

    name: str
    classes: tuple[str, ...]
    iri: str
    label: str
    namespaces: tuple[str, ...]
    counted_as: str | None
    mention_class: str | None
    list: str | None
    heading: str | None
    properties: dict[str, tuple[int, int | None]]


def _kind(name: str, row: dict[str, Any]) -> NodeKind:
    return NodeKind(
        name=name, classes=tuple(expand(c) for c in row["classes"]), iri=row["iri"], label=expand(row["label"]),
        namespaces=tuple(row.get("namespaces", ())), counted_as=row.get("counted_as"),
        mention_class=expand(row["mention_class"]) if "mention_class" in row else None, list=row.get("list"),
        heading=row.get("heading"),
        properties={expand(p): CARDINALITIES[c] for p, c in row["properties"].items()})


def _load() -> dict[str, NodeKind]:
    text = resources.files("converter.data").joinpath("node-kinds.json").read_text(encoding="utf-8")
    rows: dict[str, Any] = json.loads(text)
    return {name: _kind(name, row) for name, row in rows.items() if not name.startswith("_")}


KINDS = _load()
ENTITY_KINDS = ("gene", "chemical", "disease")  # the kinds of the records' entity lists, in the records' order
