"""The SPARQL endpoint on the example records: the protocol, content negotiation, errors, safety limits, the
service description, CORS, the canned queries as resources and the OpenAPI description.

Every test talks HTTP to the real server: ``make_server`` serving in a thread (read-only, with query worker
processes), or ``pfocr-rdf serve`` in a process.
"""

from __future__ import annotations

import http.client
import io
import json
import sys
from pathlib import Path
from urllib.parse import quote, urlencode

import pyoxigraph as ox
import pytest
import rdflib

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _server_support import (
    HOST,
    PASSWORD,
    RDF_FORMATS,
    RESULT_FORMATS,
    build_store,
    cli_query,
    example_params,
    graph_of,
    json_rows,
    ox_rows,
    query_form,
    start_cli_server,
    start_thread_server,
)

from converter.store.derived import STATISTICS_GRAPH
from converter.store.queries import library
from converter.web.endpoint import Endpoint
from converter.web.server import make_server

QUERIES = library()

# rdflib's JSON-LD parser and SPARQLWrapper still build ConjunctiveGraphs, which rdflib 7 deprecates
pytestmark = pytest.mark.filterwarnings("ignore:ConjunctiveGraph is deprecated:DeprecationWarning")

SD = rdflib.Namespace("http://www.w3.org/ns/sparql-service-description#")
PREFIXES = "PREFIX schema: <https://schema.org/>\nPREFIX pfocr: <https://pfocr.wikipathways.org/vocab#>\n"
FIGURES = PREFIXES + ("SELECT ?figure ?title WHERE { ?figure a schema:ImageObject ; schema:name ?title } "
                      "ORDER BY ?figure")
COUNT_FIGURES = PREFIXES + "SELECT (COUNT(?f) AS ?n) WHERE { ?f a schema:ImageObject }"
FIGURE = "https://pfocr.wikipathways.org/figures/PMC6512345__nihms-1029384-f0003.html"
DESCRIBE_FIGURE = f"CONSTRUCT {{ <{FIGURE}> ?p ?o }} WHERE {{ <{FIGURE}> ?p ?o }}"
# Every figure against every triple, three times over: far more than a second of work, whatever the machine.
CROSS_JOIN = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i . ?j ?k ?l }"
REMOTE = "SELECT * WHERE { SERVICE <http://127.0.0.1:9/sparql> { ?s ?p ?o } }"


# --- fixtures ---------------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def store(tmp_path_factory) -> Path:
    return build_store(tmp_path_factory.mktemp("server") / "store")


@pytest.fixture(scope="module")
def server(store):
    """The default endpoint: read-only, in worker processes."""
    running = start_thread_server(store, workers=2)
    yield running
    running.stop()


@pytest.fixture(scope="module")
def limited(store):
    """An endpoint with a 1 s time limit and a 20 kB result limit."""
    running = start_thread_server(store, workers=1, timeout=1, max_result_bytes=20_000)
    yield running
    running.stop()


@pytest.fixture(scope="module")
def remote(store):
    """An endpoint that allows federated SERVICE calls."""
    running = start_thread_server(store, workers=1, allow_remote=True)
    yield running
    running.stop()


@pytest.fixture(scope="module")
def writable(tmp_path_factory):
    """``pfocr-rdf serve --writable`` (default host) on a store of its own."""
    running = start_cli_server(build_store(tmp_path_factory.mktemp("writable") / "store"), "--writable",
                               password=PASSWORD)
    yield running
    running.stop()


def get(server, query: str, accept: str | None = None, **params) -> object:
    items = [("query", query)] + [(k.replace("_", "-"), v) for k, vs in params.items()
                                  for v in (vs if isinstance(vs, list) else [vs])]
    return server.request("GET", "/sparql?" + urlencode(items), headers={"Accept": accept} if accept else {})


def form(server, field: str, text: str, accept: str = "application/sparql-results+json", path: str = "/sparql"):
    return server.request("POST", path, urlencode({field: text}),
                          {"Content-Type": "application/x-www-form-urlencoded", "Accept": accept})


