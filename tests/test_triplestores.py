"""Smoke tests of tests/_triplestores.py against real Oxigraph and Virtuoso servers, and the facts about them that
``pfocr-rdf publish`` relies on (each asserted below, so a new server version that changes one fails here first).

Oxigraph 0.5 (``oxigraph serve``):
- GSP ``POST /store?graph=G`` with ``Content-Type: application/n-triples`` adds triples: 201 when G is new, 204 when
  it already exists. ``PUT``: 201 new, 204 replaced.
- ``POST /update`` with form field ``update``: ``MOVE <A> TO <B>`` answers 204; a form field ``query`` there is 400.
  ``DROP SILENT GRAPH <missing>`` 204, ``DROP GRAPH <missing>`` 500.
- ``POST /query`` with form field ``query`` and ``Accept: application/sparql-results+json``; COUNT is xsd:integer.
- ``default-graph-uri=G`` (URL or form parameter) makes G the default graph AND empties the named graphs, as the
  SPARQL protocol says: ``GRAPH <other>`` and ``GRAPH ?g`` find nothing unless ``named-graph-uri`` lists them.
- ``stop()`` then ``start()`` reopens the same store on the same port; while stopped, requests raise ConnectionError.

Virtuoso Open Source 7.2.5 (Debian ``virtuoso-opensource``), digest auth dba/dba:
- GSP ``/sparql-graph-crud-auth`` takes BOTH ``graph`` (W3C) and ``graph-uri``: POST 201 when the graph is new,
  200 when it exists (adds); PUT 201 new, 200 replaced. Wrong password: 401. A 50,000-triple POST works (~1 s).
- ``/sparql-auth`` runs SPARQL Update from form field ``update`` AND from ``query`` (200, an XML result body).
  INSERT DATA into a named graph, ``MOVE <A> TO <B>``, ``DROP SILENT GRAPH <A>`` (also on a missing graph): 200.
  ``DROP GRAPH <missing>``: 500. Wrong password: 401. An update on anonymous ``/sparql``: 500 (SR186 no permission).
- INSERT DATA limits: at most 4,990 '.'-terminated triple statements per block (4,991 -> 400 "SP030 ... memory
  exhausted"; 10,000 and 50,000 fail the same way). ';'/',' lists do not count (20,000 objects of one subject
  pass), nor do several ``INSERT DATA {...} ;`` operations in one request. Separately the update text must be at
  most 10,000,000 bytes (larger -> 500 "string session is longer than 10Mb").
- ``default-graph-uri=G``: the default graph is just G; ``GRAPH <other>`` then finds NOTHING, yet ``GRAPH ?g``
  still ranges over all graphs (inconsistent); add ``named-graph-uri=other`` to reach it.
- COUNT(*) in SPARQL JSON results: ``typed-literal`` with datatype xsd:integer.
- Bulk loader (isql): ``ld_dir(DIR, '*.nq.gz', FALLBACK)`` + ``rdf_loader_run()`` + ``checkpoint``: each quad goes to
  its own graph, a line without a graph goes to FALLBACK; ``*.nt.gz`` goes to the ld_dir graph; load_list shows
  ll_state 2 and ll_error NULL. DIR must be listed in DirsAllowed (else FA003 "Access ... denied"), except that the
  system temporary folder (the server's $TMPDIR or its default) and everything below it is always allowed.
"""

from __future__ import annotations

import gzip
import tempfile
from pathlib import Path

import pytest
import requests
from requests.auth import HTTPDigestAuth

from _triplestores import oxigraph_server, virtuoso_server

EX = "http://example.org/"
JSON = {"Accept": "application/sparql-results+json"}
NT = {"Content-Type": "application/n-triples"}
XSD_INTEGER = "http://www.w3.org/2001/XMLSchema#integer"
DBA = HTTPDigestAuth("dba", "dba")


def ntriples(n: int, tag: str = "s") -> bytes:
    return "".join(f'<{EX}{tag}{i}> <{EX}p> "{i}" .\n' for i in range(n)).encode()


def rows(response) -> list[dict[str, str]]:
    assert response.status_code == 200, response.text[:500]
    return [{k: v["value"] for k, v in b.items()} for b in response.json()["results"]["bindings"]]


# --- Oxigraph -----------------------------------------------------------------------------------------------------
@pytest.fixture
def oxigraph(tmp_path: Path):
    with oxigraph_server(tmp_path / "oxigraph") as server:
        yield server


def ox_query(url: str, query: str, **params: str) -> list[dict[str, str]]:
    return rows(requests.post(url + "/query", params=params, data={"query": query}, headers=JSON, timeout=30))


