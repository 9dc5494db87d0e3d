"""The OpenAPI description of the endpoint: /sparql, every canned query of ``queries/`` as a resource, and the pages."""

from __future__ import annotations

from typing import Any

from .. import __version__
from ..store.queries import CannedQuery, Param

_TEXT = {"schema": {"type": "string"}}
_RESULTS = {
    "application/sparql-results+json": {"schema": {"type": "object", "properties": {
        "head": {"type": "object"}, "results": {"type": "object"}, "boolean": {"type": "boolean"}}}},
    "application/sparql-results+xml": _TEXT,
    "text/csv": _TEXT,
    "text/tab-separated-values": _TEXT,
}
_GRAPHS = {
    "text/turtle": _TEXT,
    "application/n-triples": _TEXT,
    "application/ld+json": {"schema": {"type": "object"}},
    "application/rdf+xml": _TEXT,
    "application/n-quads": _TEXT,
}
_SCHEMA_OF = {"string": {"type": "string"},
              "strings": {"type": "string", "description": "comma-separated list"},
              "iri": {"type": "string", "format": "iri"},
              "iris": {"type": "string", "description": "comma-separated list of IRIs"},
              "integer": {"type": "integer"}}
_MESSAGE = {"text/plain": _TEXT}


def _error(description: str) -> dict[str, Any]:
    return {"description": description, "content": _MESSAGE}


def _errors(*codes: str) -> dict[str, Any]:
    known = {
        "400": "malformed request: no or several queries, invalid SPARQL, an invalid graph IRI or parameter",
        "401": "an update without the endpoint's password (HTTP Basic, user admin, or Bearer)",
        "403": "an update on a read-only endpoint or from another origin, or a federated SERVICE or remote LOAD "
               "where they are not allowed",
        "404": "no such resource",
        "406": "none of the media types in Accept can carry this result",
        "408": "the request (head and body) did not arrive within the server's request timeout",
        "411": "a body without Content-Length",
        "413": "the request body is too large",
        "415": "unsupported Content-Type or a charset other than UTF-8",
        "502": "a federated SERVICE call failed (only where remote calls are allowed)",
        "503": "the query ran out of time or memory, its result is over the size limit, or all workers are busy "
               "(on /health: the endpoint cannot go on and stops)",
    }
    return {code: _error(known[code]) for code in codes}


def _graph_list(name: str, description: str) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": False, "description": description,
            "schema": {"type": "array", "items": {"type": "string", "format": "iri"}},
            "style": "form", "explode": True}


def _default(param: Param) -> object:
    if param.type == "integer":
        try:
            return int(param.default)
        except ValueError:
            return param.default
    return param.default


