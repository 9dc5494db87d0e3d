"""What the corpus-scale publish tests share (tests/test_publish_scale_*.py): a generated corpus's dump, a reader
that polls a graph's triple count, two replaces in a row, and the checks on them. One test module per store, so
that ``--dist loadfile`` runs the two on different workers. How fast publishing is against each store's own bulk
loader is measured by ``benchmarks/bench_publish.py``, not here.
"""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Self

import requests

from _support import PFOCR, PROJECT

from converter.publish import PublishReport, publish
from converter.store.derived import DERIVED_GRAPHS

GRAPH = "https://example.org/scale"
# the Debian package's [SPARQL] limits (its virtuoso.ini): a default server, as users have it
VIRTUOSO_DEFAULTS = {"SPARQL": {"ResultSetMaxRows": 10_000, "MaxQueryCostEstimationTime": 400,
                                "MaxQueryExecutionTime": 60}}


def generated_dump(folder: Path, records: int) -> Path:
    """The N-Triples dump of ``records`` generated records (seed 1), or the benchmarks' when they built that one."""
    built = PROJECT / "benchmarks" / "corpus" / f"graph-n{records}-s1" / "pfocr.nt"
    if built.is_file() and (built.parent / "report.json").is_file():  # written after the dump
        return built
    subprocess.run([sys.executable, str(PROJECT / "benchmarks" / "make_corpus.py"), str(folder / "corpus"), "-n",
                    str(records), "--seed", "1", "--shared", str(PFOCR)], check=True, capture_output=True,
                   timeout=900)
    from converter import convert

    convert([str(folder / "corpus")], output=str(folder / "out"), formats=["nt"])
    return folder / "out" / "pfocr.nt"


def small_graphs(folder: Path) -> tuple[Path, Path]:
    """A graph of three triples to replace first, and ten triples to publish with the dump the second time (so
    that the two versions differ in their count)."""
    folder.mkdir(parents=True, exist_ok=True)
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


