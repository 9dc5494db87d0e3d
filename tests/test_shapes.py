"""The negative suite of the SHACL shapes: one conforming graph, and one mutation of it per constraint.

``CONFORMING`` holds every kind of node the shapes target, twice (a *focus* node and a *peer* of the same class).
For every (shape, constraint component) pair that :func:`converter.validate.read_shapes` returns, a mutation of
the graph is derived from the component and its parameter (remove the values for sh:minCount, add the peer's value
for sh:maxCount, retype the value for sh:datatype, ...). The mutated graph must give exactly the expected results
under both engines (``stream`` and ``sparql``) and under pySHACL, the reference, run directly on the whole graph;
when a mutation unavoidably trips a second constraint, ``ALSO_TRIPPED`` lists it and says why. A constraint for which
no mutation can be derived (a new target class, a new component kind, a pattern without a known bad value) fails the
suite.

Beyond one violation per constraint, ``EDGE_CASES`` holds unusual literals and RDFS subclasses, on which every engine
must still report what pySHACL reports. The last part checks the shapes themselves: they are valid SHACL (W3C
SHACL-for-SHACL), documented, and the generated ``shapes/identifiers.ttl`` is up to date and agrees with the IRIs the
converter mints.
"""

from __future__ import annotations

import re
import tempfile
from dataclasses import dataclass
from decimal import Decimal
from importlib import resources
from pathlib import Path

import pyoxigraph as ox
import pyshacl
import pytest
import rdflib
from _reference import pyshacl_results

from converter.records.identifiers import iri_escape, registry
from converter.validate import ENGINES, Constraint, Shape, ValidationError, read_shapes, validate
from converter.validate.sources import identifier_shapes, load_shapes

SH = "http://www.w3.org/ns/shacl#"
XSD = "http://www.w3.org/2001/XMLSchema#"
RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"
SCHEMA = "https://schema.org/"
PFOCR = "https://pfocr.wikipathways.org/vocab#"
PFSH = "https://pfocr.wikipathways.org/shapes#"
FIG = "https://pfocr.wikipathways.org/figures/"
IDORG = "https://identifiers.org/"
SITE = "https://pfocr.wikipathways.org/"
CC0 = "https://creativecommons.org/publicdomain/zero/1.0/"

# --- the conforming graph -------------------------------------------------------------------------------------------
# Node names used by the cases; each class has a focus node (mutated) and a peer (whose values are the "second valid
# value" of sh:maxCount cases).
N = {
    "F1": FIG + "PMC1__test-f1.html", "F2": FIG + "PMC2__test-f2.html",
    "A1": IDORG + "pmc/PMC1", "A2": IDORG + "pmc/PMC2",
    "J1": SITE + "journals/J%20Test", "J2": SITE + "journals/Test%20Lett",
    "P1": SITE + "publishers/Test%20Press", "P2": SITE + "publishers/Other%20Press",
    "G1": IDORG + "ncbigene/7099", "G2": IDORG + "ncbigene/16193",
    "C1": IDORG + "mesh/D005947", "C2": IDORG + "chebi/CHEBI:15422",
    "D1": IDORG + "mesh/D009369", "D2": IDORG + "doid/DOID:9352",
    "T1": IDORG + "taxonomy/9606", "T2": IDORG + "taxonomy/10090",
    "MG1": FIG + "PMC1__test-f1.html#mention-0000000000000001",
    "MC1": FIG + "PMC1__test-f1.html#mention-0000000000000002",
    "MD1": FIG + "PMC1__test-f1.html#mention-0000000000000003",
    "MG2": FIG + "PMC2__test-f2.html#mention-0000000000000004",
    "MC2": FIG + "PMC2__test-f2.html#mention-0000000000000005",
    "MD2": FIG + "PMC2__test-f2.html#mention-0000000000000006",
}

