"""RDF formats by name: the one place for their names, aliases, file names, media types and Oxigraph formats.

Every command takes the same names, and the same aliases, wherever it asks for an RDF format::

    >>> from converter.rdf.formats import rdf_format
    >>> rdf_format("turtle"), rdf_format("ttl"), rdf_format("N-Triples")
    ('ttl', 'ttl', 'nt')
"""

from __future__ import annotations

import os
from collections.abc import Iterable

import pyoxigraph as ox

# jsonl: JSON Lines, one JSON-LD document per figure (docs/json.md), for JSON tools rather than RDF ones
FORMATS = ("ttl", "nt", "nq", "jsonld", "jsonl")  # the dumps, in the order a build writes them
ALIASES = {"turtle": "ttl", "ntriples": "nt", "n-triples": "nt", "nquads": "nq", "n-quads": "nq",
           "json-ld": "jsonld", "json-lines": "jsonl", "ndjson": "jsonl"}
FILE_NAMES = {fmt: f"pfocr.{fmt}" for fmt in FORMATS}
MEDIA_TYPES = {"ttl": "text/turtle", "nt": "application/n-triples", "nq": "application/n-quads",
               "jsonld": "application/ld+json", "jsonl": "application/x-ndjson"}
OXIGRAPH = {"ttl": ox.RdfFormat.TURTLE, "nt": ox.RdfFormat.N_TRIPLES, "nq": ox.RdfFormat.N_QUADS,
            "jsonld": ox.RdfFormat.JSON_LD}
# The dumps that are read back (loaded, validated, published): pfocr.jsonld holds the graph pfocr.jsonl does
EXTENSIONS = {f".{fmt}": fmt for fmt in OXIGRAPH}
CONTEXT_FILE = "context.jsonld"  # written beside pfocr.jsonld and pfocr.jsonl, which refers to it

# Query answers, by media type (content negotiation of the SPARQL protocol) and by the short names of --format
RESULT_TYPES = {  # media type -> pyoxigraph format, for SELECT and ASK
    "application/sparql-results+json": ox.QueryResultsFormat.JSON,
    "application/json": ox.QueryResultsFormat.JSON,
    "application/sparql-results+xml": ox.QueryResultsFormat.XML,
    "application/xml": ox.QueryResultsFormat.XML,
    "text/csv": ox.QueryResultsFormat.CSV,
    "text/tab-separated-values": ox.QueryResultsFormat.TSV,
}
BOOLEAN_TYPES = ("application/sparql-results+json", "application/json", "application/sparql-results+xml",
                 "application/xml")
GRAPH_TYPES = {  # media type -> pyoxigraph format, for CONSTRUCT and DESCRIBE
    "text/turtle": ox.RdfFormat.TURTLE,
    "application/n-triples": ox.RdfFormat.N_TRIPLES,
    "application/ld+json": ox.RdfFormat.JSON_LD,
    "application/rdf+xml": ox.RdfFormat.RDF_XML,
    "application/n-quads": ox.RdfFormat.N_QUADS,
    "text/plain": ox.RdfFormat.N_TRIPLES,
}
RESULT_NAMES = {"json": "application/sparql-results+json", "xml": "application/sparql-results+xml", "csv": "text/csv",
                "tsv": "text/tab-separated-values"}


def spelled(formats: Iterable[str] = FORMATS) -> str:
    """The accepted names of ``formats``, for messages: ``ttl (turtle), nt (ntriples), ...``."""
    return ", ".join(f"{fmt} ({', '.join(a for a, f in ALIASES.items() if f == fmt)})" for fmt in formats)


def rdf_format(name: str) -> str:
    """The canonical name (``ttl``, ``nt``, ``nq``, ``jsonld``, ``jsonl``) of a format name or alias, in any case."""
    key = name.strip().lower()
    if key in MEDIA_TYPES:
        return key
    if key in ALIASES:
        return ALIASES[key]
    raise ValueError(f"{name!r} is not an RDF format; choose from {spelled()}")


def of_file(path: str) -> str | None:
    """The format of a dump file by its extension, or None."""
    return EXTENSIONS.get(os.path.splitext(path)[1].lower())