def direct(server, text: str, update: bool = False, accept: str = "application/sparql-results+json",
           path: str = "/sparql"):
    media = "application/sparql-update" if update else "application/sparql-query"
    return server.request("POST", path, text, {"Content-Type": media, "Accept": accept})


def rows(response) -> object:
    assert response.status == 200, response.body
    return ox_rows(ox.parse_query_results(response.body, format=RESULT_FORMATS[response.media]))


def count(response) -> int:
    assert response.status == 200, response.body
    return int(response.json()["results"]["bindings"][0]["n"]["value"])


# --- the three ways to send a query -------------------------------------------------------------------------------
def test_get_form_and_direct_post_give_the_same_answer(server):
    by_get = rows(get(server, FIGURES, "application/sparql-results+json"))
    assert sum(by_get.values()) == 9  # the nine example figures that convert
    assert rows(form(server, "query", FIGURES)) == by_get
    assert rows(direct(server, FIGURES)) == by_get
    assert rows(server.request("GET", "/sparql/?query=" + quote(FIGURES))) == by_get  # a trailing slash is the same


def test_head_answers_like_get_without_a_body(server):
    response = server.request("HEAD", "/sparql?query=" + quote(FIGURES))
    assert response.status == 200 and response.body == b""
    assert int(response.headers["content-length"]) > 0
    assert response.media == "application/sparql-results+json"



def test_concurrent_queries(server):
    from concurrent.futures import ThreadPoolExecutor

    expected = rows(get(server, FIGURES, "application/json"))
    with ThreadPoolExecutor(8) as pool:  # more clients than workers: they queue, and all are answered
        answers = list(pool.map(lambda _: rows(get(server, FIGURES, "application/json")), range(16)))
    assert all(answer == expected for answer in answers)

# --- content negotiation -------------------------------------------------------------------------------------------
@pytest.mark.parametrize("media", ["application/sparql-results+json", "application/sparql-results+xml", "text/csv",
                                   "text/tab-separated-values"])
def test_select_result_formats(server, media):
    reference = rows(get(server, FIGURES, "application/sparql-results+json"))
    response = get(server, FIGURES, media)
    assert response.status == 200 and response.media == media
    if media == "text/csv":  # CSV has no term types (and pyoxigraph does not read it): compare the values
        import csv

        table = list(csv.reader(io.StringIO(response.text(), newline="")))
        assert table[0] == ["figure", "title"]
        assert sorted(map(tuple, table[1:])) == sorted(
            tuple(v for _, _, v, _, _ in sorted(r)) for r in reference.elements())
    else:
        assert rows(response) == reference
    if media == "application/sparql-results+xml":
        import xml.etree.ElementTree as ET

        assert ET.fromstring(response.body).tag == "{http://www.w3.org/2005/sparql-results#}sparql"
    if media == "application/sparql-results+json":
        assert set(response.json()["head"]["vars"]) == {"figure", "title"}


@pytest.mark.parametrize("media,rdflib_format", [("text/turtle", "turtle"), ("application/n-triples", "nt"),
                                                 ("application/ld+json", "json-ld"),
                                                 ("application/rdf+xml", "xml")])
def test_graph_result_formats(server, media, rdflib_format):
    reference = graph_of(get(server, DESCRIBE_FIGURE, "application/n-triples").body, ox.RdfFormat.N_TRIPLES)
    assert len(reference) > 5
    response = get(server, DESCRIBE_FIGURE, media)
    assert response.status == 200 and response.media == media
    by_oxigraph = graph_of(response.body, RDF_FORMATS[media])
    by_rdflib = rdflib.Graph().parse(data=response.body, format=rdflib_format)
    from rdflib.compare import isomorphic

    assert isomorphic(by_oxigraph, reference)
    assert isomorphic(by_rdflib, reference)


