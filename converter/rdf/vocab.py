"""IRIs of the terms the converter writes. The project's own terms are defined in ``data/vocab.ttl``."""

from __future__ import annotations

import json
from importlib import resources
from typing import Any, NamedTuple

RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"
XSD = "http://www.w3.org/2001/XMLSchema#"
SCHEMA = "https://schema.org/"
PFOCR = "https://pfocr.wikipathways.org/vocab#"
SITE = "https://pfocr.wikipathways.org/"
FIGURES = SITE + "figures/"
DATASET = SITE + "dataset"
GRAPH = SITE + "graph"
CC0 = "https://creativecommons.org/publicdomain/zero/1.0/"
PMC_SITE = "https://www.ncbi.nlm.nih.gov"
NDEX_NETWORK = "https://www.ndexbio.org/viewer/networks/"
DOI_RESOLVER = "https://doi.org/"



class Term(NamedTuple):
    """How the JSON-LD context writes a property: its short name, the type its values are coerced to (``@id`` or
    a datatype IRI; None: strings), and whether it holds a set of values (written as an array even when one)."""

    name: str
    coerce: str | None
    many: bool


def _load_context() -> dict[str, Any]:
    text = resources.files("converter.data").joinpath("context.jsonld").read_text(encoding="utf-8")
    context: dict[str, Any] = json.loads(text)["@context"]
    return context


CONTEXT = _load_context()  # data/context.jsonld: the prefixes, and a short name for every term the mapping uses
# JSON-LD's own rule: a plain entry whose IRI ends in '/' or '#' is a prefix; the others are terms
PREFIXES = {key: value for key, value in CONTEXT.items() if isinstance(value, str) and value[-1:] in ("/", "#")}


def _expand(curie: str) -> str:
    prefix, _, local = curie.partition(":")
    return PREFIXES[prefix] + local if prefix in PREFIXES else curie


def _terms() -> tuple[dict[str, Term], dict[str, str]]:
    properties: dict[str, Term] = {}
    classes: dict[str, str] = {}
    for name, value in CONTEXT.items():
        if name in PREFIXES:
            continue
        if isinstance(value, str):  # a class or a plain text property: schema.org classes start upper-case
            if name[:1].isupper():
                classes[_expand(value)] = name
            else:
                properties[_expand(value)] = Term(name, None, False)
            continue
        coerce = value.get("@type")
        properties[_expand(value["@id"])] = Term(name, _expand(coerce) if coerce and coerce != "@id" else coerce,
                                                 value.get("@container") == "@set")
    return properties, classes


# Property IRI -> Term and class IRI -> short name, read from the context so that it stays the one list of terms
TERMS, CLASSES = _terms()


def schema(name: str) -> str:
    return SCHEMA + name


def pfocr(name: str) -> str:
    return PFOCR + name


def xsd(name: str) -> str:
    return XSD + name
