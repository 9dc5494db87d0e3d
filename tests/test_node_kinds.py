"""The table of node kinds (converter/data/node-kinds.json) is the one statement of which nodes the mapping writes:
checked here against the graph of the real sample, against docs/mapping.md, and against what reads it."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pyoxigraph as ox
import pytest

from converter.rdf.kinds import KINDS, expand
from converter.rdf.mapping import ENTITY_CLASS, MENTION_CLASS

MAPPING_DOC = Path(__file__).resolve().parents[1] / "docs" / "mapping.md"
RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"


def _nodes_of(store: ox.Store, cls: str) -> list[str]:
    return sorted(q.subject.value for q in store.quads_for_pattern(None, ox.NamedNode(RDF_TYPE), ox.NamedNode(cls))
                  if isinstance(q.subject, ox.NamedNode))


@pytest.mark.parametrize("name", sorted(KINDS))
def test_every_node_of_a_kind_has_the_properties_the_table_gives(name, sample_store):
    kind = KINDS[name]
    nodes = _nodes_of(sample_store, kind.classes[0])
    assert nodes, f"the real sample has no {name}"
    wrong: list[str] = []
    for node in nodes:
        counts = Counter(q.predicate.value for q in sample_store.quads_for_pattern(ox.NamedNode(node), None, None)
                         if q.predicate.value != RDF_TYPE)
        for predicate in counts:
            if predicate not in kind.properties:
                wrong.append(f"{node} has {predicate}, which the table does not list for a {name}")
        for predicate, (low, high) in kind.properties.items():
            n = counts.get(predicate, 0)
            if n < low or (high is not None and n > high):
                wrong.append(f"{node} has {n} {predicate}; the table says {low}..{high if high is not None else 'n'}")
    assert not wrong, "\n".join(wrong[:20])


@pytest.mark.parametrize("name", sorted(KINDS))
def test_each_node_has_all_the_classes_of_its_kind(name, sample_store):
    kind = KINDS[name]
    for node in _nodes_of(sample_store, kind.classes[0]):
        classes = {q.object.value for q in sample_store.quads_for_pattern(ox.NamedNode(node), ox.NamedNode(RDF_TYPE),
                                                                           None)}
        assert set(kind.classes) <= classes, node


def _doc_nodes() -> dict[str, tuple[str, set[str]]]:
    """The Nodes table of docs/mapping.md: node -> (its IRI column without code marks, the CURIEs of its types)."""
    text = MAPPING_DOC.read_text(encoding="utf-8")
    section = text.split("## Nodes", 1)[1].split("\n## ", 1)[0]
    rows: dict[str, tuple[str, set[str]]] = {}
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) < 3 or cells[0] in ("node", "") or set(cells[0]) <= {"-"}:
            continue
        rows[cells[0]] = (cells[1].replace("`", ""), set(re.findall(r"`(\w+:\w+)`", cells[2])))
    return rows


def test_docs_mapping_nodes_table_is_the_table():
    documented = _doc_nodes()
    assert set(documented) == set(KINDS)
    for name, (iri, curies) in documented.items():
        kind = KINDS[name]
        assert iri.startswith(kind.iri), f"docs/mapping.md gives {name} IRIs as {iri!r}; the table {kind.iri!r}"
        expected = set(kind.classes) | ({k.mention_class for k in KINDS.values() if k.mention_class}
                                         if name == "mention" else set())
        assert {expand(c) for c in curies} == expected, name


def test_the_mapping_takes_its_classes_from_the_table():
    assert {k: KINDS[k].classes[0] for k in ("gene", "chemical", "disease")} == ENTITY_CLASS
    assert {k: KINDS[k].mention_class for k in ("gene", "chemical", "disease")} == MENTION_CLASS


def test_the_shipped_shapes_agree_with_the_cardinalities():
    """shapes/pfocr.ttl is written by hand; where it bounds how many values a property of a kind's class has, the
    upper bound is the table's, and a lower bound above the table's is only a warning (else valid data would fail)."""
    import rdflib

    from converter.validate.sources import load_shapes

    sh = rdflib.Namespace("http://www.w3.org/ns/shacl#")
    graph = load_shapes()
    by_class = {k.classes[0]: k for k in KINDS.values()}
    checked = 0
    for shape, cls in graph.subject_objects(sh.targetClass):
        kind = by_class.get(str(cls))
        if kind is None:
            continue
        for prop in graph.objects(shape, sh.property):
            path = graph.value(prop, sh.path)
            if not isinstance(path, rdflib.URIRef) or str(path) not in kind.properties:
                continue
            low, high = kind.properties[str(path)]
            min_count, max_count = graph.value(prop, sh.minCount), graph.value(prop, sh.maxCount)
            if max_count is not None:
                assert high == int(max_count), f"{kind.name} {path}: shape max {max_count}, table {high}"
                checked += 1
            if min_count is not None and int(min_count) > low:  # more than promised: only as a warning or note
                assert graph.value(prop, sh.severity) in (sh.Warning, sh.Info), \
                    f"{kind.name} {path}: shape min {min_count} as a violation, table {low}"
                checked += 1
    assert checked, "no shape of shapes/pfocr.ttl bounds a property of a kind in the table"


def test_the_store_statistics_read_only_what_the_table_declares():
    """The precomputed statistics and lookup keys (converter/data/derived/) are computed from the data by queries: the
    classes and properties they read are the table's, so a kind or property renamed there cannot leave them counting
    nothing."""
    from importlib import resources

    prefixes = {"schema": "https://schema.org/", "pfocr": "https://pfocr.wikipathways.org/vocab#",
                "bioschemas": "https://bioschemas.org/"}
    classes = {c for k in KINDS.values() for c in (*k.classes, k.mention_class) if c}
    properties = {p for k in KINDS.values() for p in k.properties}
    folder = resources.files("converter.data").joinpath("derived")
    read = 0
    for path in sorted(p for p in folder.iterdir() if p.name.endswith(".rq")):
        text = path.read_text(encoding="utf-8")
        where = text[text.index("WHERE"):]
        for prefix, local in re.findall(r"\b(schema|pfocr|bioschemas):(\w+)", where):
            iri = prefixes[prefix] + local
            if local[0].isupper():
                assert iri in classes, f"{path.name} reads class {prefix}:{local}, which no kind has"
            else:
                assert iri in properties, f"{path.name} reads {prefix}:{local}, which no kind writes"
            read += 1
    assert read > 20