def ox_count(url: str, graph: str) -> int:
    return int(ox_query(url, f"SELECT (COUNT(*) AS ?n) WHERE {{ GRAPH <{graph}> {{ ?s ?p ?o }} }}")[0]["n"])


def test_oxigraph_gsp_post_move_count(oxigraph) -> None:
    url, a, b = oxigraph.url, EX + "A", EX + "B"
    first = requests.post(url + "/store", params={"graph": a}, data=ntriples(2), headers=NT, timeout=30)
    again = requests.post(url + "/store", params={"graph": a}, data=ntriples(3, "t"), headers=NT, timeout=30)
    assert (first.status_code, again.status_code) == (201, 204), "GSP POST: 201 new graph, 204 existing graph"
    assert ox_count(url, a) == 5, "POST adds"
    put = [requests.put(url + "/store", params={"graph": EX + "C"}, data=ntriples(2), headers=NT, timeout=30)
           for _ in range(2)]
    assert [r.status_code for r in put] == [201, 204], "GSP PUT: 201 new graph, 204 replaced"

    move = requests.post(url + "/update", data={"update": f"MOVE <{a}> TO <{b}>"}, timeout=30)
    assert move.status_code == 204, move.text
    assert (ox_count(url, a), ox_count(url, b)) == (0, 5)
    assert requests.post(url + "/update", data={"query": f"DROP SILENT GRAPH <{b}>"}, timeout=30).status_code == 400, \
        "Oxigraph reads updates only from the form field 'update'"
    assert requests.post(url + "/update", data={"update": f"DROP GRAPH <{EX}missing>"}, timeout=30).status_code == 500
    assert requests.post(url + "/update", data={"update": f"DROP SILENT GRAPH <{EX}missing>"},
                         timeout=30).status_code == 204

    response = requests.post(url + "/query", data={"query": "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }"},
                             headers=JSON, timeout=30)
    assert response.headers["content-type"].startswith("application/sparql-results+json")
    assert response.json()["results"]["bindings"][0]["n"]["datatype"] == XSD_INTEGER


def test_oxigraph_default_graph_uri(oxigraph) -> None:
    url, g1, g2 = oxigraph.url, EX + "G1", EX + "G2"
    for graph, n in [(g1, 1), (g2, 2)]:
        requests.put(url + "/store", params={"graph": graph}, data=ntriples(n), headers=NT, timeout=30)
    default = {"default-graph-uri": g1}
    assert ox_query(url, "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }", **default) == [{"n": "1"}], \
        "default-graph-uri=G1 makes G1 the default graph"
    assert ox_query(url, f"SELECT ?s WHERE {{ GRAPH <{g2}> {{ ?s ?p ?o }} }}", **default) == [], \
        "Oxigraph: with default-graph-uri alone, GRAPH <other> sees nothing (no named graphs in the dataset)"
    assert ox_query(url, "SELECT ?g WHERE { GRAPH ?g { ?s ?p ?o } }", **default) == []
    both = {**default, "named-graph-uri": g2}
    assert len(ox_query(url, f"SELECT ?s WHERE {{ GRAPH <{g2}> {{ ?s ?p ?o }} }}", **both)) == 2, \
        "named-graph-uri brings the other graph back"


def test_oxigraph_restart_same_port(oxigraph) -> None:
    url = oxigraph.url
    requests.put(url + "/store", params={"graph": EX + "A"}, data=ntriples(3), headers=NT, timeout=30)
    oxigraph.stop()
    assert oxigraph.process is None
    with pytest.raises(requests.ConnectionError):
        requests.get(url + "/query", params={"query": "ASK {}"}, timeout=5)
    oxigraph.start()
    assert oxigraph.url == url  # the same port again (start() waits, boundedly, for it to answer)
    assert ox_count(url, EX + "A") == 3, "the store survives a restart"


# --- Virtuoso -----------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def load_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("virtuoso-load")


@pytest.fixture(scope="module")
def virtuoso(tmp_path_factory, load_dir: Path):
    with virtuoso_server(tmp_path_factory.mktemp("virtuoso"), [load_dir]) as server:
        yield server


def vt_count(url: str, graph: str) -> int:
    response = requests.post(url + "/sparql", headers=JSON, timeout=30,
                             data={"query": f"SELECT (COUNT(*) AS ?n) WHERE {{ GRAPH <{graph}> {{ ?s ?p ?o }} }}"})
    return int(rows(response)[0]["n"])


def vt_update(url: str, update: str, field: str = "update", auth=DBA) -> requests.Response:
    return requests.post(url + "/sparql-auth", data={field: update}, auth=auth, timeout=60)


