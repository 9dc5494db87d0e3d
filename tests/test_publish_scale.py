"""``pfocr-rdf publish`` at corpus scale: the N-Triples dump of a generated corpus of 20,000 records (about six
million triples) replaces a graph twice in a real Virtuoso, with Debian's default limits, and a tenth of it in a real
Oxigraph server, while a reader polls the graph's triple count. The reader must only ever see a whole graph: the
old count or the new one.

One module, so that ``--dist loadfile`` runs it on one worker; the dump is built once (or taken from the benchmarks'
corpus folder when ``benchmarks/bench_query.py`` or ``bench_publish.py`` has built it already). How fast publishing
is against each store's own bulk loader is measured by ``benchmarks/bench_publish.py``, not here.
"""

from __future__ import annotations

import itertools
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Self

import pytest
import requests
from _support import PFOCR, PROJECT
from _triplestores import (
    VIRTUOSO_PASSWORD,
    VIRTUOSO_USER,
    oxigraph_server,
    virtuoso_server,
)
from requests.auth import HTTPDigestAuth

from converter.derived import DERIVED_GRAPHS
from converter.publish import PublishReport, publish

RECORDS = 20_000
OXIGRAPH_TRIPLES = 600_000  # the first lines of the dump, about 2,000 records' worth
GRAPH = "https://example.org/scale"
# the Debian package's [SPARQL] limits (its virtuoso.ini): a default server, as users have it
VIRTUOSO_DEFAULTS = {"SPARQL": {"ResultSetMaxRows": 10_000, "MaxQueryCostEstimationTime": 400,
                                "MaxQueryExecutionTime": 60}}
BENCHMARK_DUMP = PROJECT / "benchmarks" / "corpus" / f"graph-n{RECORDS}-s1" / "pfocr.nt"

pytestmark = pytest.mark.skipif(not (PFOCR / "bulk").is_dir() and not BENCHMARK_DUMP.is_file(),
                                reason="needs the bulk PFOCR tables (../shared/pfocr/bulk) to generate the corpus")


@pytest.fixture(scope="module")
def dump(tmp_path_factory) -> Path:
    """The N-Triples dump of 20,000 generated records."""
    if BENCHMARK_DUMP.is_file() and (BENCHMARK_DUMP.parent / "report.json").is_file():  # written after the dump
        return BENCHMARK_DUMP
    folder = tmp_path_factory.mktemp("scale")
    subprocess.run([sys.executable, str(PROJECT / "benchmarks" / "make_corpus.py"), str(folder / "corpus"), "-n",
                    str(RECORDS), "--seed", "1", "--shared", str(PFOCR)], check=True, capture_output=True,
                   timeout=900)
    from converter import convert

    convert([str(folder / "corpus")], output=str(folder / "out"), formats=["nt"])
    return folder / "out" / "pfocr.nt"


@pytest.fixture(scope="module")
def small(tmp_path_factory) -> tuple[Path, Path]:
    """A graph of three triples to replace first, and ten triples to publish with the dump the second time (so
    that the two versions differ in their count)."""
    folder = tmp_path_factory.mktemp("scale-small")
    old, extra = folder / "old.nt", folder / "extra.nt"
    old.write_text("".join(f"<https://example.org/old/{i}> <https://example.org/p> \"{i}\" .\n" for i in range(3)))
    extra.write_text("".join(f"<https://example.org/extra/{i}> <https://example.org/p> \"{i}\" .\n"
                             for i in range(10)))
    return old, extra


class Reader:
    """Polls the number of triples a reader sees in the graph (as its default graph, as the canned queries read
    it) until stopped; every count seen, and every answer that was not one."""

    def __init__(self, query_url: str, graph: str) -> None:
        self.query_url, self.graph = query_url, graph
        self.seen: list[int] = []
        self.failures: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        session = requests.Session()
        query = f"SELECT (COUNT(*) AS ?n) FROM <{self.graph}> WHERE {{ ?s ?p ?o }}"
        while not self._stop.is_set():
            try:
                response = session.post(self.query_url, data={"query": query}, timeout=60,
                                        headers={"Accept": "application/sparql-results+json"})
                if response.status_code == 200:
                    self.seen.append(int(response.json()["results"]["bindings"][0]["n"]["value"]))
                else:
                    self.failures.append(f"HTTP {response.status_code}: {response.text[:200]}")
            except requests.RequestException as err:
                self.failures.append(repr(err))
            self._stop.wait(0.1)

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(120)


def replace_twice(endpoint: str, query_url: str, dump: Path, small: tuple[Path, Path],
                  **credentials: str) -> tuple[Reader, list[PublishReport]]:
    old, extra = small
    first = publish([str(old)], endpoint, graph=GRAPH, **credentials)
    assert first.verified and first.triples == 3
    with Reader(query_url, GRAPH) as reader:
        reports = [publish([str(dump)], endpoint, graph=GRAPH, **credentials),
                   publish([str(dump), str(extra)], endpoint, graph=GRAPH, **credentials)]
        time.sleep(0.5)  # a last look at the final graph
    return reader, reports


def check(reader: Reader, reports: list[PublishReport], at_least: int) -> None:
    corpus, again = reports
    assert corpus.verified and corpus.triples >= at_least, corpus.summary()
    assert again.verified and again.triples == corpus.triples + 10, again.summary()
    # every mode publishes the precomputed counts, and says how many
    assert corpus.statistics == again.statistics > 1_000 and corpus.sent_graphs == set(DERIVED_GRAPHS)
    assert not reader.failures, reader.failures[:3]
    whole = {3, corpus.triples, again.triples}
    assert len(reader.seen) > 20 and set(reader.seen) <= whole, sorted(set(reader.seen) - whole)[:5]
    assert reader.seen[-1] == again.triples


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


def test_oxigraph_server_replaces_a_tenth_of_the_corpus_twice_and_readers_see_whole_graphs(tmp_path, dump, small):
    """A tenth of the dump: Oxigraph runs the one ``MOVE`` request in one transaction held in memory, and the
    server's memory grew past 15 GB on the second replace of the whole 20,000-record graph (docs/triplestores.md)."""
    part = tmp_path / "part.nt"
    with open(dump, "rb") as source, open(part, "wb") as out:
        out.writelines(itertools.islice(source, OXIGRAPH_TRIPLES))
    with oxigraph_server(tmp_path / "oxigraph") as server:
        reader, reports = replace_twice(server.url + "/store", server.url + "/query", part, small)
    check(reader, reports, OXIGRAPH_TRIPLES)
    assert all(r.kind == "sparql" for r in reports)
