"""``publish`` on the paths a store rarely takes: a request lost on the way and retried, a store that asks for Basic
credentials, a staging graph that does not hold what was sent, a graph changed by someone else during the swap, a
query service that answers with something other than results, and inputs it must refuse.

The store is a real Oxigraph server. Between it and ``publish`` stands a small HTTP proxy of this test, which makes
the store fail for real: it drops the first request on the floor (the connection closes unanswered), asks for Basic
credentials, swallows a batch, writes to the graph itself right after the swap, or answers a query with a web page.
"""

from __future__ import annotations

import base64
import http.client
import http.server
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from _server_support import EXAMPLES
from _triplestores import oxigraph_server

from converter.publish import PublishError, publish, services
from converter.rdf.vocab import GRAPH

GRAPH_COUNT = f"SELECT (COUNT(*) AS ?n) WHERE {{ GRAPH <{GRAPH}> {{ ?s ?p ?o }} }}"


class _Proxy(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, upstream: str, rule: Callable[[_Handler, bytes], bool]) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.upstream = urlsplit(upstream)
        self.rule = rule  # returns True when it has answered the request itself
        self.seen: list[tuple[str, str, bytes]] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class _Handler(http.server.BaseHTTPRequestHandler):
    server: _Proxy

    def log_message(self, *args) -> None:  # quiet
        pass

    def _any(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.server.seen.append((self.command, self.path, body))
        if self.server.rule(self, body):
            return
        self.forward(body)

    do_GET = do_POST = do_PUT = do_DELETE = _any

    def forward(self, body: bytes, then: Callable[[], object] | None = None) -> None:
        """Pass the request on; ``then`` runs after the store answered and before the client hears it."""
        up = http.client.HTTPConnection(self.server.upstream.hostname, self.server.upstream.port, timeout=60)
        headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "authorization")}
        up.request(self.command, self.path, body=body, headers=headers)
        answer = up.getresponse()
        data = answer.read()
        if then is not None:
            then()
        self.send_response(answer.status)
        for key, value in answer.getheaders():
            if key.lower() not in ("transfer-encoding", "connection", "content-length"):
                self.send_header(key, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
        up.close()

    def answer(self, status: int, body: bytes = b"", headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@contextmanager
def proxy(upstream: str, rule: Callable[[_Handler, bytes], bool]) -> Iterator[_Proxy]:
    server = _Proxy(upstream, rule)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def oxigraph(tmp_path) -> Iterator[str]:
    with oxigraph_server(tmp_path / "oxigraph") as store:
        yield store.url


def count(url: str) -> int:
    response = requests.post(url + "/query", data={"query": GRAPH_COUNT},
                             headers={"Accept": "application/sparql-results+json"}, timeout=60)
    return int(response.json()["results"]["bindings"][0]["n"]["value"])


def is_update(handler: _Handler, body: bytes, word: str) -> bool:
    return handler.path.startswith("/update") and word.encode() in body.upper()


def test_a_lost_request_is_retried_and_the_publish_succeeds(oxigraph):
    dropped = []

    def drop_first_batch(handler: _Handler, body: bytes) -> bool:
        if handler.path.startswith("/store") and handler.command == "POST" and not dropped:
            dropped.append(handler.path)
            handler.close_connection = True  # nothing answered: the client sees the connection end
            handler.connection.shutdown(2)
            return True
        return False

    with proxy(oxigraph, drop_first_batch) as front:
        report = publish([str(EXAMPLES)], front.url + "/store", backoff=0.01)
    assert dropped and report.retries >= 1 and report.verified
    assert count(oxigraph) == report.triples > 0


def test_basic_credentials_are_sent_when_the_store_asks(oxigraph):
    expected = "Basic " + base64.b64encode(b"alice:s3cret").decode()

    def basic(handler: _Handler, body: bytes) -> bool:
        if handler.headers.get("Authorization") != expected:
            handler.answer(401, b"who are you?", {"WWW-Authenticate": 'Basic realm="store"'})
            return True
        return False

    with proxy(oxigraph, basic) as front:
        report = publish([str(EXAMPLES)], front.url + "/store", user="alice", password="s3cret")
        assert report.verified and count(oxigraph) == report.triples
        with pytest.raises(PublishError, match="refused the credentials"):
            publish([str(EXAMPLES)], front.url + "/store", user="alice", password="wrong", retries=0)
        with pytest.raises(PublishError, match="needs credentials"):
            publish([str(EXAMPLES)], front.url + "/store", retries=0)


def test_a_staging_graph_short_of_a_batch_is_not_swapped_in(oxigraph):
    first = publish([str(EXAMPLES)], oxigraph + "/store")
    swallowed = []

    def swallow_second_batch(handler: _Handler, body: bytes) -> bool:
        if handler.path.startswith("/store") and handler.command == "POST":
            swallowed.append(handler.path)
            if len(swallowed) == 2:
                handler.answer(204)  # "stored", but nothing reached the store
                return True
        return False

    with (proxy(oxigraph, swallow_second_batch) as front,
          pytest.raises(PublishError, match="the target graph is left as it was")):
        publish([str(EXAMPLES)], front.url + "/store", batch_size=500)
    assert count(oxigraph) == first.triples
    staging = requests.post(oxigraph + "/query", data={"query": "SELECT (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } "
                                                                "FILTER(CONTAINS(STR(?g), '-staging-')) }"},
                            headers={"Accept": "application/sparql-results+json"}, timeout=60).json()
    assert staging["results"]["bindings"][0]["n"]["value"] == "0", "the staging graph was left behind"


def test_a_graph_changed_during_the_swap_is_reported(oxigraph):
    def write_after_swap(handler: _Handler, body: bytes) -> bool:
        if is_update(handler, parse_qs(body.decode()).get("update", [""])[0].encode(), "MOVE"):
            # the swap, then another writer adds to the published graph before the publisher hears the swap's
            # answer (and so before it counts the graph)
            handler.forward(body, then=lambda: requests.post(oxigraph + "/update", timeout=60, data={
                "update": f"INSERT DATA {{ GRAPH <{GRAPH}> {{ <urn:x:s> <urn:x:p> <urn:x:o> }} }}"}))
            return True
        return False

    with proxy(oxigraph, write_after_swap) as front, pytest.raises(PublishError, match="after the swap"):
        publish([str(EXAMPLES)], front.url + "/store")


def test_a_query_service_that_gives_no_results_is_an_error(oxigraph):
    def web_page(handler: _Handler, body: bytes) -> bool:
        if handler.path.startswith("/query"):
            handler.answer(200, b"<html><body>maintenance</body></html>", {"Content-Type": "text/html"})
            return True
        return False

    with proxy(oxigraph, web_page) as front, pytest.raises(PublishError, match="gave no SPARQL results"):
        publish([str(EXAMPLES)], front.url + "/store")


def test_inputs_publish_refuses(oxigraph, tmp_path):
    blank = tmp_path / "blank.nt"
    blank.write_text("_:b <https://schema.org/name> \"a blank node\" .\n", encoding="utf-8")
    with pytest.raises(PublishError, match=r"blank\.nt: a blank node"):
        publish([str(blank)], oxigraph + "/store")
    empty = tmp_path / "empty.nt"
    empty.write_text("", encoding="utf-8")
    with pytest.raises(PublishError, match="the inputs hold no triples"):
        publish([str(empty)], oxigraph + "/store")
    with pytest.raises(PublishError, match="is not an IRI"):
        publish([str(EXAMPLES)], oxigraph + "/store", graph="not an iri")
    with pytest.raises(PublishError, match="nothing to publish"):
        publish([], oxigraph + "/store")
    assert count(oxigraph) == 0


@pytest.mark.parametrize("endpoint,protocol,update,query", [
    ("http://h:3030/ds/data", "gsp", "http://h:3030/ds/update", "http://h:3030/ds/query"),  # Fuseki
    ("http://h:3030/ds/update", "update", "http://h:3030/ds/update", "http://h:3030/ds/query"),
    ("http://h:7200/repositories/r/rdf-graphs/service", "gsp", "http://h:7200/repositories/r/statements",
     "http://h:7200/repositories/r"),  # GraphDB
    ("http://h:8890/sparql-graph-crud-auth", "gsp", "http://h:8890/sparql-auth", "http://h:8890/sparql-auth"),
    ("http://h:7878/store", "gsp", "http://h:7878/update", "http://h:7878/query"),  # Oxigraph server
    ("http://h/somewhere", "gsp", None, None),
])
def test_the_services_of_each_known_store_layout(endpoint, protocol, update, query):
    assert services(endpoint, protocol) == (update, query)


def test_the_store_layouts_file_lists_each_store_once():
    import json
    from importlib import resources

    stores = json.loads(resources.files("converter.data").joinpath("triplestores.json").read_text("utf-8"))["stores"]
    names = [s["name"] for s in stores]
    assert len(names) == len(set(names))
    assert all(any(store in n.lower() for n in names) for store in ("oxigraph", "virtuoso", "fuseki", "graphdb"))