def test_virtuoso_gsp_graph_parameter(virtuoso) -> None:
    crud = virtuoso.url + "/sparql-graph-crud-auth"
    for name in ("graph", "graph-uri"):
        graph = f"{EX}gsp-{name}"
        post = [requests.post(crud, params={name: graph}, data=ntriples(2, f"s{k}-"), headers=NT, auth=DBA,
                              timeout=30) for k in range(2)]
        assert [r.status_code for r in post] == [201, 200], f"POST ?{name}=: 201 new graph, 200 existing"
        assert vt_count(virtuoso.url, graph) == 4, f"POST ?{name}= adds to that graph"
        put = [requests.put(crud, params={name: graph + "-put"}, data=ntriples(2), headers=NT, auth=DBA, timeout=30)
               for _ in range(2)]
        assert [r.status_code for r in put] == [201, 200], f"PUT ?{name}=: 201 new graph, 200 replaced"
        assert vt_count(virtuoso.url, graph + "-put") == 2
    wrong = requests.post(crud, params={"graph": EX + "x"}, data=ntriples(1), headers=NT,
                          auth=HTTPDigestAuth("dba", "wrong"), timeout=30)
    assert wrong.status_code == 401
    big = requests.post(crud, params={"graph": EX + "gsp-big"}, data=ntriples(50_000), headers=NT, auth=DBA,
                        timeout=120)
    assert big.status_code == 201 and vt_count(virtuoso.url, EX + "gsp-big") == 50_000


def test_virtuoso_sparql_update(virtuoso) -> None:
    url, a, b = virtuoso.url, EX + "upd-A", EX + "upd-B"
    for field in ("update", "query"):
        response = vt_update(url, f"INSERT DATA {{ GRAPH <{a}-{field}> {{ <{EX}s> <{EX}p> 1, 2 }} }}", field)
        assert response.status_code == 200, response.text[:300]
        assert vt_count(url, f"{a}-{field}") == 2, f"INSERT DATA from form field {field!r}"
    assert vt_update(url, f"MOVE <{a}-update> TO <{b}>").status_code == 200
    assert (vt_count(url, f"{a}-update"), vt_count(url, b)) == (0, 2)
    assert vt_update(url, f"DROP SILENT GRAPH <{b}>").status_code == 200 and vt_count(url, b) == 0
    assert vt_update(url, f"DROP SILENT GRAPH <{EX}missing>").status_code == 200
    assert vt_update(url, f"DROP GRAPH <{EX}missing>").status_code == 500
    assert vt_update(url, f"DROP SILENT GRAPH <{b}>", auth=HTTPDigestAuth("dba", "wrong")).status_code == 401
    insert = f"INSERT DATA {{ GRAPH <{a}> {{ <{EX}s> <{EX}p> 1 }} }}"
    anonymous = requests.post(url + "/sparql", data={"update": insert}, timeout=30)
    assert anonymous.status_code == 500 and "SR186" in anonymous.text


def insert_data(graph: str, statements: int, literal: str = "", tag: str = "s") -> str:
    body = "\n".join(f'<{EX}{tag}{i}> <{EX}p> "{literal}{i}" .' for i in range(statements))
    return f"INSERT DATA {{ GRAPH <{graph}> {{\n{body}\n}} }}"


def test_virtuoso_insert_data_limits(virtuoso) -> None:
    url = virtuoso.url
    for n, status in [(1_000, 200), (4_990, 200), (4_991, 400), (10_000, 400), (50_000, 400)]:
        response = vt_update(url, insert_data(f"{EX}big{n}", n))
        assert response.status_code == status, f"INSERT DATA of {n} triples: {response.text[:200]}"
        assert vt_count(url, f"{EX}big{n}") == (n if status == 200 else 0)
        if status == 400:
            assert "SP030" in response.text and "memory exhausted" in response.text
    listed = f"INSERT DATA {{ GRAPH <{EX}list> {{ <{EX}s> <{EX}p> " + ", ".join(map(str, range(20_000))) + " } }"
    assert vt_update(url, listed).status_code == 200 and vt_count(url, EX + "list") == 20_000, \
        "object lists do not count against the statement limit"
    several = " ;\n".join(insert_data(f"{EX}several", 4_000, tag=f"s{k}-") for k in range(3))
    assert vt_update(url, several).status_code == 200 and vt_count(url, EX + "several") == 12_000

    def sized(length: int) -> str:  # 100 statements with long literals
        return insert_data(f"{EX}size{length}", 100, "x" * length)

    length = (10_000_000 - len(sized(0).encode())) // 100
    fits, too_big = sized(length), sized(length + 1)
    assert len(fits.encode()) <= 10_000_000 < len(too_big.encode())
    assert vt_update(url, fits).status_code == 200
    response = vt_update(url, too_big)
    assert response.status_code == 500 and "longer than 10Mb" in response.text