CONFORMING = """
@prefix rdf: <http://www.w3.org/1999/02/22-rdf-syntax-ns#> .
@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .
@prefix schema: <https://schema.org/> .
@prefix pfocr: <https://pfocr.wikipathways.org/vocab#> .
@prefix fig: <https://pfocr.wikipathways.org/figures/> .
@prefix pmc: <https://identifiers.org/pmc/> .
@prefix ncbigene: <https://identifiers.org/ncbigene/> .
@prefix mesh: <https://identifiers.org/mesh/> .
@prefix taxon: <https://identifiers.org/taxonomy/> .
@prefix f1: <https://pfocr.wikipathways.org/figures/PMC1__test-f1.html#> .
@prefix f2: <https://pfocr.wikipathways.org/figures/PMC2__test-f2.html#> .

# figure 1: a newer-layout figure with every optional property
<https://pfocr.wikipathways.org/figures/PMC1__test-f1.html> a schema:ImageObject, schema:Dataset ;
    schema:identifier "PMC1__test-f1" ;
    schema:name "A test pathway" ;
    schema:caption "Signalling in the test cell.\\nSecond line." ;
    schema:alternateName "PMC1__F1" ;
    pfocr:figureNumber "F1" ;
    pfocr:figureType "Figure" ;
    schema:isPartOf pmc:PMC1 ;
    schema:license <https://creativecommons.org/publicdomain/zero/1.0/> ;
    schema:contentUrl <https://www.ncbi.nlm.nih.gov/pmc/articles/PMC1/bin/test-f1.jpg> ;
    schema:url <https://www.ncbi.nlm.nih.gov/pmc/articles/PMC1/figure/F1/> ;
    schema:keywords "apoptosis", "signalling" ;
    pfocr:pathwayScore "0.97"^^xsd:decimal ;
    pfocr:pmcRankedResultIndex "12"^^xsd:integer ;
    pfocr:ndexNetwork <https://www.ndexbio.org/viewer/networks/01234567-89ab-cdef-0123-456789abcdef> ;
    schema:about taxon:9606 ;
    schema:mentions taxon:9606, ncbigene:7099, mesh:D005947, mesh:D009369 ;
    pfocr:hasMention f1:mention-0000000000000001,
        f1:mention-0000000000000002,
        f1:mention-0000000000000003 .

# figure 2: the peer, with a different value for every property
<https://pfocr.wikipathways.org/figures/PMC2__test-f2.html> a schema:ImageObject, schema:Dataset ;
    schema:identifier "PMC2__test-f2" ;
    schema:name "Another test pathway" ;
    schema:caption "Metabolism in the test cell." ;
    schema:alternateName "PMC2__F2" ;
    pfocr:figureNumber "F2" ;
    pfocr:figureType "Scheme" ;
    schema:isPartOf pmc:PMC2 ;
    schema:license <https://creativecommons.org/publicdomain/zero/1.0/> ;
    schema:contentUrl <https://www.ncbi.nlm.nih.gov/pmc/articles/PMC2/bin/test-f2.jpg> ;
    schema:url <https://www.ncbi.nlm.nih.gov/pmc/articles/PMC2/figure/F2/> ;
    schema:keywords "metabolism" ;
    pfocr:pathwayScore "0.5"^^xsd:decimal ;
    pfocr:pmcRankedResultIndex "7"^^xsd:integer ;
    pfocr:ndexNetwork <https://www.ndexbio.org/viewer/networks/fedcba98-7654-3210-fedc-ba9876543210> ;
    schema:about taxon:10090 ;
    schema:mentions ncbigene:16193, <https://identifiers.org/chebi/CHEBI:15422>,
        <https://identifiers.org/doid/DOID:9352> ;
    pfocr:hasMention f2:mention-0000000000000004,
        f2:mention-0000000000000005,
        f2:mention-0000000000000006 .

pmc:PMC1 a schema:ScholarlyArticle ;
    schema:identifier "PMC1" ;
    schema:name "A test paper." ;
    schema:datePublished "2020"^^xsd:gYear ;
    schema:creditText "Doe J, et al. J Test. 2020;1:1." ;
    schema:sameAs <https://identifiers.org/pmc:PMC1>, <https://doi.org/10.1000/test.1> ;
    schema:isPartOf <https://pfocr.wikipathways.org/journals/J%20Test> ;
    schema:publisher <https://pfocr.wikipathways.org/publishers/Test%20Press> .

pmc:PMC2 a schema:ScholarlyArticle ;
    schema:identifier "PMC2" ;
    schema:name "Another test paper." ;
    schema:datePublished "2019"^^xsd:gYear ;
    schema:creditText "Roe R. Test Lett. 2019;2:2." ;
    schema:sameAs <https://identifiers.org/pmc:PMC2> ;
    schema:isPartOf <https://pfocr.wikipathways.org/journals/Test%20Lett> ;
    schema:publisher <https://pfocr.wikipathways.org/publishers/Other%20Press> .

<https://pfocr.wikipathways.org/journals/J%20Test> a schema:Periodical ;
    schema:name "Journal of Tests" ; schema:alternateName "J Test" .
<https://pfocr.wikipathways.org/journals/Test%20Lett> a schema:Periodical ;
    schema:name "Test Letters" ; schema:alternateName "Test Lett" .
<https://pfocr.wikipathways.org/publishers/Test%20Press> a schema:Organization ; schema:name "Test Press" .
<https://pfocr.wikipathways.org/publishers/Other%20Press> a schema:Organization ; schema:name "Other Press" .

ncbigene:7099 a schema:Gene ;
    schema:identifier "ncbigene:7099" ; schema:name "TLR4" ;
    schema:sameAs <https://identifiers.org/ncbigene:7099> ; schema:taxonomicRange taxon:9606 .
ncbigene:16193 a schema:Gene ;
    schema:identifier "ncbigene:16193" ; schema:name "Il6" ;
    schema:sameAs <https://identifiers.org/ncbigene:16193> ; schema:taxonomicRange taxon:10090 .

mesh:D005947 a schema:ChemicalSubstance ;
    schema:identifier "mesh:D005947" ; schema:name "Glucose" ;
    schema:sameAs <https://identifiers.org/mesh:D005947>, <https://identifiers.org/chebi/CHEBI:17234> .
<https://identifiers.org/chebi/CHEBI:15422> a schema:ChemicalSubstance ;
    schema:identifier "chebi:15422" ; schema:name "ATP" ;
    schema:sameAs <https://identifiers.org/CHEBI:15422> .

mesh:D009369 a schema:MedicalCondition ;
    schema:identifier "mesh:D009369" ; schema:name "Neoplasms" ;
    schema:sameAs <https://identifiers.org/mesh:D009369>, <https://identifiers.org/doid/DOID:162> .
<https://identifiers.org/doid/DOID:9352> a schema:MedicalCondition ;
    schema:identifier "doid:9352" ; schema:name "type 2 diabetes mellitus" ;
    schema:sameAs <https://identifiers.org/DOID:9352> .

taxon:9606 a schema:Taxon ;
    schema:identifier "ncbitaxon:9606" ; schema:name "Homo sapiens" ; pfocr:organismGroup "Primates" ;
    schema:sameAs <https://identifiers.org/taxonomy:9606> .
taxon:10090 a schema:Taxon ;
    schema:identifier "ncbitaxon:10090" ; schema:name "Mus musculus" ; pfocr:organismGroup "Rodents" ;
    schema:sameAs <https://identifiers.org/taxonomy:10090> .

f1:mention-0000000000000001 a pfocr:Mention, pfocr:GeneMention ;
    pfocr:word "TLR4" ; pfocr:matchedSymbol "TLR4" ; pfocr:matchSource "ncbigene_symbol" ; pfocr:entity ncbigene:7099 ;
    pfocr:countDirect 1 ; pfocr:countSynonym 0 ; pfocr:countMatch 1 .
f1:mention-0000000000000002 a pfocr:Mention, pfocr:ChemicalMention ;
    pfocr:word "glucose" ; pfocr:matchedSymbol "Glucose" ; pfocr:entity mesh:D005947 .
f1:mention-0000000000000003 a pfocr:Mention, pfocr:DiseaseMention ;
    pfocr:word "cancer" ; pfocr:matchSource "MESH" ; pfocr:entity mesh:D009369 .
f2:mention-0000000000000004 a pfocr:Mention, pfocr:GeneMention ;
    pfocr:word "IL-6" ; pfocr:matchedSymbol "Il6" ; pfocr:matchSource "ncbigene_synonym" ;
    pfocr:entity ncbigene:16193 ; pfocr:countDirect 0 ; pfocr:countSynonym 2 ; pfocr:countMatch 2 .
f2:mention-0000000000000005 a pfocr:Mention, pfocr:ChemicalMention ;
    pfocr:word "ATP" ; pfocr:entity <https://identifiers.org/chebi/CHEBI:15422> .
f2:mention-0000000000000006 a pfocr:Mention, pfocr:DiseaseMention ;
    pfocr:word "T2D" ; pfocr:matchSource "MESH" ; pfocr:entity <https://identifiers.org/doid/DOID:9352> .
"""

# The focus node (mutated) and its peer for each target class of the shapes.
FOCUS = {
    SCHEMA + "ImageObject": ("F1", "F2"),
    SCHEMA + "ScholarlyArticle": ("A1", "A2"),
    SCHEMA + "Periodical": ("J1", "J2"),
    SCHEMA + "Organization": ("P1", "P2"),
    SCHEMA + "Gene": ("G1", "G2"),
    SCHEMA + "ChemicalSubstance": ("C1", "C2"),
    SCHEMA + "MedicalCondition": ("D1", "D2"),
    SCHEMA + "Taxon": ("T1", "T2"),
    PFOCR + "Mention": ("MG1", "MG2"),
    PFOCR + "GeneMention": ("MG1", "MG2"),
    PFOCR + "ChemicalMention": ("MC1", "MC2"),
    PFOCR + "DiseaseMention": ("MD1", "MD2"),
}
# "A node of another class" for sh:class: the first of these that lacks the class (never the focus itself).
OTHER_CLASS_NODES = ["T1", "G1", "C1", "D1", "J1", "P1", "A1", "F1", "MG1"]

