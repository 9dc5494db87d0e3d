"""Publishing into an external triplestore over standard protocols, in bounded batches, replacing a graph atomically.

    >>> from converter.publish import publish
    >>> report = publish(["output/pfocr.nt"], "http://127.0.0.1:7878/store")       # doctest: +SKIP
    >>> report.triples, report.verified                                              # doctest: +SKIP
    (1650, True)

Two protocols carry the batches: the SPARQL 1.1 Graph Store HTTP Protocol (``gsp``: each batch is an N-Triples
``POST`` to the store's graph store service) and SPARQL 1.1 Update (``update``: each batch is one ``INSERT DATA``).
Both add triples as a set, so a batch sent twice (a retry after a lost answer) changes nothing.

Replacing a graph (the default) never shows a half-loaded graph under its name. The batches go into a staging graph,
whose triple count must equal what was sent; then one SPARQL Update request, ``MOVE <staging> TO <graph>``, swaps
it in (the precomputed graphs that the canned queries read, :mod:`converter.derived`, are published the same way,
in the same request, unless ``with_statistics=False``). A store
runs one update request as one transaction (Oxigraph, Virtuoso, Fuseki), so readers see the old graph or the new
one. Any failure before the swap drops the staging graph and leaves the target as it was. ``append=True`` adds the
batches to the graph directly instead (no staging, no swap).

The update and query services are found from the endpoint for stores whose layout is known
(``data/triplestores.json``: Oxigraph, Virtuoso, Fuseki, GraphDB) or given explicitly.
"""

from __future__ import annotations

import itertools
import json
import re
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from importlib import resources
from typing import Callable, Iterable, Iterator, Literal
from urllib.parse import urlsplit, urlunsplit

import pyoxigraph as ox
import requests

from .derived import DERIVED_GRAPHS
from .store import StoreError, derived_from, dump_files, dump_format
from .vocab import GRAPH

Protocol = Literal["gsp", "update"]
# Triples per request. Virtuoso takes at most 4,990 triples in one INSERT DATA block and 10 MB in one request.
BATCH_SIZE = {"gsp": 50_000, "update": 4_000}
MAX_BATCH_BYTES = 8 << 20
_RETRY_STATUS = {429, 500, 502, 503, 504}


