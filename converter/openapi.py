"""The OpenAPI description of the endpoint: /sparql and every canned query of ``queries/`` as a resource."""

from __future__ import annotations

from typing import TYPE_CHECKING

from . import __version__

if TYPE_CHECKING:
    from .server import Endpoint

_RESULTS = {
    "application/sparql-results+json": {"schema": {"type": "object"}},
    "application/sparql-results+xml": {"schema": {"type": "string"}},
    "text/csv": {"schema": {"type": "string"}},
    "text/tab-separated-values": {"schema": {"type": "string"}},
}
_SCHEMA_OF = {"string": {"type": "string"}, "strings": {"type": "string", "description": "comma-separated"},
              "iri": {"type": "string", "format": "iri"}, "iris": {"type": "string", "description": "comma-separated"},
              "integer": {"type": "integer"}}


def openapi_document(endpoint: "Endpoint") -> dict:
    """An OpenAPI 3.0 document for ``endpoint`` (its canned queries are read from their headers)."""
    errors = {"400": {"description": "malformed query or parameter"},
              "503": {"description": "the query ran out of time or its result is over the size limit"}}
    paths: dict = {
        "/sparql": {
            "get": {
                "summary": "SPARQL 1.1 query (SPARQL 1.1 Protocol)",
                "parameters": [
                    {"name": "query", "in": "query", "required": True, "schema": {"type": "string"}},
                    {"name": "default-graph-uri", "in": "query", "schema": {"type": "array",
                                                                            "items": {"type": "string"}}},
                    {"name": "named-graph-uri", "in": "query", "schema": {"type": "array",
                                                                          "items": {"type": "string"}}},
                ],
                "responses": {"200": {"description": "query results", "content": _RESULTS}, **errors},
            },
            "post": {
                "summary": "SPARQL 1.1 query or update (form or direct POST)",
                "requestBody": {"content": {
                    "application/sparql-query": {"schema": {"type": "string"}},
                    "application/sparql-update": {"schema": {"type": "string"}},
                    "application/x-www-form-urlencoded": {"schema": {"type": "object", "properties": {
                        "query": {"type": "string"}, "update": {"type": "string"}}}},
                }},
                "responses": {"200": {"description": "query results", "content": _RESULTS},
                              "204": {"description": "update done"},
                              "403": {"description": "updates on a read-only endpoint"}, **errors},
            },
        },
    }
    for q in endpoint.queries.values():
        paths[f"/queries/{q.name}"] = {"get": {
            "operationId": q.name.replace("-", "_"),
            "summary": q.title,
            "description": q.description,
            "parameters": [{"name": p.name, "in": "query", "required": False, "description": p.description,
                            "schema": {**_SCHEMA_OF[p.type], "default": p.default}} for p in q.params],
            "responses": {"200": {"description": "query results", "content": _RESULTS}, **errors},
        }}
    return {
        "openapi": "3.0.3",
        "info": {"title": "PFOCR linked data", "version": __version__,
                 "description": "SPARQL 1.1 endpoint and canned queries over Pathway Figure OCR as linked data."},
        "paths": paths,
    }
