"""The dataset description (``void.ttl``): VoID and DCAT statistics, licence, linksets and dump files."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol, TypedDict, cast

from ..records.identifiers import Registry
from .formats import MEDIA_TYPES
from .kinds import KINDS
from .terms import Literal, Triple, turtle_block, turtle_prefixes
from .vocab import CC0, DATASET, FIGURES, PFOCR, RDF_TYPE, SCHEMA, pfocr, schema, xsd


class Statistics(TypedDict, total=False):
    """What ``void.ttl`` counts: figures, articles, entities of each kind, taxa; and the links per namespace."""

    figures: int
    articles: int
    genes: int
    chemicals: int
    diseases: int
    taxa: int
    links: dict[str, int]


class Counted(Protocol):
    """What the description reads of a conversion's report (:class:`converter.pipeline.convert.Report`)."""

    @property
    def triples(self) -> int: ...

    @property
    def statistics(self) -> Statistics: ...

VOID = "http://rdfs.org/ns/void#"
DCTERMS = "http://purl.org/dc/terms/"
DCAT = "http://www.w3.org/ns/dcat#"
_NAMESPACE_TITLES = {"ncbigene": "NCBI Gene", "mesh": "MeSH", "chebi": "ChEBI", "doid": "Disease Ontology"}


def _int(n: int) -> Literal:
    return Literal(str(n), xsd("integer"))


def void_turtle(report: Counted, dumps: dict[str, tuple[str, int, str]], ids: Registry) -> str:
    """Turtle describing the dataset. ``dumps`` maps format -> (file name beside void.ttl, size, SHA-256); ``ids``
    spells the linksets' IRI spaces in the conversion's style."""
    d = DATASET
    stats = report.statistics
    t: list[Triple] = [
        (d, RDF_TYPE, VOID + "Dataset"),
        (d, RDF_TYPE, DCAT + "Dataset"),
        (d, DCTERMS + "title", Literal("Pathway Figure OCR (PFOCR) as linked data")),
        (d, DCTERMS + "description", Literal(
            "Genes, chemicals and diseases mined from published pathway figures by PFOCR, with the figures and "
            "their articles, in schema.org and Bioschemas terms.")),
        (d, DCTERMS + "license", CC0),
        (d, DCTERMS + "source", "https://pfocr.wikipathways.org/"),
        (d, VOID + "triples", _int(report.triples)),
        (d, VOID + "uriSpace", Literal(FIGURES)),
        (d, VOID + "vocabulary", SCHEMA),
        (d, VOID + "vocabulary", PFOCR),
    ]
    counts = cast("Mapping[str, int]", stats)
    partitions = [(kind.classes[0], counts[kind.counted_as]) for kind in KINDS.values() if kind.counted_as]
    entities = 0
    for cls, count in partitions:
        node = f"{d}#class-{cls.rsplit('/', 1)[-1]}"
        t += [(d, VOID + "classPartition", node), (node, VOID + "class", cls), (node, VOID + "entities", _int(count))]
        entities += count
    t.append((d, VOID + "entities", _int(entities)))
    for prefix, count in stats["links"].items():
        node = f"{d}#links-{prefix}"
        target = f"{d}#target-{prefix}"
        t += [
            (d, VOID + "subset", node),
            (node, RDF_TYPE, VOID + "Linkset"),
            (node, VOID + "subjectsTarget", d),
            (node, VOID + "objectsTarget", target),
            (node, VOID + "linkPredicate", schema("mentions")),
            (node, VOID + "triples", _int(count)),
            (target, RDF_TYPE, VOID + "Dataset"),
            (target, VOID + "uriSpace", Literal(ids.namespace_iri(prefix))),
        ]
        if prefix in _NAMESPACE_TITLES:
            t.append((target, DCTERMS + "title", Literal(_NAMESPACE_TITLES[prefix])))
    for fmt, (name, size, sha256) in sorted(dumps.items()):
        dist = f"{d}#dump-{fmt}"
        t += [
            (d, VOID + "dataDump", name),
            (d, DCAT + "distribution", dist),
            (dist, RDF_TYPE, DCAT + "Distribution"),
            (dist, DCAT + "downloadURL", name),
            (dist, DCAT + "mediaType", Literal(MEDIA_TYPES[fmt])),
            (dist, DCAT + "byteSize", _int(size)),
            (dist, pfocr("sha256"), Literal(sha256)),
        ]
    return turtle_prefixes() + turtle_block(t)  # dump names stay relative: Turtle resolves them against void.ttl