# Values failing each sh:pattern other than "\S" (for which a blank-only string is used).
BAD_PATTERN_VALUE = {
    "Article-identifier": ox.Literal("pmc1"),
    "Taxon-identifier": ox.Literal("taxonomy:9606"),
    "Figure-contentUrl": ox.NamedNode("https://europepmc.org/articles/PMC1/bin/test-f1.jpg"),
    "Figure-url": ox.NamedNode("http://www.ncbi.nlm.nih.gov/pmc/articles/PMC1/figure/F1/"),
    "Figure-ndexNetwork": ox.NamedNode("https://www.ndexbio.org/viewer/networks/not-a-uuid"),
}
# Badly formed IRIs for the IRI-pattern node shapes: the focus node is renamed to it everywhere.
BAD_IRI = {
    "FigureIRIShape": FIG + "PMC1%20test-f1.html",  # '%' (an escaped space) is not allowed in a figid
    "ArticleIRIShape": IDORG + "pmc:PMC1",  # the colon form as the node IRI (dumps converted with another style)
    "GeneIRIShape": IDORG + "ncbigene/TLR4",  # a symbol, not an NCBI Gene id
    "ChemicalIRIShape": IDORG + "chebi/15422",  # ChEBI without its CHEBI: banana
    "DiseaseIRIShape": IDORG + "doid/162",  # DOID without its DOID: banana
    "TaxonIRIShape": IDORG + "ncbitaxon/9606",  # the Bioregistry prefix, not the identifiers.org one
}
# A wrong datatype for each datatype the shapes require; the lexical form is kept, so the value stays in range.
WRONG_DATATYPE = {
    XSD + "string": lambda lex: ox.Literal(lex, language="en"),  # rdf:langString, as JSON-LD with @language makes
    XSD + "gYear": lambda lex: ox.Literal(lex, datatype=ox.NamedNode(XSD + "integer")),
    XSD + "decimal": lambda lex: ox.Literal(lex, datatype=ox.NamedNode(XSD + "double")),
    XSD + "integer": lambda lex: ox.Literal(lex, datatype=ox.NamedNode(XSD + "decimal")),
}

# Results a mutation trips besides its own constraint: (shape, component) -> [(node, shape, component)], each with why.
ALSO_TRIPPED: dict[tuple[str, str], list[tuple[str, str, str]]] = {
    # sh:in lists one license only: any second license is outside it.
    ("Figure-license", "MaxCount"): [("F1", "Figure-license", "In")],
    # The sentinels ("NA") and a blank string cannot match the identifier patterns, nor be known match sources; a
    # language-tagged source is a different term from the plain strings sh:in lists.
    ("Article-identifier", "Not"): [("A1", "Article-identifier", "Pattern")],
    ("Taxon-identifier", "Not"): [("T1", "Taxon-identifier", "Pattern")],
    ("Mention-matchSource", "Not"): [("MG1", "Mention-knownSource", "In")],
    ("Mention-matchSource", "Pattern"): [("MG1", "Mention-knownSource", "In")],
    ("Mention-matchSource", "Datatype"): [("MG1", "Mention-knownSource", "In")],
    # A literal where an IRI of some class is required has no rdf:type: sh:class fails too.
    ("Figure-isPartOf", "NodeKind"): [("F1", "Figure-isPartOf", "Class")],
    ("Figure-about", "NodeKind"): [("F1", "Figure-about", "Class")],
    ("Figure-hasMention", "NodeKind"): [("F1", "Figure-hasMention", "Class")],
    ("Article-isPartOf", "NodeKind"): [("A1", "Article-isPartOf", "Class")],
    ("Article-publisher", "NodeKind"): [("A1", "Article-publisher", "Class")],
    ("Gene-taxonomicRange", "NodeKind"): [("G1", "Gene-taxonomicRange", "Class")],
    ("Mention-entity", "NodeKind"): [("MG1", "GeneMention-entity", "Class")],
    # A blank node cannot match an IRI pattern, and it is also the (non-IRI) value of every link to it.
    ("FigureIRIShape", "NodeKind"): [("F1", "FigureIRIShape", "Pattern")],
    ("ArticleIRIShape", "NodeKind"): [("A1", "ArticleIRIShape", "Pattern"), ("F1", "Figure-isPartOf", "NodeKind")],
    ("GeneIRIShape", "NodeKind"): [("G1", "GeneIRIShape", "Pattern"), ("F1", "Figure-mentions", "NodeKind"),
                                   ("MG1", "Mention-entity", "NodeKind")],
    ("ChemicalIRIShape", "NodeKind"): [("C1", "ChemicalIRIShape", "Pattern"), ("F1", "Figure-mentions", "NodeKind"),
                                       ("MC1", "Mention-entity", "NodeKind")],
    ("DiseaseIRIShape", "NodeKind"): [("D1", "DiseaseIRIShape", "Pattern"), ("F1", "Figure-mentions", "NodeKind"),
                                      ("MD1", "Mention-entity", "NodeKind")],
    ("TaxonIRIShape", "NodeKind"): [("T1", "TaxonIRIShape", "Pattern"), ("F1", "Figure-about", "NodeKind"),
                                    ("F1", "Figure-mentions", "NodeKind"), ("G1", "Gene-taxonomicRange", "NodeKind")],
}

BNODE = "_:b"  # every blank node, in every engine's results, is compared under this one label


def local(iri: str) -> str:
    return iri.strip("<>").rsplit("#", 1)[-1]


def short(component: str) -> str:
    return local(component).removesuffix("ConstraintComponent")


SHAPES = read_shapes()
SHAPE_BY_NAME = {local(s.iri): s for s in SHAPES}
CONSTRAINTS = [(local(s.iri), short(c.component)) for s in SHAPES for c in s.constraints]


# --- graphs ---------------------------------------------------------------------------------------------------------
def conforming_triples() -> list[ox.Triple]:
    return [q.triple for q in ox.parse(CONFORMING, format=ox.RdfFormat.TURTLE)]