def test_ask_results(server):
    ask = PREFIXES + f"ASK {{ <{FIGURE}> a schema:ImageObject }}"
    assert get(server, ask, "application/sparql-results+json").json()["boolean"] is True
    xml = get(server, ask, "application/sparql-results+xml")
    assert bool(ox.parse_query_results(xml.body, format=ox.QueryResultsFormat.XML)) is True
    assert get(server, ask.replace("ImageObject", "Nothing"), "application/json").json()["boolean"] is False
    assert get(server, ask, "text/csv").status == 406  # a boolean has no CSV form


def test_accept_preferences(server):
    response = get(server, FIGURES, "text/csv;q=0.5, application/sparql-results+xml, */*;q=0.1")
    assert response.media == "application/sparql-results+xml"
    assert get(server, FIGURES, "text/*").media == "text/csv"
    assert get(server, FIGURES).media == "application/sparql-results+json"  # no Accept: JSON
    assert get(server, DESCRIBE_FIGURE).media == "text/turtle"
    refused = get(server, FIGURES, "image/png")
    assert refused.status == 406 and b"application/sparql-results+json" in refused.body


# --- the dataset and the base IRI ---------------------------------------------------------------------------------
def test_dataset_of_a_request(server):
    everything = "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }"
    statistics = "SELECT (COUNT(*) AS ?n) WHERE { ?s <https://pfocr.wikipathways.org/vocab#figureCount> ?c }"
    data = count(get(server, everything, "application/json"))
    stats_query = f"SELECT (COUNT(*) AS ?n) WHERE {{ GRAPH <{STATISTICS_GRAPH}> {{ ?s ?p ?o }} }}"
    stats = count(get(server, stats_query, "application/json"))
    assert data > stats > 0
    # no dataset named, data loaded from N-Triples: the default graph is the store's, the statistics stay apart
    assert count(get(server, statistics, "application/json")) == 0
    assert count(get(server, everything, "application/json", default_graph_uri=STATISTICS_GRAPH)) == stats
    assert count(get(server, f"SELECT (COUNT(*) AS ?n) FROM <{STATISTICS_GRAPH}> WHERE {{ ?s ?p ?o }}",
                     "application/json")) == stats  # the query's own FROM is kept
    only_named = get(server, everything, "application/json", named_graph_uri=STATISTICS_GRAPH)
    assert count(only_named) == 0  # named graphs only: the default graph is empty
    in_graph = f"SELECT (COUNT(*) AS ?n) WHERE {{ GRAPH <{STATISTICS_GRAPH}> {{ ?s ?p ?o }} }}"
    assert count(get(server, in_graph, "application/json", named_graph_uri=STATISTICS_GRAPH)) == stats
    assert count(get(server, in_graph, "application/json", default_graph_uri=STATISTICS_GRAPH)) == 0


def test_relative_iris_resolve_against_the_endpoint(server):
    response = get(server, "CONSTRUCT { <s> <p> 1 } WHERE {}", "application/n-triples")
    assert response.status == 200
    triple = next(iter(ox.parse(response.body, format=ox.RdfFormat.N_TRIPLES)))
    assert triple.subject.value == f"http://{HOST}:{server.port}/s"