def openapi_document(queries: dict[str, CannedQuery], *, writable: bool, timeout: float,
                     max_result_bytes: int) -> dict[str, Any]:
    """An OpenAPI 3.0 document for an endpoint with these canned queries (read from their headers) and limits."""
    answers = {"description": "query results: SPARQL results for SELECT and ASK, an RDF graph for CONSTRUCT and "
                              "DESCRIBE (by the Accept header)", "content": {**_RESULTS, **_GRAPHS}}
    query_errors = _errors("400", "403", "406", "502", "503")
    dataset = [_graph_list("default-graph-uri", "a graph of the query's default graph (replaces FROM)"),
               _graph_list("named-graph-uri", "a named graph of the query's dataset (replaces FROM NAMED)")]
    using = [_graph_list("using-graph-uri", "a graph of an update's default graph (as USING)"),
             _graph_list("using-named-graph-uri", "a named graph of an update's dataset (as USING NAMED)")]
    form_properties = {"query": {"type": "string"}, "update": {"type": "string"},
                       **{p["name"]: p["schema"] for p in dataset + using}}
    paths: dict[str, Any] = {
        "/sparql": {
            "get": {
                "operationId": "sparql_query_get",
                "summary": "SPARQL 1.1 query (SPARQL 1.1 Protocol); without a query, the service description",
                "parameters": [
                    {"name": "query", "in": "query", "required": False, "schema": {"type": "string"},
                     "description": "a SPARQL 1.1 query; leave it out for the SPARQL service description"},
                    *dataset,
                ],
                "responses": {"200": answers, **query_errors},
            },
            "post": {
                "operationId": "sparql_post",
                "summary": "SPARQL 1.1 query or update (form or direct POST); updates only on a writable endpoint",
                "parameters": dataset + using,
                "requestBody": {"required": True, "content": {
                    "application/sparql-query": _TEXT,
                    "application/sparql-update": _TEXT,
                    "application/x-www-form-urlencoded": {"schema": {"type": "object",
                                                                     "properties": form_properties}},
                }},
                "responses": {"200": answers, "204": {"description": "update done"},
                              **_errors("400", "401", "403", "406", "408", "411", "413", "415", "502", "503")},
            },
        },
        "/queries": {"get": {
            "operationId": "list_queries",
            "summary": "The canned queries and their parameters",
            "responses": {"200": {"description": "one entry per canned query", "content": {"application/json": {
                "schema": {"type": "array", "items": {"type": "object", "properties": {
                    "name": {"type": "string"}, "title": {"type": "string"}, "description": {"type": "string"},
                    "path": {"type": "string"}, "parameters": {"type": "array", "items": {"type": "object"}}}}}}}}},
        }},
        "/health": {"get": {
            "operationId": "health",
            "summary": "Whether the endpoint can answer: the store version served, its lanes, what waits",
            "responses": {"200": {"description": "healthy", "content": {"application/json": {"schema": {
                "type": "object"}}}}, **_errors("503")},
        }},
        "/openapi.json": {"get": {
            "operationId": "openapi",
            "summary": "This OpenAPI description",
            "responses": {"200": {"description": "OpenAPI 3.0 document",
                                  "content": {"application/json": {"schema": {"type": "object"}}}}},
        }},
    }
    html = {"text/html": _TEXT}
    described = {"description": "the page (HTML), or the statements about the IRI (by the Accept header or format)",
                 "content": {**html, "text/turtle": _TEXT, "application/n-triples": _TEXT,
                             "application/ld+json": {"schema": {"type": "object"}}}}
    fmt = {"name": "format", "in": "query", "required": False, "description": "overrides the Accept header",
           "schema": {"type": "string", "enum": ["turtle", "ntriples", "jsonld"]}}
    paths.update({
        "/": {"get": {"operationId": "editor", "summary": "The SPARQL editor, with the canned queries as examples",
                      "responses": {"200": {"description": "HTML page (text/plain: a list of the paths)",
                                            "content": {**html, "text/plain": _TEXT}}}}},
        "/dataset": {"get": {"operationId": "dataset", "summary": "The dataset description (VoID) and its charts",
                             "parameters": [fmt], "responses": {"200": described, **_errors("406", "503")}}},
        "/figures/{figid}.html": {"get": {
            "operationId": "figure", "summary": "A figure, at the path of its IRI",
            "parameters": [{"name": "figid", "in": "path", "required": True, "schema": {"type": "string"}}, fmt],
            "responses": {"200": described, **_errors("404", "406", "503")}}},
        "/figures/{figid}-genes.{fmt}": {"get": {
            "operationId": "figure_genes",
            "summary": "A figure's genes for an enrichment tool: symbols one a line "
                       "(txt), or symbols with NCBI Gene ids, taxa, words and sources (tsv)",
            "parameters": [{"name": "figid", "in": "path", "required": True, "schema": {"type": "string"}},
                           {"name": "fmt", "in": "path", "required": True,
                            "schema": {"type": "string", "enum": ["txt", "tsv"]}}],
            "responses": {"200": {"description": "the gene list",
                                  "content": {"text/plain": _TEXT, "text/tab-separated-values": _TEXT}},
                          **_errors("404", "503")}}},
        "/vocab": {"get": {
            "operationId": "vocab", "summary": "The pfocr: vocabulary (https://pfocr.wikipathways.org/vocab#)",
            "parameters": [fmt], "responses": {"200": described, **_errors("406")}}},
        "/api": {"get": {"operationId": "api", "summary": "This description, as a page for people",
                         "responses": {"200": {"description": "HTML page", "content": html}}}},
        "/figures": {"get": {
            "operationId": "figures_mentioning", "summary": "The figures that mention an entity",
            "parameters": [{"name": "mentions", "in": "query", "required": True,
                            "schema": {"type": "string", "format": "iri"}}],
            "responses": {"200": {"description": "HTML page", "content": html}, **_errors("400", "503")}}},
    })
    for q in queries.values():
        paths[f"/queries/{q.name}.rq"] = {"get": {
            "operationId": "query_text_" + q.name.replace("-", "_"),
            "summary": f"{q.title}: the query text with the parameters given",
            "parameters": [{"name": p.name, "in": "query", "required": False, "description": p.description,
                            "schema": {**_SCHEMA_OF[p.type], "default": _default(p)}} for p in q.params],
            "responses": {"200": {"description": "SPARQL query", "content": {"application/sparql-query": _TEXT}},
                          **_errors("400", "404")}}}
        paths[f"/queries/{q.name}"] = {"get": {
            "operationId": "query_" + q.name.replace("-", "_"),
            "summary": q.title,
            "description": q.description,
            "parameters": [{"name": p.name, "in": "query", "required": False, "description": p.description,
                            "schema": {**_SCHEMA_OF[p.type], "default": _default(p)}} for p in q.params],
            "responses": {"200": answers, **_errors("400", "404", "406", "503")},
        }}
    return {
        "openapi": "3.0.3",
        "info": {"title": "PFOCR linked data", "version": __version__,
                 "description": "SPARQL 1.1 endpoint and canned queries over Pathway Figure OCR as linked data. "
                                + ("Read-write" if writable else "Read-only") +
                                f"; each query may run {timeout:g} s and return {max_result_bytes} bytes."},
        "paths": paths,
    }
