"""A store's services spoken over one client (``_Target``), and one publish job: the dumps, the batches in
flight, the progress and the checks (``_Job``)."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable
from concurrent.futures import FIRST_EXCEPTION, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pyoxigraph as ox

from ..store.apart import Apart, DerivedFiles
from ..store.load import StoreError
from .progress import Progress

if TYPE_CHECKING:
    pass
from .batches import batches
from .client import Protocol, PublishError, PublishReport, _Client, _excerpt


class _Target:
    """The store's services, spoken over one client."""

    def __init__(self, client: _Client, endpoint: str, protocol: Protocol, update: str | None, query: str | None):
        self.client, self.endpoint, self.protocol = client, endpoint, protocol
        self.update_url, self.query_url = update, query

    def fork(self) -> _Target:
        return _Target(self.client.fork(), self.endpoint, self.protocol, self.update_url, self.query_url)

    def add(self, graph: str, ntriples: bytes) -> None:
        if self.protocol == "gsp":
            self.client.request("POST", self.endpoint, "sending a batch", params={"graph": graph},
                                data=ntriples, headers={"Content-Type": "application/n-triples; charset=utf-8"})
        else:
            self.update(f"INSERT DATA {{ GRAPH <{graph}> {{\n{ntriples.decode('utf-8')}}} }}", "sending a batch")

    def update(self, text: str, what: str) -> None:
        if self.update_url is None:
            raise PublishError(f"{what}: no SPARQL Update service known for {self.endpoint}; "
                               "give --update-endpoint")
        self.client.request("POST", self.update_url, what, data={"update": text.encode("utf-8")},
                            headers={"Accept": "*/*"})

    def select(self, query: str, what: str) -> list[dict[str, Any]]:
        if self.query_url is None:
            raise PublishError(f"{what}: no query service known for {self.endpoint}; give --query-endpoint")
        response = self.client.request("POST", self.query_url, what, data={"query": query},
                                       headers={"Accept": "application/sparql-results+json"})
        try:
            rows: list[dict[str, Any]] = response.json()["results"]["bindings"]
            return rows
        except (ValueError, KeyError, TypeError) as err:
            raise PublishError(f"{what}: {self.query_url} gave no SPARQL results ({type(err).__name__}): "
                               f"{_excerpt(response.text)}") from None

    def server(self) -> str:
        """The software behind the query service, as its ``Server`` header names it ('' when it does not)."""
        response = self.client.request("POST", str(self.query_url), "asking the store its name",
                                       data={"query": "ASK {}"}, headers={"Accept": "application/sparql-results+json"})
        return response.headers.get("Server", "")

    def graphs(self, prefix: str) -> list[str]:
        """Named graphs whose IRI starts with ``prefix`` (Virtuoso cannot list graphs with ``GRAPH ?g {}``)."""
        rows = self.select(f'SELECT DISTINCT ?g WHERE {{ GRAPH ?g {{ ?s ?p ?o }} '
                           f'FILTER(STRSTARTS(STR(?g), "{prefix}")) }}', "looking for old staging graphs")
        return sorted(row["g"]["value"] for row in rows if "g" in row)

    def count(self, graph: str) -> int:
        rows = self.select(f"SELECT (COUNT(*) AS ?n) WHERE {{ GRAPH <{graph}> {{ ?s ?p ?o }} }}",
                           "counting the published triples")
        try:
            return int(rows[0]["n"]["value"])
        except (ValueError, KeyError, IndexError):
            raise PublishError(f"counting the published triples: {self.query_url} gave no count") from None

    def download(self, graph: str, path: str) -> int:
        """The triples of ``graph``, as N-Triples into ``path`` (Graph Store Protocol ``GET``, or a ``CONSTRUCT``);
        their number, checked against a count, as some stores cut long answers short."""
        if self.protocol == "gsp":
            response = self.client.request("GET", self.endpoint, "reading the graph back", params={"graph": graph},
                                           headers={"Accept": "application/n-triples"}, stream=True)
        else:
            response = self.client.request("POST", str(self.query_url), "reading the graph back",
                                           data={"query": f"CONSTRUCT WHERE {{ GRAPH <{graph}> {{ ?s ?p ?o }} }}"},
                                           headers={"Accept": "application/n-triples"}, stream=True)
        with open(path, "wb") as out:
            out.writelines(response.iter_content(1 << 20))
        got = sum(1 for _ in ox.parse(path=path, format=ox.RdfFormat.N_TRIPLES))
        there = self.count(graph)
        if got != there:
            raise PublishError(f"reading <{graph}> back to compute its precomputed graphs: the store gave {got} of "
                               f"its {there} triples (a limit on answers?)")
        return got


@dataclass
class _Job:
    """One publish's inputs and the means to send them."""

    target: _Target
    dumps: list[str]
    work: str
    report: PublishReport
    size: int
    jobs: int
    progress: Progress
    on_batch: Callable[[int], None] | None = None

    def send(self, graph: str) -> None:
        """Every triple of the dumps into ``graph``, ``jobs`` requests at once; at most twice as many batches wait in
        memory, so memory does not grow with the dumps."""
        local = threading.local()

        def post(text: bytes) -> None:
            if not hasattr(local, "target"):
                local.target = self.target.fork()
            local.target.add(graph, text)

        self.pour(post)

    def pour(self, sink: Callable[[bytes], None], jobs: int | None = None) -> None:
        """Every batch of the dumps through ``sink``, ``jobs`` at once, counted into the report and the progress."""
        jobs = jobs or self.jobs
        pending: set[Future[None]] = set()
        with ThreadPoolExecutor(jobs) as pool:
            try:
                for text, count, read in batches(self.dumps, self.size):
                    if len(pending) >= 2 * jobs:
                        done, pending = wait(pending, return_when=FIRST_EXCEPTION)
                        for future in done:
                            future.result()
                    pending.add(pool.submit(sink, text))
                    self.report.triples += count
                    self.report.batches += 1
                    self.progress.advance(count, read)
                    if self.on_batch is not None:
                        self.on_batch(self.report.batches)
                for future in pending:
                    future.result()
            except BaseException:
                for future in pending:
                    future.cancel()
                raise
        self.progress.done()

    def deriving(self, wanted: bool) -> contextlib.AbstractContextManager[Apart | None]:
        """While the batches go: the precomputed graphs of the dumps, computed in a process of its own
        (:mod:`converter.store.apart`) and ended with the block; None unless ``wanted``."""
        return Apart(self.dumps, self.work) if wanted else contextlib.nullcontext()

    def send_derived(self, files: DerivedFiles, staging: dict[str, str]) -> None:
        """The precomputed graphs' files into their staging graphs."""
        for graph, (path, count) in files.items():
            if not count:
                continue
            for text, n, _ in batches([path], self.size):
                self.target.add(staging[graph], text)
                self.report.batches += 1
                self.report.statistics += n
            self.report.sent_graphs.add(graph)


def precomputed(apart: Apart) -> DerivedFiles:
    """The precomputed graphs' files, once ``apart`` has written them."""
    try:
        return apart.result()
    except StoreError as err:
        raise PublishError(str(err)) from None