# --- malformed requests -------------------------------------------------------------------------------------------
FORM = {"Content-Type": "application/x-www-form-urlencoded"}
SPARQL_QUERY = {"Content-Type": "application/sparql-query"}
BAD_REQUESTS = {
    "no query in the form": ("POST", "/sparql", "default-graph-uri=http%3A%2F%2Fx%2Fg", FORM, 400),
    "empty query": ("GET", "/sparql?query=", None, {}, 400),
    "empty direct query": ("POST", "/sparql", "", SPARQL_QUERY, 400),
    "bad syntax by GET": ("GET", "/sparql?query=" + quote("SELECT * WHERE { ?s"), None, {}, 400),
    "bad syntax by POST": ("POST", "/sparql", "SELEKT * WHERE {}", SPARQL_QUERY, 400),
    "query and update": ("POST", "/sparql", "query=ASK%7B%7D&update=CLEAR%20ALL", FORM, 400),
    "two queries": ("GET", "/sparql?query=ASK%7B%7D&query=ASK%7B%7D", None, {}, 400),
    "update via GET": ("GET", "/sparql?update=" + quote("CLEAR ALL"), None, {}, 400),
    "query in the URL of a direct POST": ("POST", "/sparql?query=ASK%7B%7D", "ASK {}", SPARQL_QUERY, 400),
    "unsupported Content-Type": ("POST", "/sparql", "ASK {}", {"Content-Type": "text/plain"}, 415),
    "JSON body": ("POST", "/sparql", '{"query": "ASK {}"}', {"Content-Type": "application/json"}, 415),
    "multipart form": ("POST", "/sparql",
                       '--x\r\nContent-Disposition: form-data; name="query"\r\n\r\nASK {}\r\n--x--\r\n',
                       {"Content-Type": "multipart/form-data; boundary=x"}, 415),
    "no Content-Type": ("POST", "/sparql", "ASK {}", {}, 400),
    "UTF-16 body": ("POST", "/sparql", "ASK {}".encode("utf-16"),
                    {"Content-Type": "application/sparql-query; charset=UTF-16"}, 415),
    "body that is not UTF-8": ("POST", "/sparql", b"ASK { ?s ?p '\xff' }", SPARQL_QUERY, 400),
    "PUT": ("PUT", "/sparql", "ASK {}", SPARQL_QUERY, 405),
    "DELETE": ("DELETE", "/sparql", None, {}, 405),
    "PATCH a canned query": ("PATCH", "/queries/figures-for-gene", None, {}, 405),
    "POST to a canned query": ("POST", "/queries/figures-for-gene", "gene=TP53", FORM, 405),
    "unknown path": ("GET", "/sparql2", None, {}, 404),
    "POST to an unknown path": ("POST", "/update", "CLEAR ALL", {"Content-Type": "application/sparql-update"}, 404),
    "invalid default graph IRI": ("GET", "/sparql?query=ASK%7B%7D&default-graph-uri=not%20an%20iri", None, {}, 400),
    "relative named graph IRI": ("GET", "/sparql?query=ASK%7B%7D&named-graph-uri=graph1", None, {}, 400),
    "using-graph-uri on a query": ("GET", "/sparql?query=ASK%7B%7D&using-graph-uri=http%3A%2F%2Fx%2Fg", None, {},
                                   400),
    "URL that is not UTF-8": ("GET", "/sparql?query=ASK%7B%7D%FF", None, {}, 400),
    "unknown canned query": ("GET", "/queries/no-such-query", None, {}, 404),
    "unknown canned parameter": ("GET", "/queries/figures-for-gene?species=human", None, {}, 400),
    "repeated canned parameter": ("GET", "/queries/figures-for-gene?gene=TP53&gene=MDM2", None, {}, 400),
    "chunked body": ("POST", "/sparql", None, {**SPARQL_QUERY, "Transfer-Encoding": "chunked"}, 411),
}


@pytest.mark.parametrize("case", list(BAD_REQUESTS), ids=list(BAD_REQUESTS))
def test_malformed_requests_get_a_4xx(server, case):
    method, path, body, headers, status = BAD_REQUESTS[case]
    response = server.request(method, path, body, headers)
    assert response.status == status, response.body
    assert response.media == "text/plain" and response.text().strip()  # a message that says what is wrong
    if status == 405:  # Allow, and one line that says what to use instead
        assert "GET" in response.headers["allow"] or "POST" in response.headers["allow"]
        assert response.text().count("\n") == 1
        assert response.headers["allow"] in response.text() or "POST goes to /sparql" in response.text()


def test_huge_content_length_is_refused_unread(server):
    connection = http.client.HTTPConnection(HOST, server.port, timeout=10)
    try:
        connection.putrequest("POST", "/sparql")
        connection.putheader("Content-Type", "application/sparql-query")
        connection.putheader("Content-Length", str(10 ** 12))
        connection.endheaders()  # and no body at all
        response = connection.getresponse()
        assert response.status == 413
        assert response.getheader("Connection", "").lower() == "close"
        assert b"limited" in response.read()
    finally:
        connection.close()
    assert count(get(server, COUNT_FIGURES, "application/json")) == 9  # and the server goes on