def test_virtuoso_default_graph_uri_and_count_datatype(virtuoso) -> None:
    url, g1, g2 = virtuoso.url, EX + "dg1", EX + "dg2"
    for graph, n in [(g1, 1), (g2, 2)]:
        requests.put(url + "/sparql-graph-crud-auth", params={"graph": graph}, data=ntriples(n), headers=NT,
                     auth=DBA, timeout=30)

    def select(query: str, **params: str) -> list[dict[str, str]]:
        return rows(requests.post(url + "/sparql", params=params, data={"query": query}, headers=JSON, timeout=30))

    default = {"default-graph-uri": g1}
    assert select("SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }", **default) == [{"n": "1"}], \
        "default-graph-uri=G1: the default graph is only G1 (not the ~2,500 system triples)"
    assert select(f"SELECT ?s WHERE {{ GRAPH <{g2}> {{ ?s ?p ?o }} }}", **default) == [], \
        "Virtuoso: with default-graph-uri alone, GRAPH <other> finds nothing"
    found = select(f"SELECT DISTINCT ?g WHERE {{ GRAPH ?g {{ ?s ?p ?o }} FILTER(?g IN (<{g1}>, <{g2}>)) }}", **default)
    assert {r["g"] for r in found} == {g1, g2}, "... yet GRAPH ?g still ranges over every graph"
    both = {**default, "named-graph-uri": g2}
    assert len(select(f"SELECT ?s WHERE {{ GRAPH <{g2}> {{ ?s ?p ?o }} }}", **both)) == 2

    response = requests.post(url + "/sparql", data={"query": "SELECT COUNT(*) WHERE { ?s ?p ?o }"}, headers=JSON,
                             timeout=30)
    term = next(iter(response.json()["results"]["bindings"][0].values()))
    assert (term["type"], term["datatype"]) == ("typed-literal", XSD_INTEGER), term
    assert int(term["value"]) > 2_000, "a fresh database already holds system triples"


def test_virtuoso_bulk_loader(virtuoso, load_dir: Path) -> None:
    fallback, nt_graph = "http://example.org/fallback-graph", "http://example.org/nt-graph"
    quads = "".join(f'<{EX}q{i}> <{EX}p> "{i}" <{EX}nq-graph{i % 2}> .\n' for i in range(10))
    quads += f'<{EX}q-default> <{EX}p> "no graph" .\n'
    (load_dir / "part-1.nq.gz").write_bytes(gzip.compress(quads.encode()))
    (load_dir / "part-2.nt.gz").write_bytes(gzip.compress(ntriples(7)))
    directory = str(load_dir.resolve())
    virtuoso.isql(f"ld_dir('{directory}', '*.nq.gz', '{fallback}');"
                  f"ld_dir('{directory}', '*.nt.gz', '{nt_graph}');"
                  "rdf_loader_run();"
                  "checkpoint;")
    listing = virtuoso.isql("select ll_file, ll_graph, ll_state, ll_error from DB.DBA.load_list;")
    lines = sorted(line.split() for line in listing.splitlines() if line.strip())
    assert [(Path(f).name, g, s, e) for f, g, s, e in lines] == [
        ("part-1.nq.gz", fallback, "2", "NULL"), ("part-2.nt.gz", nt_graph, "2", "NULL")], listing

    def count(graph: str) -> int:
        return int(virtuoso.isql(f"SPARQL SELECT COUNT(*) FROM <{graph}> WHERE {{?s ?p ?o}};").strip())

    assert (count(EX + "nq-graph0"), count(EX + "nq-graph1")) == (5, 5), "N-Quads' own graph names win"
    assert count(fallback) == 1, "a line without a graph goes to the ld_dir graph"
    assert count(nt_graph) == 7, "*.nt.gz loads into the ld_dir graph"

    # Folders outside DirsAllowed are refused (FA003), except the system temporary folder ($TMPDIR or its default),
    # which Virtuoso always allows. This test folder is neither (unless the project itself lives in the temp folder).
    here = Path(__file__).resolve().parent
    if not here.is_relative_to(Path(tempfile.gettempdir()).resolve()):
        with pytest.raises(RuntimeError, match="FA003"):
            virtuoso.isql(f"ld_dir('{here}', '*.nq.gz', 'http://example.org/x');")
