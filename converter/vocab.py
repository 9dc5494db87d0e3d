"""IRIs of the terms the converter writes. The project's own terms are defined in ``data/vocab.ttl``."""

from __future__ import annotations

import json
from importlib import resources

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



def _load_prefixes() -> dict[str, str]:
    text = resources.files("converter.data").joinpath("context.jsonld").read_text(encoding="utf-8")
    return dict(json.loads(text)["@context"])


# Prefixes written in Turtle and in the JSON-LD context: one map, kept in data/context.jsonld.
PREFIXES = _load_prefixes()


def schema(name: str) -> str:
    return SCHEMA + name


def pfocr(name: str) -> str:
    return PFOCR + name


def xsd(name: str) -> str:
    return XSD + name