def test_a_refused_body_does_not_spoil_the_connection(server):
    connection = http.client.HTTPConnection(HOST, server.port, timeout=10)
    try:
        connection.request("POST", "/nowhere", body=b"query=ASK%7B%7D GET /x HTTP/1.1\r\n\r\n", headers=FORM)
        first = connection.getresponse()
        first.read()
        assert first.status == 404
        connection.request("GET", "/sparql?query=" + quote(COUNT_FIGURES), headers={"Accept": "application/json"})
        second = connection.getresponse()
        assert second.status == 200
        assert json.loads(second.read())["results"]["bindings"][0]["n"]["value"] == "9"
    finally:
        connection.close()


# --- service description and CORS ---------------------------------------------------------------------------------
def test_service_description(server):
    response = server.request("GET", "/sparql")
    assert response.status == 200 and response.media == "text/turtle"
    graph = rdflib.Graph().parse(data=response.body, format="turtle")
    endpoint = rdflib.URIRef(f"http://{HOST}:{server.port}/sparql")
    assert (endpoint, rdflib.RDF.type, SD.Service) in graph
    assert (endpoint, SD.endpoint, endpoint) in graph
    assert (endpoint, SD.supportedLanguage, SD.SPARQL11Query) in graph
    assert (endpoint, SD.supportedLanguage, SD.SPARQL11Update) not in graph  # read-only
    assert (endpoint, SD.feature, SD.BasicFederatedQuery) not in graph
    assert len(list(graph.objects(endpoint, SD.resultFormat))) >= 8
    as_ntriples = server.request("GET", "/sparql", headers={"Accept": "application/n-triples"})
    assert as_ntriples.media == "application/n-triples"
    from rdflib.compare import isomorphic

    assert isomorphic(rdflib.Graph().parse(data=as_ntriples.body, format="nt"), graph)
    spoofed = server.request("GET", "/sparql", headers={"Host": "evil> . <x"})  # no Turtle injection
    assert spoofed.status == 200
    rdflib.Graph().parse(data=spoofed.body, format="turtle")


