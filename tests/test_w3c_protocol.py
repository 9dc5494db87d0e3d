"""The W3C SPARQL 1.1 Protocol test suite, replayed against ``pfocr-rdf serve --writable`` with its credentials.

The suite (``manifest.ttl`` and ``data*.nt``, unchanged from the W3C test repository) lives beside the project in
``../shared/w3c/sparql11-protocol``; the tests are skipped when it is absent. Each manifest entry is one test: the
store is reset to the graphs the entry names (``ut:graphData``: the ``data*.nt`` file loaded into the graph its
label names), then its requests are sent in order with :mod:`http.client` exactly as written (method, headers,
body in its declared character encoding; the path's ``/sparql/`` prefix becomes the endpoint's ``/sparql``), and
each response must have one of the expected status classes and, where the manifest says so, the expected result
format and boolean.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pyoxigraph as ox
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _server_support import PASSWORD, RDF_FORMATS, RESULT_FORMATS, build_store, start_cli_server

SUITE = Path(__file__).resolve().parents[1].parent / "shared" / "w3c" / "sparql11-protocol"
MANIFEST = SUITE / "manifest.ttl"

MF = "http://www.w3.org/2001/sw/DataAccess/tests/test-manifest#"
HT = "http://www.w3.org/2011/http#"
CNT = "http://www.w3.org/2011/content#"
UT = "http://www.w3.org/2009/sparql/tests/test-update#"
HTS = "http://www.w3.org/2011/http-statusCodes#"
RDFS = "http://www.w3.org/2000/01/rdf-schema#"


def _manifest() -> list[dict]:
    """The manifest's tests, in manifest order, as plain dicts."""
    import rdflib
    from rdflib.collection import Collection

    g = rdflib.Graph()
    g.parse(MANIFEST, format="turtle")

    def ns(base: str, name: str) -> rdflib.URIRef:
        return rdflib.URIRef(base + name)

    manifest = next(g.subjects(rdflib.RDF.type, ns(MF, "Manifest")))
    tests = []
    for entry in Collection(g, g.value(manifest, ns(MF, "entries"))):
        graphs = []
        for data in g.objects(entry, ns(UT, "graphData")):
            file = Path(str(g.value(data, ns(UT, "graph")))).name
            graphs.append((SUITE / file, str(g.value(data, ns(RDFS, "label")))))
        requests = []
        action = g.value(entry, ns(MF, "action"))
        for request in Collection(g, g.value(action, ns(HT, "requests"))):
            headers = {}
            header_list = g.value(request, ns(HT, "headers"))
            if header_list is not None:
                for header in Collection(g, header_list):
                    headers[str(g.value(header, ns(HT, "fieldName")))] = str(g.value(header, ns(HT, "fieldValue")))
            body = None
            body_node = g.value(request, ns(HT, "body"))
            if body_node is not None:
                encoding = str(g.value(body_node, ns(CNT, "characterEncoding")) or "UTF-8")
                body = str(g.value(body_node, ns(CNT, "chars"))).encode(encoding)
            response = g.value(request, ns(HT, "resp"))
            statuses = sorted(str(s).removeprefix(HTS + "StatusCode") for s in
                              g.objects(response, ns(MF, "expectedStatus")))
            boolean = g.value(response, ns(MF, "expectedBoolean"))
            fmt = g.value(response, ns(MF, "expectedFormat"))
            requests.append({
                "method": str(g.value(request, ns(HT, "methodName"))),
                "path": str(g.value(request, ns(HT, "absolutePath"))),
                "headers": headers,
                "body": body,
                "statuses": statuses,  # e.g. ["2xx", "3xx"]
                "boolean": None if boolean is None else boolean.toPython(),
                "format": None if fmt is None else str(fmt),
            })
        tests.append({"id": str(entry).rsplit("#", 1)[-1], "name": str(g.value(entry, ns(MF, "name"))),
                      "graphs": graphs, "requests": requests})
    return tests


if MANIFEST.is_file():
    TESTS = [pytest.param(t, id=t["id"]) for t in _manifest()]
else:
    TESTS = [pytest.param(None, id="w3c-suite-absent",
                          marks=pytest.mark.skip(reason=f"no W3C protocol suite at {SUITE.name} beside the project"))]


@pytest.fixture(scope="module")
def endpoint(tmp_path_factory):
    """``pfocr-rdf serve --writable`` on a store built from the suite's first data file (every test resets it)."""
    store = build_store(tmp_path_factory.mktemp("w3c") / "store", [SUITE / "data1.nt"])
    # credentials on every request
    running = start_cli_server(store, "--writable", "--timeout", "20", password=PASSWORD)
    yield running
    running.stop()


def _reset(endpoint, graphs: list[tuple[Path, str]]) -> None:
    """Empty the store, then load each data file into the graph the manifest names for it (through the
    endpoint's own update operation)."""
    inserts = "".join(f"GRAPH <{name}> {{\n{file.read_text(encoding='utf-8')}\n}}\n" for file, name in graphs)
    update = "DROP ALL" + (f" ;\nINSERT DATA {{\n{inserts}}}" if inserts else "")
    response = endpoint.request("POST", "/sparql", update, {"Content-Type": "application/sparql-update"})
    assert 200 <= response.status < 300, response.body


def _path(path: str) -> str:
    assert path.startswith("/sparql/"), path
    return "/sparql" + path[len("/sparql/"):]


def _check_result(request: dict, response) -> None:
    fmt, boolean = request["format"], request["boolean"]
    if fmt is None and boolean is None:
        return
    media = response.media
    if fmt == "RDF":
        assert media in RDF_FORMATS, f"an RDF graph expected, got {media}"
        list(ox.parse(response.body, format=RDF_FORMATS[media]))
        return
    assert media in RESULT_FORMATS, f"SPARQL results expected, got {media}"
    results = ox.parse_query_results(response.body, format=RESULT_FORMATS[media])
    if fmt == "tabular":
        assert isinstance(results, ox.QuerySolutions)
        list(results)
    if fmt == "boolean" or boolean is not None:
        assert isinstance(results, ox.QueryBoolean), "a boolean result expected"
        if boolean is not None:
            assert bool(results) is boolean


@pytest.mark.parametrize("test", TESTS)
def test_w3c_protocol(endpoint, test):
    _reset(endpoint, test["graphs"])
    for n, request in enumerate(test["requests"], 1):
        response = endpoint.request(request["method"], _path(request["path"]), request["body"], request["headers"])
        status_class = f"{response.status // 100}xx"
        assert status_class in request["statuses"], (
            f"{test['name']}: request {n} got {response.status}, expected {' or '.join(request['statuses'])}: "
            f"{response.body[:300]!r}")
        _check_result(request, response)