class Graph:
    """A mutable set of triples (pyoxigraph terms), kept in insertion order."""

    def __init__(self, triples):
        self.triples = list(dict.fromkeys(triples))

    def values(self, node, path: str) -> list:
        if path.startswith("^"):
            p = ox.NamedNode(path[2:-1])
            return [t.subject for t in self.triples if t.predicate == p and t.object == node]
        p = ox.NamedNode(path[1:-1])
        return [t.object for t in self.triples if t.subject == node and t.predicate == p]

    def link(self, node, path: str, value) -> ox.Triple:
        if path.startswith("^"):
            return ox.Triple(value, ox.NamedNode(path[2:-1]), node)
        return ox.Triple(node, ox.NamedNode(path[1:-1]), value)

    def add(self, node, path: str, value) -> None:
        triple = self.link(node, path, value)
        if triple not in self.triples:
            self.triples.append(triple)

    def remove(self, node, path: str, value) -> None:
        self.triples.remove(self.link(node, path, value))

    def replace(self, node, path: str, old, new) -> None:
        self.remove(node, path, old)
        self.add(node, path, new)

    def drop_node(self, node) -> None:
        self.triples = [t for t in self.triples if node not in (t.subject, t.object)]

    def rename(self, node, new) -> None:
        def swap(term):
            return new if term == node else term
        self.triples = [ox.Triple(swap(t.subject), t.predicate, swap(t.object)) for t in self.triples]

    def types(self, node) -> set[str]:
        return {t.object.value for t in self.triples
                if t.subject == node and t.predicate.value == RDF_TYPE and isinstance(t.object, ox.NamedNode)}

    def ntriples(self) -> str:
        return ox.serialize(self.triples, format=ox.RdfFormat.N_TRIPLES).decode("utf-8")


# --- deriving one mutation per constraint ---------------------------------------------------------------------------
class NoCase(AssertionError):
    """No mutation can be derived for a constraint: add what it needs to the tables above."""


@dataclass
class Case:
    graph: Graph
    expected: set[tuple[str, str | None, str, str, str]]  # (focus, path, severity, shape, component)
    renamed: dict[str, str]


def node(name: str, renamed: dict[str, str] | None = None) -> ox.NamedNode:
    return ox.NamedNode((renamed or {}).get(name, N[name]))


def single_valued(graph: Graph, focus, path: str) -> bool:
    """Whether a shape applying to ``focus`` (by any of its classes) allows one value only on ``path``."""
    classes = {f"<{t}>" for t in graph.types(focus)}
    return any(s.target_class in classes and s.path == path
               and any(c.component == "MaxCountConstraintComponent" and c.param == 1 for c in s.constraints)
               for s in SHAPES)


def required_datatype(shape: Shape) -> str | None:
    for c in shape.constraints:
        if c.component == "DatatypeConstraintComponent":
            return str(c.param).strip("<>")
    return None


def parse_literal(nt: str) -> ox.Literal:
    return next(iter(ox.parse(f"<x:s> <x:p> {nt} .", format=ox.RdfFormat.N_TRIPLES))).object


def mutate(graph: Graph, shape: Shape, c: Constraint) -> tuple[str, dict[str, str]]:
    """Apply to ``graph`` the mutation violating ``c`` of ``shape``; returns the focus node's name and renamings."""
    name, kind = local(shape.iri), short(c.component)
    if shape.target_class.strip("<>") not in FOCUS:
        raise NoCase(f"{name}: no node of class {shape.target_class} in the conforming graph")
    focus_name, peer_name = FOCUS[shape.target_class.strip("<>")]
    focus, peer = node(focus_name), node(peer_name)

    if shape.path is None:  # an IRI-pattern node shape: the focus node itself is the value
        if kind == "NodeKind":
            graph.rename(focus, ox.BlankNode("b"))
            return focus_name, {focus_name: BNODE}
        if kind == "Pattern":
            if name not in BAD_IRI:
                raise NoCase(f"{name}: no badly formed IRI in BAD_IRI")
            assert not re.search(c.param[0], BAD_IRI[name]), "BAD_IRI must fail the pattern"
            graph.rename(focus, ox.NamedNode(BAD_IRI[name]))
            return focus_name, {focus_name: BAD_IRI[name]}
        raise NoCase(f"{name}: no mutation for {kind} on a node shape")

    path = shape.path
    values = graph.values(focus, path)
    first = values[0] if values else None
    needs_value = kind not in ("MinCount", "HasValue", "MaxCount")
    if needs_value and first is None:
        raise NoCase(f"{name}: the focus node {focus_name} has no value on {path} to mutate")

    def set_value(new) -> None:
        """Replace the first value when the path is single-valued, else add a value beside the others."""
        if single_valued(graph, focus, path):
            graph.replace(focus, path, first, new)
        else:
            graph.add(focus, path, new)

    if kind == "MinCount":
        if c.param != 1:
            raise NoCase(f"{name}: only sh:minCount 1 is supported")
        for value in values:
            graph.remove(focus, path, value)
            # a mention belongs to its figure: removing the links without the mentions would orphan them
            if not path.startswith("^") and PFOCR + "Mention" in graph.types(value):
                graph.drop_node(value)
    elif kind == "HasValue":
        graph.remove(focus, path, ox.NamedNode(str(c.param).strip("<>")))
    elif kind == "MaxCount":
        if (name, kind) == ("Figure-license", "MaxCount"):  # sh:in allows CC0 only: any second license is outside
            second = [ox.NamedNode("https://creativecommons.org/licenses/by/4.0/")]
        else:
            second = [v for v in graph.values(peer, path) if v not in values]
        if len(values) + len(second[:1]) != c.param + 1:
            raise NoCase(f"{name}: the peer {peer_name} has no second value on {path}")
        graph.add(focus, path, second[0])
    elif kind == "Datatype":
        make = WRONG_DATATYPE.get(str(c.param).strip("<>"))
        if make is None:
            raise NoCase(f"{name}: no wrong datatype known for {c.param}")
        graph.replace(focus, path, first, make(first.value))
    elif kind == "NodeKind":
        if c.param != f"<{SH}IRI>":
            raise NoCase(f"{name}: only sh:nodeKind sh:IRI is supported")
        set_value(ox.Literal(first.value))
    elif kind == "Class":
        cls = str(c.param).strip("<>")
        other = next((n for n in OTHER_CLASS_NODES if n != focus_name and cls not in graph.types(node(n))), None)
        if other is None:
            raise NoCase(f"{name}: no node of another class than {cls}")
        set_value(node(other))
    elif kind == "Pattern":
        regex, _flags = c.param
        bad = ox.Literal(" \t ") if regex == "\\S" else BAD_PATTERN_VALUE.get(name)
        if bad is None:
            raise NoCase(f"{name}: no value failing {regex!r} in BAD_PATTERN_VALUE")
        assert not re.search(regex, bad.value), "the bad value must fail the pattern"
        graph.replace(focus, path, first, bad)
    elif kind in ("MinInclusive", "MaxInclusive"):
        bound = parse_literal(str(c.param))
        datatype = required_datatype(shape) or bound.datatype.value
        shifted = Decimal(bound.value) + (-1 if kind == "MinInclusive" else 1)
        graph.replace(focus, path, first, ox.Literal(str(shifted), datatype=ox.NamedNode(datatype)))
    elif kind == "MinLength":
        graph.replace(focus, path, first, ox.Literal("x" * (c.param - 1)))
    elif kind == "In":
        iris = all(item.startswith("<") for item in c.param)
        graph.replace(focus, path, first,
                      ox.NamedNode("https://example.org/not-listed") if iris else ox.Literal("not-listed"))
    elif kind == "Not":
        graph.replace(focus, path, first, parse_literal(c.param[0]))
    else:
        raise NoCase(f"{name}: no mutation for {kind}")
    return focus_name, {}