def test_cors(server):
    response = get(server, COUNT_FIGURES, "application/json")
    assert response.headers["access-control-allow-origin"] == "*"
    assert server.request("GET", "/nowhere").headers["access-control-allow-origin"] == "*"
    preflight = server.request("OPTIONS", "/sparql", headers={
        "Origin": "https://example.org", "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "content-type"})
    assert preflight.status == 204
    assert preflight.headers["access-control-allow-origin"] == "*"
    assert "POST" in preflight.headers["access-control-allow-methods"]
    assert "content-type" in preflight.headers["access-control-allow-headers"].lower()
    assert "POST" in preflight.headers["allow"]
    assert "POST" not in server.request("OPTIONS", "/queries").headers["allow"]


# --- updates --------------------------------------------------------------------------------------------------------
INSERT = 'INSERT DATA { GRAPH <http://example.org/g> { <http://example.org/s> <http://example.org/p> "added" } }'
ASK_INSERTED = 'ASK { <http://example.org/s> <http://example.org/p> "added" }'


def test_read_only_by_default(server):
    assert form(server, "update", INSERT).status == 403
    response = direct(server, INSERT, update=True)
    assert response.status == 403 and b"read-only" in response.body
    assert direct(server, ASK_INSERTED).json()["boolean"] is False
    assert count(get(server, COUNT_FIGURES, "application/json")) == 9


def test_writable_endpoint_sees_its_updates(writable):
    assert writable.host == "127.0.0.1"  # serve binds the loopback address unless told otherwise
    assert "read-write" in "".join(writable.log)
    assert direct(writable, ASK_INSERTED).json()["boolean"] is False
    assert direct(writable, INSERT, update=True).status == 204
    assert direct(writable, ASK_INSERTED).json()["boolean"] is True
    assert form(writable, "update", 'DELETE DATA { GRAPH <http://example.org/g> { <http://example.org/s> '
                                    '<http://example.org/p> "added" } }').status == 204
    assert get(writable, ASK_INSERTED, "application/json").json()["boolean"] is False
    copy = ("INSERT { GRAPH <http://example.org/copy> { ?f a <http://example.org/Figure> } } "
            "WHERE { ?f a <https://schema.org/ImageObject> }")
    assert direct(writable, copy, update=True).status == 204
    assert count(get(writable, "SELECT (COUNT(*) AS ?n) WHERE { GRAPH <http://example.org/copy> { ?s ?p ?o } }",
                     "application/json")) == 9
    service = writable.request("GET", "/sparql")
    graph = rdflib.Graph().parse(data=service.body, format="turtle")
    assert (None, SD.supportedLanguage, SD.SPARQL11Update) in graph


def test_writable_endpoint_fetches_nothing_remote(writable):
    load = direct(writable, "LOAD <http://127.0.0.1:9/data.ttl>", update=True)
    assert load.status == 403
    service = direct(writable, "INSERT { ?s ?p ?o } WHERE { SERVICE <http://127.0.0.1:9/sparql> { ?s ?p ?o } }",
                     update=True)
    assert service.status == 403


def test_update_errors(writable):
    assert form(writable, "update", "CLEAR XYZ").status == 400
    both = writable.request("POST", "/sparql?using-graph-uri=http%3A%2F%2Fx%2Fg",
                            "WITH <http://x/h> DELETE { ?s ?p ?o } WHERE { ?s ?p ?o }",
                            {"Content-Type": "application/sparql-update"})
    assert both.status == 400
    assert writable.request("POST", "/sparql?default-graph-uri=http%3A%2F%2Fx%2Fg", INSERT,
                            {"Content-Type": "application/sparql-update"}).status == 400


def test_default_bind_is_loopback(store):
    server = make_server(Endpoint(str(store), writable=False, workers=1), port=0)
    try:
        assert server.server_address[0] == "127.0.0.1"
        assert server.url == f"http://127.0.0.1:{server.server_port}/sparql"
    finally:
        server.close()


# --- limits -------------------------------------------------------------------------------------------------------
def test_time_limit(limited):
    response = get(limited, CROSS_JOIN, "application/json")
    assert response.status == 503
    assert b"ran out of time" in response.body and b"1 s" in response.body
    for _ in range(3):  # the worker that ran out of time was replaced: the endpoint goes on answering
        assert count(get(limited, COUNT_FIGURES, "application/json")) == 9


def test_result_size_limit(limited):
    response = get(limited, "SELECT * WHERE { ?s ?p ?o }", "application/sparql-results+json")
    assert response.status == 503
    assert b"larger than" in response.body and b"20000 bytes" in response.body
    assert count(get(limited, COUNT_FIGURES, "application/json")) == 9


def test_federated_service_is_refused_unless_allowed(server, remote):
    for response in (get(server, REMOTE, "application/json"), direct(server, REMOTE),
                     get(server, REMOTE.replace("SERVICE", "service"), "application/json")):
        assert response.status == 403 and b"SERVICE" in response.body
    hidden = ("PREFIX ex: <http://example.org/> SELECT * WHERE { BIND(ex:a\\# AS ?x) "
              "SERVICE <http://127.0.0.1:9/sparql> { ?s ?p ?o } }")  # '#' escaped in a name is no comment
    assert direct(server, hidden).status == 403
    allowed = get(remote, REMOTE, "application/json")
    assert allowed.status != 403  # the call is made (and fails: nothing listens there)
    assert allowed.status == 502
    sd = rdflib.Graph().parse(data=remote.request("GET", "/sparql").body, format="turtle")
    assert (None, SD.feature, SD.BasicFederatedQuery) in sd


# --- canned queries --------------------------------------------------------------------------------------------------
def test_queries_lists_every_canned_query(server):
    response = server.request("GET", "/queries")
    assert response.status == 200 and response.media == "application/json"
    listed = {q["name"]: q for q in response.json()}
    files = {p.stem for p in (Path(__file__).resolve().parents[1] / "queries").glob("*.rq")}
    assert set(listed) == files == set(QUERIES)
    for name, query in QUERIES.items():
        assert listed[name]["path"] == f"/queries/{name}"
        assert listed[name]["title"] == query.title
        assert [(p["name"], p["type"], p["default"]) for p in listed[name]["parameters"]] == \
            [(p.name, p.type, p.default) for p in query.params]
    index = server.request("GET", "/")
    assert all(f"/queries/{name}" in index.text() for name in QUERIES)


@pytest.mark.parametrize("name", sorted(QUERIES))
def test_canned_query_resource_equals_the_cli(server, store, name):
    query = QUERIES[name]
    params = example_params(name, query.params)
    path = f"/queries/{name}" + ("?" + urlencode(params) if params else "")
    if query_form(query.text) in ("CONSTRUCT", "DESCRIBE"):
        response = server.request("GET", path, headers={"Accept": "application/n-triples"})
        assert response.status == 200, response.body
        from rdflib.compare import isomorphic

        expected = cli_query(store, name, params, "ntriples")
        assert isomorphic(graph_of(response.body, ox.RdfFormat.N_TRIPLES),
                          graph_of(expected, ox.RdfFormat.N_TRIPLES))
        return
    response = server.request("GET", path, headers={"Accept": "application/sparql-results+json"})
    assert response.status == 200, response.body
    expected = json.loads(cli_query(store, name, params, "json"))
    if "boolean" in expected:
        assert response.json()["boolean"] == expected["boolean"]
    else:
        assert json_rows(response.json()) == json_rows(expected)
        assert response.json()["head"]["vars"] == expected["head"]["vars"]


def test_canned_query_parameters_change_the_answer(server):
    if "figures-for-gene" not in QUERIES:
        pytest.skip("no figures-for-gene query")
    tp53 = server.request("GET", "/queries/figures-for-gene?gene=TP53", headers={"Accept": "text/csv"})
    default = server.request("GET", "/queries/figures-for-gene", headers={"Accept": "text/csv"})
    nothing = server.request("GET", "/queries/figures-for-gene?gene=" + quote('NO"SUCH} GENE'),
                             headers={"Accept": "text/csv"})
    assert tp53.status == default.status == nothing.status == 200
    assert tp53.body == default.body and tp53.text().count("\n") > 1
    assert nothing.text().count("\n") == 1  # the header line only: the value is a string, not SPARQL


# --- OpenAPI --------------------------------------------------------------------------------------------------------
def test_openapi_document(server):
    response = server.request("GET", "/openapi.json")
    assert response.status == 200 and response.media == "application/json"
    document = response.json()
    assert document["openapi"].startswith("3.")
    assert document["info"]["title"] and document["info"]["version"]
    paths = document["paths"]
    assert {"get", "post"} <= set(paths["/sparql"])
    assert "/queries" in paths and "/openapi.json" in paths
    operation_ids = []
    for name, query in QUERIES.items():
        operation = paths[f"/queries/{name}"]["get"]
        operation_ids.append(operation["operationId"])
        assert operation["summary"] == query.title
        parameters = {p["name"]: p for p in operation["parameters"]}
        assert list(parameters) == [p.name for p in query.params]
        for p in query.params:
            assert parameters[p.name]["in"] == "query"
            schema = parameters[p.name]["schema"]
            assert schema["type"] == ("integer" if p.type == "integer" else "string")
            assert str(schema["default"]) == p.default
        assert "application/sparql-results+json" in operation["responses"]["200"]["content"]
    assert len(set(operation_ids)) == len(operation_ids)
    for methods in paths.values():
        for operation in methods.values():
            for code in operation["responses"]:
                assert code == "default" or (code.isdigit() and 100 <= int(code) < 600)
    from openapi_spec_validator import validate  # the test extra installs it: its absence is a failure

    validate(document)