_USER_INFO = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)[^/?#\s@]*@")


def redact(text: str) -> str:
    """``text`` with the user-info (``user:password@``) of every URL in it replaced by ``***@``."""
    return _USER_INFO.sub(r"\1***@", text)


class PublishError(Exception):
    """Publishing failed; the target graph is unchanged (or, with ``append``, holds the batches sent so far).
    Its message never holds a password written into a URL."""

    def __init__(self, message: str) -> None:
        super().__init__(redact(message))


@dataclass
class PublishReport:
    """What a publish did."""

    endpoint: str
    graph: str
    protocol: str
    triples: int = 0  # sent to the data graph
    statistics: int = 0  # precomputed triples sent to the derived graphs
    batches: int = 0
    retries: int = 0
    counted: int | None = None  # triples in the target graph afterwards, by a COUNT query
    inputs: list[str] = field(default_factory=list)
    seconds: float = 0.0
    rejected: list = field(default_factory=list)  # records that could not be converted, when records were given
    sent_graphs: set[str] = field(default_factory=set)  # the precomputed graphs that received triples

    @property
    def verified(self) -> bool:
        return self.counted == self.triples

    def summary(self) -> str:
        check = ("the store holds exactly that" if self.verified
                 else f"the store holds {self.counted}" if self.counted is not None else "not counted")
        return redact(f"published {self.triples} triples into <{self.graph}> and {self.statistics} precomputed "
                      f"triples into {len(DERIVED_GRAPHS)} graphs at {self.endpoint} ({self.protocol}, {self.batches} "
                      f"batches, {self.retries} retries, {self.seconds:.1f} s); {check}")


def services(endpoint: str, protocol: Protocol) -> tuple[str | None, str | None]:
    """The (update, query) service URLs of the store behind ``endpoint``, when its layout is known."""
    stores = json.loads(resources.files("converter.data").joinpath("triplestores.json").read_text("utf-8"))
    parts = urlsplit(endpoint)
    path = parts.path.rstrip("/")
    for store in stores["stores"]:
        suffix = store[protocol]
        if suffix and path.endswith(suffix):
            base = path[: -len(suffix)]
            return tuple(urlunsplit(parts._replace(path=base + store[s], query="")) for s in ("update", "query"))
    return None, None


class _Client:
    """HTTP with retries and backoff on transient failures; every other failure is a :class:`PublishError`."""

    def __init__(self, user: str | None, password: str | None, retries: int, backoff: float, timeout: float):
        self.session = requests.Session()
        self.credentials = (user, password) if user is not None else None
        self.retries, self.backoff, self.timeout = retries, backoff, timeout
        self.retried = 0

    def request(self, method: str, url: str, what: str, **kwargs) -> requests.Response:
        for attempt in range(self.retries + 1):
            last = attempt == self.retries
            try:
                response = self.session.request(method, url, timeout=self.timeout, **kwargs)
            except requests.RequestException as err:
                if last:
                    raise PublishError(f"{what}: {url} is unreachable ({type(err).__name__}) after "
                                       f"{self.retries + 1} attempts") from None
            else:
                if response.status_code == 401:
                    response = self._authenticate(response, method, url, what, **kwargs)
                if response.status_code < 400:
                    return response
                if response.status_code in (401, 403):
                    raise PublishError(f"{what}: {url} refused the credentials (HTTP {response.status_code}); "
                                       "check --user and --password")
                if response.status_code not in _RETRY_STATUS or last:
                    raise PublishError(f"{what}: {url} answered HTTP {response.status_code}: "
                                       f"{_excerpt(response.text)}")
            self.retried += 1
            time.sleep(self.backoff * 2 ** attempt)
        raise AssertionError("unreachable")

    def _authenticate(self, response: requests.Response, method: str, url: str, what: str, **kwargs):
        """Answers a 401 challenge with the scheme the server asks for (Virtuoso: digest; Fuseki: basic)."""
        if self.credentials is None:
            raise PublishError(f"{what}: {url} needs credentials (HTTP 401); give --user and --password")
        if self.session.auth is not None:
            return response
        challenge = response.headers.get("WWW-Authenticate", "")
        digest = challenge.lower().startswith("digest")
        self.session.auth = (requests.auth.HTTPDigestAuth if digest else requests.auth.HTTPBasicAuth)(
            *self.credentials)
        return self.session.request(method, url, timeout=self.timeout, **kwargs)


def _excerpt(text: str, size: int = 300) -> str:
    text = " ".join(text.split())
    return text if len(text) <= size else text[:size] + "..."


def _batches(dumps: list[str], size: int, report: PublishReport) -> Iterator[str]:
    """N-Triples text of at most ``size`` triples and about MAX_BATCH_BYTES at a time, from dumps of any format
    (graph names dropped)."""
    lines: list[str] = []
    length = 0
    for dump in dumps:
        try:
            for quad in ox.parse(path=dump, format=dump_format(dump)):
                if isinstance(quad.subject, ox.BlankNode) or isinstance(quad.object, ox.BlankNode):
                    raise PublishError(f"{dump}: a blank node in {quad}: batches are separate documents, so "
                                       "blank nodes cannot be published in parts; give it an IRI")
                line = f"{quad.triple} .\n"
                if lines and (len(lines) == size or length + len(line) > MAX_BATCH_BYTES):
                    yield "".join(lines)
                    report.triples += len(lines)
                    lines, length = [], 0
                lines.append(line)
                length += len(line)
        except SyntaxError as err:
            raise PublishError(f"{dump}: {err}") from None
    if lines:
        yield "".join(lines)
        report.triples += len(lines)


def _nt(triples: list[ox.Triple]) -> str:
    return "".join(f"{t} .\n" for t in triples)


class _Target:
    """The store's services, spoken over one client."""

    def __init__(self, client: _Client, endpoint: str, protocol: Protocol, update: str | None, query: str | None):
        self.client, self.endpoint, self.protocol = client, endpoint, protocol
        self.update_url, self.query_url = update, query

    def add(self, graph: str, ntriples: str) -> None:
        if self.protocol == "gsp":
            self.client.request("POST", self.endpoint, "sending a batch", params={"graph": graph},
                                data=ntriples.encode("utf-8"),
                                headers={"Content-Type": "application/n-triples; charset=utf-8"})
        else:
            self.update(f"INSERT DATA {{ GRAPH <{graph}> {{\n{ntriples}}} }}", "sending a batch")

    def update(self, text: str, what: str) -> None:
        if self.update_url is None:
            raise PublishError(f"{what}: no SPARQL Update service known for {self.endpoint}; "
                               "give --update-endpoint")
        self.client.request("POST", self.update_url, what, data={"update": text.encode("utf-8")},
                            headers={"Accept": "*/*"})

    def select(self, query: str, what: str) -> list[dict]:
        if self.query_url is None:
            raise PublishError(f"{what}: no query service known for {self.endpoint}; give --query-endpoint")
        response = self.client.request("POST", self.query_url, what, data={"query": query},
                                       headers={"Accept": "application/sparql-results+json"})
        try:
            return response.json()["results"]["bindings"]
        except (ValueError, KeyError, TypeError) as err:
            raise PublishError(f"{what}: {self.query_url} gave no SPARQL results ({type(err).__name__}): "
                               f"{_excerpt(response.text)}") from None

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


def publish(
    inputs: Iterable[str],
    endpoint: str,
    *,
    graph: str = GRAPH,
    protocol: Protocol = "gsp",
    user: str | None = None,
    password: str | None = None,
    append: bool = False,
    with_statistics: bool = True,
    batch_size: int | None = None,
    update_endpoint: str | None = None,
    query_endpoint: str | None = None,
    retries: int = 4,
    backoff: float = 0.5,
    timeout: float = 300.0,
    progress: bool = False,
    on_batch: Callable[[int], None] | None = None,
) -> PublishReport:
    """Send dumps (.nt, .nq, .ttl, .jsonld) or PFOCR records into ``graph`` of the store at ``endpoint``.

    ``endpoint`` is the Graph Store Protocol service for ``protocol="gsp"`` (Oxigraph: ``/store``) or the SPARQL
    Update service for ``protocol="update"``. Raises :class:`PublishError` on any failure, after dropping the
    staging graph; the target graph is then the one that was there before.
    """
    started = time.perf_counter()
    inputs = list(inputs)
    if protocol not in BATCH_SIZE:
        raise PublishError(f"unknown protocol {protocol!r}; choose gsp or update")
    if not inputs:
        raise PublishError("nothing to publish: name dump files or PFOCR records")
    try:
        ox.NamedNode(graph)
    except ValueError:
        raise PublishError(f"--graph {graph!r} is not an IRI") from None
    known_update, known_query = services(endpoint, protocol)
    update = update_endpoint or (endpoint if protocol == "update" else known_update)
    query = query_endpoint or known_query
    client = _Client(user, password, retries, backoff, timeout)
    target = _Target(client, endpoint, protocol, update, query)
    report = PublishReport(redact(endpoint), graph, protocol, inputs=inputs)
    if query is None:
        raise PublishError(f"no query service known for {endpoint} (to count the published triples); "
                           "give --query-endpoint")
    if update is None and not append:
        raise PublishError(f"no SPARQL Update service known for {endpoint} (to swap the new graph in); "
                           "give --update-endpoint")
    staging = "-staging-"
    data_graph = graph if append else f"{graph}{staging}{uuid.uuid4().hex[:12]}"
    # appended counts would count twice: only a replace sends the precomputed graphs, each into a staging graph
    derived = {} if append or not with_statistics else {
        g: f"{g}{staging}{uuid.uuid4().hex[:12]}" for g in DERIVED_GRAPHS}
    with tempfile.TemporaryDirectory(prefix="pfocr-publish-") as work:
        try:
            dumps = dump_files(inputs, work, report.rejected)
        except StoreError as err:
            raise PublishError(str(err)) from None
        if not append:  # left by a publish whose store went away before it could clean up
            stale = [s for g in (graph, *DERIVED_GRAPHS) for s in target.graphs(g + staging)]
            if stale:
                target.update(" ; ".join(f"DROP SILENT GRAPH <{g}>" for g in stale), "dropping old staging graphs")
        try:
            _send(target, dumps, work, data_graph, derived, batch_size or BATCH_SIZE[protocol], report, progress,
                  on_batch)
            if report.triples == 0:
                raise PublishError("nothing to publish: the inputs hold no triples")
            if not append:
                counted = target.count(data_graph)
                if counted != report.triples:
                    raise PublishError(f"the staging graph <{data_graph}> holds {counted} triples, "
                                       f"{report.triples} were sent; the target graph is left as it was")
                swaps = [f"MOVE <{data_graph}> TO <{graph}>"] + [
                    f"MOVE <{staged}> TO <{g}>" if g in report.sent_graphs else f"DROP SILENT GRAPH <{g}>"
                    for g, staged in derived.items()]
                target.update(" ; ".join(swaps), "swapping the new graph in")
        except BaseException:
            if not append:
                _drop_quietly(target, data_graph, *derived.values())
            raise
    report.counted = target.count(graph)
    report.retries = client.retried
    report.seconds = time.perf_counter() - started
    if not append and not report.verified:
        raise PublishError(f"<{graph}> holds {report.counted} triples after the swap, {report.triples} were sent")
    return report


def _send(target: _Target, dumps: list[str], work: str, data_graph: str, derived: dict[str, str], size: int,
          report: PublishReport, progress: bool, on_batch: Callable[[int], None] | None) -> None:
    """The batches, then the precomputed graphs (``derived``: graph -> its staging graph) computed from the dumps."""
    from tqdm import tqdm

    with tqdm(unit=" triples", unit_scale=True, disable=not progress, desc="publishing") as bar:
        sent = 0
        for text in _batches(dumps, size, report):
            target.add(data_graph, text)
            report.batches += 1
            bar.update(report.triples - sent)
            sent = report.triples
            if on_batch is not None:
                on_batch(report.batches)
    if not derived:
        return
    with derived_from(dumps, work) as quads:
        for graph, group in itertools.groupby(quads, key=lambda q: q.graph_name.value):
            batch: list[str] = []
            for quad in group:
                batch.append(f"{quad.triple} .\n")
                if len(batch) == size:
                    target.add(derived[graph], "".join(batch))
                    report.batches += 1
                    report.statistics += len(batch)
                    batch = []
            if batch:
                target.add(derived[graph], "".join(batch))
                report.batches += 1
                report.statistics += len(batch)
            report.sent_graphs.add(graph)


def _drop_quietly(target: _Target, *graphs: str) -> None:
    """Best effort: the store may be the thing that failed."""
    target.client.retries = 0
    try:
        target.update(" ; ".join(f"DROP SILENT GRAPH <{g}>" for g in graphs), "dropping the staging graph")
    except PublishError:
        pass
