"""``pfocr-rdf publish`` at corpus scale into a real Virtuoso with Debian's default limits: the dump of 20,000
generated records (about six million triples) replaces a graph twice while a reader polls the graph's triple count,
and the reader only ever sees a whole graph, the old count or the new one."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests
from requests.auth import HTTPDigestAuth

from _publish_scale import GRAPH, VIRTUOSO_DEFAULTS, check, generated_dump, replace_twice, small_graphs
from _triplestores import VIRTUOSO_PASSWORD, VIRTUOSO_USER, virtuoso_server


@pytest.fixture(scope="module")
def dump(tmp_path_factory):
    return generated_dump(tmp_path_factory.mktemp("scale"), 20_000)


@pytest.fixture
def small(tmp_path):
    return small_graphs(tmp_path / "small")


@pytest.fixture
def virtuoso(tmp_path) -> Iterator:
    with virtuoso_server(tmp_path / "virtuoso", settings=VIRTUOSO_DEFAULTS) as server:
        yield server


def test_virtuoso_replaces_the_corpus_twice_and_readers_see_whole_graphs(virtuoso, dump, small):
    reader, reports = replace_twice(virtuoso.url + "/sparql-graph-crud-auth", virtuoso.url + "/sparql", dump, small,
                                    user=VIRTUOSO_USER, password=VIRTUOSO_PASSWORD)
    check(reader, reports, 5_000_000)
    assert all(r.kind == "virtuoso" for r in reports)
    # one version left, and the precomputed graphs hold the second publish's counts
    auth = HTTPDigestAuth(VIRTUOSO_USER, VIRTUOSO_PASSWORD)
    listed = requests.post(virtuoso.url + "/sparql-auth", auth=auth, timeout=60,
                           data={"query": f"SELECT (sql:PFOCR_RDF_GRAPHS('{GRAPH}') AS ?r) WHERE {{}}"},
                           headers={"Accept": "application/sparql-results+json"}).json()
    lines = listed["results"]["bindings"][0]["r"]["value"].splitlines()
    assert lines == [reports[1].version, f"member {reports[1].version}"], lines
