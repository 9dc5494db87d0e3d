"""Every canned query of ``queries/`` run through SPARQLWrapper (a client that knows nothing of this project)
against ``pfocr-rdf serve``, by GET, form POST and direct POST, gives the answers ``pfocr-rdf query NAME`` gives
on the same store."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pyoxigraph as ox
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _server_support import build_store, cli_query, example_params, graph_of, json_rows, query_form, start_cli_server

from converter.store.queries import library

QUERIES = library()

# rdflib's JSON-LD parser and SPARQLWrapper still build ConjunctiveGraphs, which rdflib 7 deprecates
pytestmark = pytest.mark.filterwarnings("ignore:ConjunctiveGraph is deprecated:DeprecationWarning")


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> Path:
    return build_store(tmp_path_factory.mktemp("sparqlwrapper") / "store")


@pytest.fixture(scope="module")
def endpoint(store):
    """``pfocr-rdf serve`` as it starts by default: read-only, with query worker processes."""
    running = start_cli_server(store)
    yield running
    running.stop()


def _wrapper(url: str, text: str, how: str):
    from SPARQLWrapper import GET, POST, POSTDIRECTLY, URLENCODED, SPARQLWrapper

    sparql = SPARQLWrapper(url)
    sparql.setQuery(text)
    # SPARQLWrapper guesses the query form with a regular expression that leaves every other line of a run of
    # comment lines in place, so a header line such as "... Needs WikiPathways data loaded." reads as a LOAD
    # update (sent as update=..., which a read-only endpoint refuses). The form is known: set it.
    sparql.queryType = query_form(text)
    sparql.setTimeout(30)
    if how == "GET":
        sparql.setMethod(GET)
    else:
        sparql.setMethod(POST)
        sparql.setRequestMethod(POSTDIRECTLY if how == "direct POST" else URLENCODED)
    return sparql


@pytest.mark.parametrize("name", sorted(QUERIES))
def test_canned_query_through_sparqlwrapper(endpoint, store, name):
    from SPARQLWrapper import JSON, RDFXML

    query = QUERIES[name]
    params = example_params(name, query.params)
    text = query.render(params)
    graph = query_form(text) in ("CONSTRUCT", "DESCRIBE")
    expected = cli_query(store, name, params, "ntriples" if graph else "json")
    for how in ("GET", "form POST", "direct POST"):
        sparql = _wrapper(endpoint.url, text, how)
        if graph:
            from rdflib.compare import isomorphic

            sparql.setReturnFormat(RDFXML)
            answer = sparql.queryAndConvert()  # an rdflib graph
            assert isomorphic(answer, graph_of(expected, ox.RdfFormat.N_TRIPLES)), how
            continue
        sparql.setReturnFormat(JSON)
        answer = sparql.queryAndConvert()
        wanted = json.loads(expected)
        if "boolean" in wanted:
            assert answer["boolean"] == wanted["boolean"], how
        else:
            assert answer["head"]["vars"] == wanted["head"]["vars"], how
            assert json_rows(answer) == json_rows(wanted), how
