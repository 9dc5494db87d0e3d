"""The two forms a term takes in validation, and the conversions between them.

Results and shape parameters hold terms as N-Triples text, written by the one formatter
(:func:`converter.rdf.terms.nt_term`) whether a term came from pyoxigraph, rdflib or a dump, so that the results of
both engines (and of pySHACL, which the tests compare them with) are equal as plain strings and sort the same way.
The streaming test reads terms of :mod:`converter.rdf` (IRIs as ``str``, blank nodes as ``"_:label"`` strings,
literals as :class:`converter.rdf.Literal`): that is what the fast N-Triples line reader gives, and building
pyoxigraph objects for every triple of a dump would cost more than the checks themselves.

    >>> nt_of_ox(ox.Literal("12", datatype=ox.NamedNode("http://www.w3.org/2001/XMLSchema#integer")))
    '"12"^^<http://www.w3.org/2001/XMLSchema#integer>'
    >>> parse_nt('"NA"')
    Literal(lexical='NA', datatype=None, language=None)
"""

from __future__ import annotations

import functools
import re
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING

import pyoxigraph as ox

from ..rdf.terms import XSD_STRING, Literal, Term, nt_term
from ..rdf.vocab import XSD

if TYPE_CHECKING:
    from rdflib.term import Node

SH = "http://www.w3.org/ns/shacl#"
SUBCLASS = "http://www.w3.org/2000/01/rdf-schema#subClassOf"

OxTerm = ox.NamedNode | ox.BlankNode | ox.Literal | ox.Triple  # a term as pyoxigraph gives it

# Lexical forms of the datatypes the shapes use: an ill-typed literal fails sh:datatype, as in pySHACL, and compares
# with nothing. Surrounding whitespace is allowed: these datatypes collapse it (XSD whiteSpace facet), as pySHACL does.
LEXICAL = {
    XSD + "integer": r"^\s*[+-]?[0-9]+\s*$",
    XSD + "decimal": r"^\s*[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)\s*$",
    XSD + "gYear": r"^\s*-?[0-9]{4,}(Z|[+-][0-9]{2}:[0-9]{2})?\s*$",
    XSD + "double": r"^\s*([+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?|[+-]?INF|NaN)\s*$",
    XSD + "float": r"^\s*([+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?|[+-]?INF|NaN)\s*$",
}
_NUMERIC = {XSD + t for t in ("integer", "decimal", "double", "float", "int", "long", "short", "byte",
                              "nonNegativeInteger", "positiveInteger", "negativeInteger", "nonPositiveInteger",
                              "unsignedInt", "unsignedLong", "unsignedShort", "unsignedByte")}


def nt_of_ox(term: OxTerm) -> str:
    """N-Triples text of a pyoxigraph term, by :func:`converter.rdf.terms.nt_term` (a quoted triple, which only a
    store can hold, in pyoxigraph's own form)."""
    return str(term) if isinstance(term, ox.Triple) else nt_term(from_ox(term))


def nt_of_rdflib(term: Node | None) -> str:
    """N-Triples text of an rdflib term (the shapes graph is read with rdflib), by the same formatter."""
    return nt_term(from_rdflib(term))


def from_rdflib(term: Node | None) -> Term:
    """An rdflib term as a :mod:`converter.rdf` term."""
    import rdflib

    if isinstance(term, rdflib.Literal):
        return Literal(str(term), str(term.datatype) if term.datatype else None, term.language or None)
    if isinstance(term, rdflib.BNode):
        return f"_:{term}"
    return str(term)


def from_ox(term: OxTerm) -> Term:
    """A pyoxigraph term as a :mod:`converter.rdf` term (xsd:string literals without a datatype, as the reader gives
    them)."""
    if isinstance(term, ox.NamedNode):
        return term.value
    if isinstance(term, ox.BlankNode):
        return "_:" + term.value
    if isinstance(term, ox.Triple):
        raise ValueError(f"a quoted triple is not a term validation reads: {term}")
    if term.language:
        return Literal(term.value, None, term.language)
    datatype = term.datatype.value
    return Literal(term.value, None if datatype == XSD_STRING else datatype)


def parse_nt(text: str) -> Term:
    """A term in N-Triples form (a shape parameter) as a :mod:`converter.rdf` term."""
    if text.startswith("<"):
        return text[1:-1]
    for triple in ox.parse(f"<x:s> <x:p> {text} .", format=ox.RdfFormat.N_TRIPLES):
        return from_ox(triple.object)
    raise ValueError(text)


@functools.lru_cache(maxsize=1 << 16)  # scores and ranks repeat across figures
def number(term: Term) -> Decimal | None:
    """The value of a numeric literal, or None for any other term and for an ill-typed literal (which compares with
    nothing, as in SPARQL)."""
    if not isinstance(term, Literal) or term.datatype not in _NUMERIC:
        return None
    datatype = term.datatype
    integral = "nteger" in datatype or datatype.endswith(("long", "short", "byte", "int"))
    lexical = LEXICAL.get(datatype, LEXICAL[XSD + "integer"] if integral else None)
    if lexical is not None and re.search(lexical, term.lexical) is None:
        return None
    try:
        value = Decimal(term.lexical.strip().replace("INF", "Infinity"))
    except InvalidOperation:
        return None
    return None if value.is_nan() else value