def build_case(shape_name: str, kind: str) -> Case:
    shape = SHAPE_BY_NAME[shape_name]
    constraint = next(c for c in shape.constraints if short(c.component) == kind)
    graph = Graph(conforming_triples())
    focus_name, renamed = mutate(graph, shape, constraint)
    expected = {expected_key(focus_name, shape_name, kind, renamed)}
    expected |= {expected_key(n, s, k, renamed) for n, s, k in ALSO_TRIPPED.get((shape_name, kind), [])}
    return Case(graph, expected, renamed)


def expected_key(node_name: str, shape_name: str, kind: str, renamed: dict[str, str]):
    shape = SHAPE_BY_NAME[shape_name]
    focus = renamed.get(node_name, N[node_name])
    focus = focus if focus == BNODE else f"<{focus}>"
    return (focus, shape.path, shape.severity, shape.iri, f"<{SH}{kind}ConstraintComponent>")


# --- running the validators -----------------------------------------------------------------------------------
def normal(term: str | None) -> str | None:
    """A result term in canonical N-Triples form, every blank node under one label (each engine labels blank nodes
    its own way). Parsing first compares the terms themselves, not their spelling: see
    ``test_results_from_graph_gives_ntriples`` for the spelling."""
    if term is None or term.startswith("<"):
        return term
    if term.startswith("_:"):
        return BNODE
    parsed = next(iter(ox.parse(f"<x:s> <x:p> {term} .", format=ox.RdfFormat.TURTLE))).object
    return str(parsed)


def keys(results) -> set[tuple]:
    """Result keys with every blank node under one label (each engine labels blank nodes its own way)."""
    return {(r.severity, r.shape, r.component, normal(r.focus), r.path, normal(r.value)) for r in results}


def five(results) -> set[tuple]:
    """(focus, path, severity, shape, component) of each result."""
    return {(normal(r.focus), r.path, r.severity, r.shape, r.component) for r in results}


def difference(found: set, expected: set) -> str:
    return f"unexpected {sorted(found - expected)}, missing {sorted(expected - found)}"


@pytest.fixture(scope="session")
def shapes_graph() -> rdflib.Graph:
    return load_shapes()


# pySHACL adds these RDFS axioms to every shapes graph it is given; nothing else may change in a shared one.
PYSHACL_AXIOMS = {
    (rdflib.OWL.Class, rdflib.RDFS.subClassOf, rdflib.RDFS.Class),
    (rdflib.OWL.DatatypeProperty, rdflib.RDFS.subClassOf, rdflib.RDF.Property),
}


@pytest.fixture(scope="module")
def cached_shapes():
    """The shapes graph, loaded once for the mutation cases.

    ``validate()`` reads the shapes (``load_shapes``, pure: the same files give the same graph) once per call; for
    the many small graphs here that parsing is most of the time, so it is cached. The sample tests and the
    conforming-graph test run the engines unpatched.
    """
    import converter.validate.sources

    graph = load_shapes()
    pristine = set(graph)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(converter.validate.sources, "load_shapes", lambda style="slash", extra=(): graph
                   if style == "slash" and not extra else pytest.fail(f"unexpected shapes {style} {extra}"))
        yield graph
    assert pristine <= set(graph) and set(graph) - pristine <= PYSHACL_AXIOMS, "the shared shapes graph changed"


def run_all(nt: str, shacl: rdflib.Graph) -> dict[str, list]:
    """Results of both engines of :func:`validate` (in process) and of pySHACL, the reference, run directly on the
    whole graph."""
    store = ox.Store()
    store.load(nt, format=ox.RdfFormat.N_TRIPLES)
    found: dict[str, list | Exception] = {
        "pyshacl-direct": pyshacl_results(rdflib.Graph().parse(data=nt, format="nt"), shacl)}
    for engine in ENGINES:
        try:
            if engine == "stream":
                found[engine] = validate_file(nt).results
                continue
            found[engine] = validate(store=store, engine=engine, jobs=1).results
        except Exception as err:  # reported as the engine's disagreement, after the others
            found[engine] = err
    return found


def by_root(nt: str) -> str:
    """The lines of an N-Triples text with every root's lines together (figure and mentions, ...), as the converter
    writes its dumps: the layout the stream engine reads in blocks."""
    order: dict[str, int] = {}

    def root(line: str) -> int:
        key = line.split(" ", 1)[0].strip("<>").partition("#")[0]
        return order.setdefault(key, len(order))
    return "".join(sorted((line + "\n" for line in nt.splitlines() if line), key=root))


def validate_file(nt: str, layout=by_root, **options):
    """The stream engine on an N-Triples dump file of ``nt`` in the given layout."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder, "pfocr.nt")
        path.write_text(layout(nt), encoding="utf-8")
        return validate([str(path)], engine="stream", jobs=1, **options)


def check(results: dict, expected: set) -> None:
    """Every validator gives the expected results, and the engines' values agree with pySHACL's."""
    reference = results["pyshacl-direct"]
    problems = []
    for engine, found in results.items():
        if isinstance(found, Exception):
            problems.append(f"{engine} raised {type(found).__name__}: {found}")
        elif five(found) != expected:
            problems.append(f"{engine}: " + difference(five(found), expected))
        elif keys(found) != keys(reference):
            problems.append(f"{engine} disagrees with pySHACL on values: " + difference(keys(found), keys(reference)))
    assert not problems, "\n".join(problems)


# --- the tests ------------------------------------------------------------------------------------------------------
def test_conforming_graph_has_every_target_class():
    graph = Graph(conforming_triples())
    targets = {s.target_class.strip("<>") for s in SHAPES}
    for cls in targets:
        assert cls in FOCUS, f"no focus node for target class {cls}: add nodes of it to CONFORMING and FOCUS"
        for name in FOCUS[cls]:
            assert cls in graph.types(node(name)), f"{name} is not a {cls}"
    for name in N:
        assert graph.types(node(name)), f"{name} is not in the conforming graph"


def test_conforming_graph_has_no_results():
    check(run_all(Graph(conforming_triples()).ntriples(), load_shapes()), set())


def test_stream_engine_reads_blocks_and_falls_back_on_other_layouts():
    """A dump with each root's triples together is checked in blocks; one whose roots interleave, or that declares
    subclasses, is read into a store instead, with the same results."""
    graph = Graph(conforming_triples())
    focus, path = node("F1"), f"<{SCHEMA}caption>"
    graph.replace(focus, path, graph.values(focus, path)[0], ox.Literal("NA"))
    nt = graph.ntriples()
    streamed = validate_file(nt)
    assert streamed.engine == "stream" and streamed.figures == 2
    assert [(local(r.shape), short(r.component)) for r in streamed.results] == [("Figure-caption", "Not")]
    assert streamed.located == {str(focus): "PMC1__test-f1"}

    def interleaved(text: str) -> str:
        lines = by_root(text).splitlines(keepends=True)
        return "".join(lines[1::2] + lines[::2])
    fallback = validate_file(nt, interleaved)
    assert fallback.engine == "sparql" and fallback.results == streamed.results
    graph.triples.append(ox.Triple(ox.NamedNode(PFOCR + "GeneMention"), ox.NamedNode(RDFS_SUBCLASS),
                                   ox.NamedNode(PFOCR + "Mention")))
    declared = validate_file(graph.ntriples())
    assert declared.engine == "sparql" and declared.results == streamed.results


NODE_SHAPE_RULES = """@prefix sh: <http://www.w3.org/ns/shacl#> .
@prefix schema: <https://schema.org/> .
<urn:my:FigureNode> a sh:NodeShape ; sh:targetClass schema:ImageObject ; sh:message "Our own figure rule." ;
    sh:nodeKind sh:IRI ; sh:class schema:Dataset ; sh:minLength 60 ;
    sh:in ( <https://pfocr.wikipathways.org/figures/PMC1__test-f1.html> ) .
"""


def test_value_constraints_on_node_shapes_agree_with_pyshacl(tmp_path):
    """A node shape of the user's own may use any value constraint: its focus node is the value. Both engines give
    pySHACL's results (here sh:in fails on the second figure, and sh:minLength on both: their IRIs are shorter)."""
    rules = tmp_path / "mine.ttl"
    rules.write_text(NODE_SHAPE_RULES, encoding="utf-8")
    nt = Graph(conforming_triples()).ntriples()
    store = ox.Store()
    store.load(nt, format=ox.RdfFormat.N_TRIPLES)
    reference = pyshacl_results(rdflib.Graph().parse(data=nt, format="nt"), load_shapes("slash", [str(rules)]))
    assert {(short(r.component), r.focus, r.value) for r in reference} == {
        ("In", f"<{N['F2']}>", f"<{N['F2']}>"), *(("MinLength", f"<{N[f]}>", f"<{N[f]}>") for f in ("F1", "F2"))}
    assert validate(store=store, engine="sparql", shapes=[str(rules)]).results == reference
    assert validate_file(nt, shapes=[str(rules)]).results == reference


@pytest.mark.parametrize("rule", ["sh:minCount 1", "sh:maxCount 1", "sh:hasValue schema:Dataset"])
def test_focus_constraints_on_node_shapes_are_refused(rule, tmp_path):
    """A node shape has no path, so nothing to count (SHACL calls such a shape ill-formed); sh:hasValue on a node
    shape is not supported. Reading the shapes refuses them, for both engines alike, naming the shape."""
    rules = tmp_path / "mine.ttl"
    rules.write_text("@prefix sh: <http://www.w3.org/ns/shacl#> .\n@prefix schema: <https://schema.org/> .\n"
                     f"<urn:my:Bad> a sh:NodeShape ; sh:targetClass schema:ImageObject ; {rule} .\n", encoding="utf-8")
    refused = r"^<urn:my:Bad>: \w+ConstraintComponent on a node shape is not supported$"
    with pytest.raises(ValidationError, match=refused):
        read_shapes(extra=[str(rules)])


def test_every_constraint_has_a_case():
    """Fails for any constraint in shapes/ without a mutation, and for stale entries in the tables above."""
    missing = []
    for shape_name, kind in CONSTRAINTS:
        try:
            case = build_case(shape_name, kind)
        except NoCase as err:
            missing.append(str(err))
            continue
        assert any(k[3] == SHAPE_BY_NAME[shape_name].iri and short(k[4]) == kind for k in case.expected)
    assert not missing, "constraints without a case:\n" + "\n".join(missing)
    assert len(CONSTRAINTS) == len(set(CONSTRAINTS)) > 150
    known = set(CONSTRAINTS)
    assert set(ALSO_TRIPPED) <= known
    assert {(s, k) for extras in ALSO_TRIPPED.values() for _, s, k in extras} <= known
    assert set(BAD_PATTERN_VALUE) | set(BAD_IRI) <= set(SHAPE_BY_NAME)


@pytest.mark.parametrize("shape_name,kind", CONSTRAINTS, ids=[f"{s}-{k}" for s, k in CONSTRAINTS])
def test_mutation_violates_exactly_its_constraint(shape_name, kind, cached_shapes):
    case = build_case(shape_name, kind)
    check(run_all(case.graph.ntriples(), cached_shapes), case.expected)


def test_engines_give_result_values_in_ntriples_form():
    """Result terms are in N-Triples form whichever engine found them, so reports of different engines compare equal:
    a caption with a line break and a tab must come back escaped, as N-Triples writes it."""
    graph = Graph(conforming_triples())
    focus, path = node("F1"), f"<{SCHEMA}caption>"
    graph.replace(focus, path, graph.values(focus, path)[0], ox.Literal("line one\n\tline two", language="en"))
    store = ox.Store()
    store.load(graph.ntriples(), format=ox.RdfFormat.N_TRIPLES)
    by_engine = {"sparql": validate(store=store, engine="sparql").results,
                 "stream": validate_file(graph.ntriples()).results,
                 "pyshacl": pyshacl_results(rdflib.Graph().parse(data=graph.ntriples(), format="nt"))}
    for engine, results in by_engine.items():
        assert [(local(r.shape), short(r.component)) for r in results] == [("Figure-caption", "Datatype")], engine
        value = results[0].value
        assert value == '"line one\\n\\tline two"@en', f"{engine}: {value!r} is not N-Triples"
    assert by_engine["stream"] == by_engine["sparql"] == by_engine["pyshacl"]


def _retype(name: str, path: str, lexical: str, datatype: str | None = None, language: str | None = None):
    """Replace the first value of ``name`` on ``path`` by a literal."""
    def change(graph: Graph) -> None:
        focus = node(name)
        new = ox.Literal(lexical, datatype=ox.NamedNode(XSD + datatype) if datatype else None, language=language)
        graph.replace(focus, path, graph.values(focus, path)[0], new)
    return change


def _add(name: str, path: str, lexical: str, datatype: str):
    return lambda graph: graph.add(node(name), path, ox.Literal(lexical, datatype=ox.NamedNode(XSD + datatype)))


def _typed_by_subclass(graph: Graph) -> None:
    """The gene mention typed pfocr:GeneMention only, with the vocabulary's ``pfocr:GeneMention rdfs:subClassOf
    pfocr:Mention`` (converter/data/vocab.ttl) in the data, and a sentinel word: SHACL targets it as a Mention."""
    mention, word = node("MG1"), f"<{PFOCR}word>"
    graph.triples.remove(ox.Triple(mention, ox.NamedNode(RDF_TYPE), ox.NamedNode(PFOCR + "Mention")))
    graph.triples.append(ox.Triple(ox.NamedNode(PFOCR + "GeneMention"), ox.NamedNode(RDFS_SUBCLASS),
                                   ox.NamedNode(PFOCR + "Mention")))
    graph.replace(mention, word, graph.values(mention, word)[0], ox.Literal("NA"))


def _value_typed_by_subclass(graph: Graph) -> None:
    """The human taxon typed with a subclass of schema:Taxon declared in the data: it is a schema:Taxon."""
    taxon, species = node("T1"), ox.NamedNode("https://example.org/Species")
    graph.triples.remove(ox.Triple(taxon, ox.NamedNode(RDF_TYPE), ox.NamedNode(SCHEMA + "Taxon")))
    graph.triples += [ox.Triple(taxon, ox.NamedNode(RDF_TYPE), species),
                      ox.Triple(species, ox.NamedNode(RDFS_SUBCLASS), ox.NamedNode(SCHEMA + "Taxon"))]


RDFS_SUBCLASS = "http://www.w3.org/2000/01/rdf-schema#subClassOf"
RANK, SCORE, DATE = f"<{PFOCR}pmcRankedResultIndex>", f"<{PFOCR}pathwayScore>", f"<{SCHEMA}datePublished>"
EDGE_CASES = {
    "ill-typed-integer": _retype("F1", RANK, "abc", "integer"),
    "integer-with-fraction": _retype("F1", RANK, "1.5", "integer"),
    "integer-with-space": _retype("F1", RANK, " 12", "integer"),
    "decimal-with-exponent": _retype("F1", SCORE, "1E-1", "decimal"),
    "gyear-with-month": _retype("A1", DATE, "2020-01", "gYear"),
    "decimal-spelled-twice": _add("F1", SCORE, "0.970", "decimal"),  # two terms, one value: sh:maxCount counts terms
    "double-out-of-range": _retype("F1", SCORE, "2", "double"),
    "sentinel-with-language": _retype("F1", f"<{SCHEMA}name>", "NA", language="en"),
    "no-break-space-title": _retype("F1", f"<{SCHEMA}name>", "\u00a0"),
    "empty-word-with-language": _retype("MG1", f"<{PFOCR}word>", "", language="en"),
    "focus-typed-by-subclass": _typed_by_subclass,
    "value-typed-by-subclass": _value_typed_by_subclass,
}


# Literals the converter never writes, where the engines knowingly differ from pySHACL run directly: per case, the
# reason, and per engine exactly how its results differ (results it has and pySHACL has not, and the reverse, by
# constraint component). Any other difference, an exception in any engine, or an engine that starts to agree fails
# the test, so this table shrinks or grows only by hand (README, "Validating").
DATATYPE, MAX_COUNT = "DatatypeConstraintComponent", "MaxCountConstraintComponent"
MIN_INCLUSIVE, MAX_INCLUSIVE = "MinInclusiveConstraintComponent", "MaxInclusiveConstraintComponent"
KNOWN_DIVERGENCES: dict[str, tuple[str, dict[str, set[tuple[str, str]]]]] = {
    "decimal-spelled-twice": ("Oxigraph stores decimals by value, so \"0.97\" and \"0.970\" become one term on load "
                              "and the SPARQL engine sees one value where pySHACL sees two",
                              {"sparql": {("missing", MAX_COUNT)}}),
    "decimal-with-exponent": ("XSD decimals have no exponent; rdflib (under pySHACL) accepts \"1E-1\" anyway",
                              {e: {("extra", DATATYPE), ("extra", MIN_INCLUSIVE), ("extra", MAX_INCLUSIVE)}
                               for e in ENGINES}),
    "gyear-with-month": ("\"2020-01\" is not an XSD gYear; rdflib (under pySHACL) accepts it anyway",
                         {e: {("extra", DATATYPE)} for e in ENGINES}),
    "double-out-of-range": ("rdflib rewrites \"2\"^^xsd:double as \"2.0\", so pySHACL reports another spelling of "
                            "the same value (the same results, with the value written differently)",
                            {e: {(side, c) for side in ("extra", "missing") for c in (DATATYPE, MAX_INCLUSIVE)}
                             for e in ENGINES}),
    "integer-with-space": ("Oxigraph does not collapse whitespace before comparing \" 12\"^^xsd:integer, so the "
                           "SPARQL engine reports sh:minInclusive where pySHACL does not",
                           {"sparql": {("extra", MIN_INCLUSIVE)}}),
}


def _component(key: tuple) -> str:
    return key[2].strip("<>").rsplit("#", 1)[-1]


@pytest.mark.parametrize("case", sorted(EDGE_CASES))
def test_engines_agree_with_pyshacl_on_edge_cases(case, cached_shapes):
    """Beyond one violation per constraint: unusual literals and RDFS subclasses in the data. Whatever pySHACL run
    directly on the whole graph reports, every engine reports too (terms compared as written, blank nodes aside),
    but for the documented divergences, which must stay exactly as documented."""
    graph = Graph(conforming_triples())
    EDGE_CASES[case](graph)
    results = run_all(graph.ntriples(), cached_shapes)
    reference = keys(results["pyshacl-direct"])
    expected = KNOWN_DIVERGENCES.get(case, ("", {}))[1]
    problems = []
    for engine, found in results.items():
        if isinstance(found, Exception):
            problems.append(f"{engine} raised {found!r}")
            continue
        diff = {("extra", _component(k)) for k in keys(found) - reference} | {
            ("missing", _component(k)) for k in reference - keys(found)}
        if diff != expected.get(engine, set()):
            problems.append(f"{engine}: differs from pySHACL by {sorted(diff)}, documented "
                            f"{sorted(expected.get(engine, set()))}: " + difference(keys(found), reference))
    assert not problems, "\n".join(problems)


# --- the shapes themselves ------------------------------------------------------------------------------------------
def test_shapes_are_valid_shacl():
    shapes_graph = load_shapes()
    shacl_shacl = rdflib.Graph().parse(
        str(resources.files("pyshacl").joinpath("assets", "shacl-shacl.ttl")), format="turtle")
    conforms, _report, text = pyshacl.validate(shapes_graph, shacl_graph=shacl_shacl, inference="none")
    assert conforms, text


def test_shacl_shacl_catches_a_broken_shape(shapes_graph):
    """The check above is not vacuous: a shape with a malformed sh:minCount fails it."""
    shacl_shacl = rdflib.Graph().parse(
        str(resources.files("pyshacl").joinpath("assets", "shacl-shacl.ttl")), format="turtle")
    broken = rdflib.Graph()
    for triple in shapes_graph:
        broken.add(triple)
    broken.add((rdflib.URIRef(PFSH + "Figure-name"), rdflib.URIRef(SH + "minCount"), rdflib.Literal("one")))
    conforms, _report, _text = pyshacl.validate(broken, shacl_graph=shacl_shacl, inference="none")
    assert not conforms


def test_every_shape_is_documented(shapes_graph):
    sh = rdflib.Namespace(SH)
    node_shapes = set(shapes_graph.subjects(rdflib.RDF.type, sh.NodeShape))
    property_shapes = set(shapes_graph.subjects(rdflib.RDF.type, sh.PropertyShape))
    property_shapes |= set(shapes_graph.objects(None, sh.property))
    assert len(node_shapes) >= 15 and len(property_shapes) >= 50
    undocumented = [s for s in sorted(node_shapes | property_shapes)
                    if not any(str(text).strip() for p in (sh.message, rdflib.RDFS.comment)
                               for text in shapes_graph.objects(s, p))]
    assert not undocumented, f"shapes without sh:message or rdfs:comment: {undocumented}"
    # every shape read_shapes() returns is one of those (no shape hides in a blank node)
    assert {s.iri for s in SHAPES} == {f"<{s}>" for s in node_shapes | property_shapes}


def test_shape_names_follow_their_target_and_path():
    """Property shapes are named {Class}-{what}: a typo in a name would point curators to the wrong place."""
    for shape in SHAPES:
        name = local(shape.iri)
        if shape.path is None:
            assert name.endswith("Shape"), name
        else:
            owner = next(s for s in SHAPES if s.path is None and s.target_class == shape.target_class
                         and not local(s.iri).endswith("IRIShape"))
            assert name.startswith(local(owner.iri).removesuffix("Shape") + "-"), name


def test_identifier_shapes_file_is_up_to_date():
    committed = (Path(__file__).resolve().parent.parent / "shapes" / "identifiers.ttl").read_text(encoding="utf-8")
    assert committed == identifier_shapes(), \
        "regenerate it: python -m converter.validate.sources > shapes/identifiers.ttl"


# Ids each namespace's Bioregistry pattern accepts, and some it rejects (the converter must not mint those).
VALID_IDS = {
    "ncbigene": ["7099", "1", "100500000"],
    "mesh": ["D005947", "C000589078", "Q000000981", "mesh:D009369"],
    "chebi": ["15422", "CHEBI:15422", "chebi:17234"],
    "doid": ["162", "DOID:9352", "doid:0060239"],
    "ncbitaxon": ["9606", "10090", "2697049"],
    "pmc": ["PMC1", "PMC7957022"],
}
INVALID_IDS = {
    "ncbigene": ["TLR4", "7099a", "-1", "7 099"],
    "mesh": ["D0019x", "X005947", "d005947", "005947"],
    "chebi": ["ATP", "CHEBI:ATP", "15422.1"],
    "doid": ["DOID:", "cancer", "DOID_162"],
    "ncbitaxon": ["9606x", "Homo sapiens", "9606.1"],
    "pmc": ["1234", "PMC", "PMCX1", "pmc:"],
}
# Which node shape's pattern an IRI minted in each namespace must match.
IRI_SHAPE = {"ncbigene": "GeneIRIShape", "mesh": "ChemicalIRIShape", "chebi": "ChemicalIRIShape",
             "doid": "DiseaseIRIShape", "ncbitaxon": "TaxonIRIShape", "pmc": "ArticleIRIShape"}
MESH_DISEASE = "DiseaseIRIShape"  # MeSH names diseases too


def iri_pattern(shape_name: str) -> str:
    shape = SHAPE_BY_NAME[shape_name]
    return next(c.param[0] for c in shape.constraints if short(c.component) == "Pattern")


@pytest.mark.parametrize("prefix", sorted(VALID_IDS))
def test_iri_patterns_accept_minted_iris(prefix):
    shapes = [IRI_SHAPE[prefix]] + ([MESH_DISEASE] if prefix == "mesh" else [])
    for value in VALID_IDS[prefix]:
        assert registry.normalize(prefix, value) is not None, f"{value!r} should be a valid {prefix} id"
        iri = registry.iri(prefix, value)
        for shape_name in shapes:
            assert re.search(iri_pattern(shape_name), iri), f"{shape_name} rejects the minted {iri}"


@pytest.mark.parametrize("prefix", sorted(INVALID_IDS))
def test_iri_patterns_reject_iris_of_invalid_ids(prefix):
    for value in INVALID_IDS[prefix]:
        assert registry.normalize(prefix, value) is None, f"{value!r} should not be a valid {prefix} id"
        # the IRI the converter would mint if it did not check the id
        iri = registry.local_id_prefix(prefix) + iri_escape(value)
        assert not re.search(iri_pattern(IRI_SHAPE[prefix]), iri), f"{IRI_SHAPE[prefix]} accepts {iri}"


def test_every_id_the_registry_accepts_gets_an_iri_the_shapes_accept():
    """The registry checks ids with Python regular expressions; the shapes must accept every IRI minted from an id
    it accepts, including ids written with non-ASCII digits (Python's ``\\d`` matches any Unicode digit)."""
    tricky = {"ncbigene": ["\u0667\u0660\u0669\u0669", "\uff17\uff10\uff19\uff19"],  # Arabic-Indic, full-width 7099
              "mesh": ["D\u0660\u0660\u0665\u0669\u0664\u0667"],
              "chebi": ["\u0661\u0665\u0664\u0662\u0662"],
              "doid": ["\u0661\u0666\u0662"],
              "ncbitaxon": ["\u0669\u0666\u0660\u0666"],
              "pmc": ["PMC\u0661"]}
    minted = {}
    for prefix, values in tricky.items():
        for value in values:
            if registry.normalize(prefix, value) is not None:
                minted[(prefix, value)] = registry.iri(prefix, value)
    rejected = {key: iri for key, iri in minted.items() if not re.search(iri_pattern(IRI_SHAPE[key[0]]), iri)}
    assert not rejected, f"ids the registry accepts, minted into IRIs the shapes reject: {rejected}"


def test_figure_iri_pattern_matches_the_converter_figid_rule():
    pattern = iri_pattern("FigureIRIShape")
    for figid in ["PMC1__test-f1", "PMC7957022__fcell-09-641469-g005", "PMC1298938__ppat.0010039.g007",
                  "PMC1__a~b!c$d&e'f(g)h*i+j,k;l=m:n@o"]:
        assert re.search(pattern, FIG + figid + ".html"), figid
    for figid in ["PMC1 test", "PMC1/test", "PMC1%20test", "PMC1?x", "PMC1#x", "PMC1__\u00e9", ""]:
        assert not re.search(pattern, FIG + figid + ".html"), figid
