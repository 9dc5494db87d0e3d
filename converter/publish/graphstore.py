"""Publishing into an external triplestore, in bounded batches, replacing a graph so that readers see the old graph or
the new one, never a part.

    >>> from converter.publish.graphstore import publish
    >>> report = publish(["output/pfocr.nt"], "http://127.0.0.1:7878/store")       # doctest: +SKIP
    >>> report.triples, report.verified                                              # doctest: +SKIP
    (1650, True)

Two protocols carry the batches: the SPARQL 1.1 Graph Store HTTP Protocol (``gsp``: each batch is an N-Triples
``POST`` to the store's graph store service) and SPARQL 1.1 Update (``update``: each batch is one ``INSERT DATA``).
Both add triples as a set, so a batch sent twice (a retry after a lost answer) changes nothing, and batches go
several at a time (``jobs``).

How a graph is replaced depends on the store (``store_kind``; ``auto`` asks the store its name):

- ``sparql`` (Oxigraph server, Fuseki, GraphDB, any other): the batches go into a staging graph, whose triple count
  must equal what was sent; then one SPARQL Update request, ``MOVE <staging> TO <graph>``, swaps it in, with the
  precomputed graphs the canned queries read (:mod:`converter.store.derived`). A store runs one update request as one
  transaction, so readers see the old graph or the new one.
- ``virtuoso``: a ``MOVE`` of millions of triples overflows a default Virtuoso's transaction log; the data goes into
  a new version graph instead and the graph's IRI is switched to it as a graph group
  (:mod:`converter.publish.virtuoso`).
  ``bulk`` has Virtuoso's own bulk loader read the data from a folder it shares with this machine.

Any failure before the swap drops what was sent and leaves the target as it was. ``append=True`` adds the batches
to the graph directly instead; the precomputed graphs are then computed again from the whole graph and replaced.
The update and query services are found from the endpoint for stores whose layout is known
(``data/triplestores.json``: Oxigraph, Virtuoso, Fuseki, GraphDB) or given explicitly.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import re
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_EXCEPTION, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from importlib import resources
from typing import IO, TYPE_CHECKING, Any, Literal, cast
from urllib.parse import urlsplit, urlunsplit

import pyoxigraph as ox
import requests

from ..publish.progress import Progress
from ..rdf.vocab import GRAPH
from ..store.derived import DERIVED_GRAPHS
from ..store.load import StoreError, derived_from, dump_files, dump_format

if TYPE_CHECKING:
    from ..build.pipeline import Issue

Protocol = Literal["gsp", "update"]
StoreKind = Literal["auto", "sparql", "virtuoso"]
STORE_KINDS = ("auto", "sparql", "virtuoso")
# Triples per request. Virtuoso takes at most 4,990 triples in one INSERT DATA block and 10 MB in one request.
BATCH_SIZE = {"gsp": 50_000, "update": 4_000}
MAX_BATCH_BYTES = 8 << 20
JOBS = 3  # requests at once: the fastest on 2 cores into Virtuoso and Oxigraph (docs/triplestores.md)
GRACE = 5.0  # seconds a replaced Virtuoso version stays, for the queries that started on it
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
    rejected: list[Issue] = field(default_factory=list)  # records that could not be converted, when records were given
    sent_graphs: set[str] = field(default_factory=set)  # the precomputed graphs that received triples
    kind: str = "sparql"  # how the graph was replaced: sparql (staging graph and MOVE) or virtuoso (versions)
    version: str | None = None  # Virtuoso: the graph the published IRI now stands for

    @property
    def verified(self) -> bool:
        return self.counted == self.triples

    def summary(self) -> str:
        check = ("the store holds exactly that" if self.verified
                 else f"the store holds {self.counted}" if self.counted is not None else "not counted")
        return redact(f"published {self.triples} triples into <{self.graph}> and {self.statistics} precomputed "
                      f"triples into {len(DERIVED_GRAPHS)} graphs at {self.endpoint} ({self.protocol}, {self.batches} "
                      f"batches, {self.retries} retries, {self.seconds:.1f} s); {check}")


def _layouts() -> list[dict[str, Any]]:
    text = resources.files("converter.data").joinpath("triplestores.json").read_text("utf-8")
    stores: list[dict[str, Any]] = json.loads(text)["stores"]
    return stores


def _layout(endpoint: str, protocol: Protocol) -> tuple[dict[str, Any] | None, str]:
    """The known store layout ``endpoint`` belongs to, and the endpoint's base path."""
    path = urlsplit(endpoint).path.rstrip("/")
    for store in _layouts():
        suffix = store[protocol]
        if suffix and path.endswith(suffix):
            return store, path[: -len(suffix)]
    return None, path


def services(endpoint: str, protocol: Protocol) -> tuple[str | None, str | None]:
    """The (update, query) service URLs of the store behind ``endpoint``, when its layout is known."""
    store, base = _layout(endpoint, protocol)
    if store is None:
        return None, None
    parts = urlsplit(endpoint)
    update, query = (urlunsplit(parts._replace(path=base + store[s], query="")) for s in ("update", "query"))
    return update, query


_COUNTER_LOCK = threading.Lock()
# The schemes _Client answers a challenge with. Their credentials are (user, password); a password not given goes
# as None, which requests sends as the text "None" (its annotations ask for text)
_Auth = requests.auth.HTTPBasicAuth | requests.auth.HTTPDigestAuth


class _Client:
    """HTTP with retries and backoff on transient failures; every other failure is a :class:`PublishError`."""

    def __init__(self, user: str | None, password: str | None, retries: int, backoff: float, timeout: float,
                 counter: list[int] | None = None):
        self.session = requests.Session()
        self.credentials = (user, password) if user is not None else None
        self.retries, self.backoff, self.timeout = retries, backoff, timeout
        self._counter = counter if counter is not None else [0]  # shared by the forks: one figure for the report

    @property
    def retried(self) -> int:
        return self._counter[0]

    def fork(self) -> _Client:
        """A client of its own for another thread (a session is not to be shared), counting retries with this one."""
        twin = _Client(None, None, self.retries, self.backoff, self.timeout, self._counter)
        twin.credentials = self.credentials
        if self.session.auth is not None:
            twin.session.auth = type(cast("_Auth", self.session.auth))(*cast("tuple[str, str]", self.credentials))
        return twin

    def request(self, method: str, url: str, what: str, **kwargs: Any) -> requests.Response:
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
                if response.status_code not in _RETRY_STATUS or last or _final(response):
                    raise PublishError(f"{what}: {url} answered HTTP {response.status_code}: "
                                       f"{_excerpt(response.text)}")
            with _COUNTER_LOCK:
                self._counter[0] += 1
            time.sleep(self.backoff * 2 ** attempt)
        raise AssertionError("unreachable")

    def _authenticate(self, response: requests.Response, method: str, url: str, what: str,
                      **kwargs: Any) -> requests.Response:
        """Answers a 401 challenge with the scheme the server asks for (Virtuoso: digest; Fuseki: basic)."""
        if self.credentials is None:
            raise PublishError(f"{what}: {url} needs credentials (HTTP 401); give --user and --password")
        if self.session.auth is not None:
            return response
        challenge = response.headers.get("WWW-Authenticate", "")
        digest = challenge.lower().startswith("digest")
        self.session.auth = (requests.auth.HTTPDigestAuth if digest else requests.auth.HTTPBasicAuth)(
            *cast("tuple[str, str]", self.credentials))
        return self.session.request(method, url, timeout=self.timeout, **kwargs)


# Virtuoso answers 500 to errors that another try cannot mend: a request cut off by its time limit (SR171), a
# transaction log overflow (SR325), SQL or SPARQL errors (37000, 42000, 22023). Its deadlocks (SR172) are worth one.
_FINAL = re.compile(r"\b(SR171|SR325|SR185|SR186|SP031|SQ\d{3}|37000|42000|22023|PFOCR)\b")


def _final(response: requests.Response) -> bool:
    return response.status_code == 500 and bool(_FINAL.search(response.text[:2000]))


def _excerpt(text: str, size: int = 300) -> str:
    text = " ".join(text.split())
    return text if len(text) <= size else text[:size] + "..."


class _Counting:
    """A binary file that tells how many bytes have been read from it, for the progress."""

    def __init__(self, path: str) -> None:
        self.raw = open(path, "rb")  # closed by the generator that reads it, in its finally
        self.done = 0

    def read(self, size: int = -1) -> bytes:
        data = self.raw.read(size)
        self.done += len(data)
        return data

    def close(self) -> None:
        self.raw.close()


# A blank node as subject, or as object at the end of a line; a candidate line is parsed to be sure
_BLANK = re.compile(rb"(?m)^[ \t]*_:|[>\"'][ \t]+_:[A-Za-z0-9_.\-:]+[ \t]*\.[ \t]*\r?$")


def _blank_node(dump: str, text: bytes) -> None:
    if b"_:" not in text:  # a plain search, ten times faster than the pattern
        return
    for match in _BLANK.finditer(text):
        start = text.rfind(b"\n", 0, match.start()) + 1
        end = text.find(b"\n", match.end())
        line = text[start:end if end >= 0 else len(text)]
        for quad in ox.parse(line, format=ox.RdfFormat.N_TRIPLES):
            if isinstance(quad.subject, ox.BlankNode) or isinstance(quad.object, ox.BlankNode):
                raise PublishError(f"{dump}: a blank node in {quad}: batches are separate documents, so "
                                   "blank nodes cannot be published in parts; give it an IRI")


def batches(dumps: list[str], size: int, max_bytes: int = MAX_BATCH_BYTES) -> Iterator[tuple[bytes, int, int]]:
    """(N-Triples text of at most ``size`` triples and about ``max_bytes``, its triples, bytes of the dumps read so
    far) from dumps of any format, graph names dropped. N-Triples dumps pass through as they are, line by line (the
    store checks their syntax); other formats are parsed and written again."""
    before = 0
    for dump in dumps:
        reader = _Counting(dump)
        try:
            if dump_format(dump) == ox.RdfFormat.N_TRIPLES:
                yield from _lines(dump, reader, size, max_bytes, before)
            else:
                yield from _parsed(dump, reader, size, max_bytes, before)
        except SyntaxError as err:
            raise PublishError(f"{dump}: {err}") from None
        finally:
            before += reader.done
            reader.close()


# A line that may be no triple (blank, a comment) or may not start with one: such blocks go line by line. One
# literal character class after a line end, because a multi-line pattern ran several times slower.
_ODD_LINE = re.compile(rb"\n[\n\r\t #]")


def _lines(dump: str, reader: _Counting, size: int, max_bytes: int, before: int) -> Iterator[tuple[bytes, int, int]]:
    """Blocks of whole lines cut at line ends, without looking at each line: splitting six million lines one by one
    took as long as half of Virtuoso's bulk loader. Blocks holding a comment or a blank line go line by line."""
    rest = b""
    while True:
        block = reader.read(max(max_bytes - len(rest), 1 << 20))  # a line longer than a batch goes alone
        if not block:
            break
        text = rest + block
        cut = text.rfind(b"\n") + 1
        text, rest = text[:cut], text[cut:]
        if not text:
            continue
        _blank_node(dump, text)
        if _ODD_LINE.search(text) or text[:1] in b"\r\t #":
            yield from _line_by_line(text, size, max_bytes, before + reader.done)
            continue
        start = 0
        while start < len(text):
            end = start
            for _ in range(size):  # the end of the size-th line, or of the block
                end = text.find(b"\n", end) + 1
                if end == 0:
                    end = len(text)
                    break
                if end == len(text):
                    break
            piece = text[start:end]
            yield (piece if piece.endswith(b"\n") else piece + b"\n"), piece.count(b"\n") or 1, \
                before + reader.done
            start = end
    if rest.strip():
        _blank_node(dump, rest)
        yield from _line_by_line(rest + b"\n", size, max_bytes, before + reader.done)


def _line_by_line(text: bytes, size: int, max_bytes: int, read: int) -> Iterator[tuple[bytes, int, int]]:
    lines: list[bytes] = []
    length = 0
    for line in text.splitlines(keepends=True):
        stripped = line.strip()
        if not stripped or stripped.startswith(b"#"):
            continue
        if lines and (len(lines) == size or length + len(line) > max_bytes):
            yield b"".join(lines), len(lines), read
            lines, length = [], 0
        lines.append(line if line.endswith(b"\n") else line + b"\n")
        length += len(line)
    if lines:
        yield b"".join(lines), len(lines), read


def _parsed(dump: str, reader: _Counting, size: int, max_bytes: int, before: int) -> Iterator[tuple[bytes, int, int]]:
    lines: list[str] = []
    length = 0
    for quad in ox.parse(cast("IO[bytes]", reader), format=dump_format(dump)):  # reader reads as a binary file does
        if isinstance(quad.subject, ox.BlankNode) or isinstance(quad.object, ox.BlankNode):
            raise PublishError(f"{dump}: a blank node in {quad}: batches are separate documents, so "
                               "blank nodes cannot be published in parts; give it an IRI")
        line = f"{quad.triple} .\n"
        if lines and (len(lines) == size or length + len(line) > max_bytes):
            yield "".join(lines).encode("utf-8"), len(lines), before + reader.done
            lines, length = [], 0
        lines.append(line)
        length += len(line)
    if lines:
        yield "".join(lines).encode("utf-8"), len(lines), before + reader.done


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

    def derive(self, pool: ThreadPoolExecutor, extra: Iterable[str] = ()) -> Future[dict[str, tuple[str, int]]]:
        """In the background: the precomputed graphs of the dumps (and ``extra`` dumps), written to N-Triples files
        in the work folder; the future's value maps each graph to (file, triples)."""
        return pool.submit(_derived_files, [*extra, *self.dumps], self.work)

    def send_derived(self, files: dict[str, tuple[str, int]], staging: dict[str, str]) -> None:
        """The precomputed graphs' files into their staging graphs."""
        for graph, (path, count) in files.items():
            if not count:
                continue
            for text, n, _ in batches([path], self.size):
                self.target.add(staging[graph], text)
                self.report.batches += 1
                self.report.statistics += n
            self.report.sent_graphs.add(graph)


def _derived_files(dumps: list[str], work: str) -> dict[str, tuple[str, int]]:
    files = {g: (os.path.join(work, f"derived-{i}.nt"), 0) for i, g in enumerate(DERIVED_GRAPHS)}
    counts = dict.fromkeys(DERIVED_GRAPHS, 0)
    try:
        with contextlib.ExitStack() as stack:
            outs = {g: stack.enter_context(open(path, "w", encoding="utf-8")) for g, (path, _) in files.items()}
            with derived_from(dumps, work) as quads:
                for quad in quads:
                    graph = cast("ox.NamedNode", quad.graph_name).value  # a derived graph
                    outs[graph].write(f"{quad.triple} .\n")
                    counts[graph] += 1
    except StoreError as err:
        raise PublishError(str(err)) from None
    return {g: (path, counts[g]) for g, (path, _) in files.items()}


def _store_kind(requested: StoreKind, endpoint: str, protocol: Protocol, target: _Target, user: str | None) -> str:
    """The kind asked for, or the store's own: Virtuoso by its layout or its Server header, with an account to run
    SQL as (without one, only the standard protocols are open); anything else speaks the standard protocols."""
    if requested != "auto":
        return requested
    if user is None:
        return "sparql"
    layout, _ = _layout(endpoint, protocol)
    if layout is not None:
        kind: str = layout.get("kind", "sparql")
        return kind
    return "virtuoso" if "virtuoso" in target.server().lower() else "sparql"


def _redacted(function: Callable[..., PublishReport]) -> Callable[..., PublishReport]:
    """Errors without the passwords of the URLs they name, whichever step raised them."""

    @functools.wraps(function)
    def run(*args: Any, **kwargs: Any) -> PublishReport:
        try:
            return function(*args, **kwargs)
        except PublishError as err:
            raise PublishError(redact(str(err))) from None

    return run


@_redacted
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
    progress: bool | Progress = False,
    on_batch: Callable[[int], None] | None = None,
    store_kind: StoreKind = "auto",
    bulk: str | None = None,
    jobs: int = JOBS,
    grace: float = GRACE,
) -> PublishReport:
    """Send dumps (.nt, .nq, .ttl, .jsonld) or PFOCR records into ``graph`` of the store at ``endpoint``.

    ``endpoint`` is the Graph Store Protocol service for ``protocol="gsp"`` (Oxigraph: ``/store``) or the SPARQL
    Update service for ``protocol="update"``. ``bulk`` (Virtuoso) is a folder the store's server can read, where
    its bulk loader finds the data. Raises :class:`PublishError` on any failure, after dropping what was sent; the
    target graph is then the one that was there before.
    """
    started = time.perf_counter()
    inputs = list(inputs)
    if protocol not in BATCH_SIZE:
        raise PublishError(f"unknown protocol {protocol!r}; choose gsp or update")
    if store_kind not in STORE_KINDS:
        raise PublishError(f"unknown store kind {store_kind!r}; choose {', '.join(STORE_KINDS)}")
    if not inputs:
        raise PublishError("nothing to publish: name dump files or PFOCR records")
    try:
        ox.NamedNode(graph)
    except ValueError:
        raise PublishError(f"--graph {graph!r} is not an IRI") from None
    if bulk is not None and not os.path.isdir(bulk):
        raise PublishError(f"--bulk {bulk}: no such folder")
    known_update, known_query = services(endpoint, protocol)
    update = update_endpoint or (endpoint if protocol == "update" else known_update)
    query = query_endpoint or known_query
    client = _Client(user, password, retries, backoff, timeout)
    target = _Target(client, endpoint, protocol, update, query)
    report = PublishReport(redact(endpoint), graph, protocol, inputs=inputs)
    if query is None:
        raise PublishError(f"no query service known for {endpoint} (to count the published triples); "
                           "give --query-endpoint")
    kind = report.kind = _store_kind(store_kind, endpoint, protocol, target, user)
    if update is None and not (append and kind == "sparql"):
        raise PublishError(f"no SPARQL Update service known for {endpoint} (to swap the new graph in); "
                           "give --update-endpoint")
    if bulk is not None and kind != "virtuoso":
        raise PublishError("--bulk hands the data to Virtuoso's bulk loader: it needs a Virtuoso store (and "
                           "--user for its dba account)")
    with tempfile.TemporaryDirectory(prefix="pfocr-publish-") as work:
        try:
            dumps = dump_files(inputs, work, report.rejected)
        except StoreError as err:
            raise PublishError(str(err)) from None
        meter = progress if isinstance(progress, Progress) else Progress(
            sum(os.path.getsize(d) for d in dumps), None)
        if progress is True:
            from ..publish.progress import for_command_line

            meter = for_command_line(meter.total)
        job = _Job(target, dumps, work, report, batch_size or BATCH_SIZE[protocol], max(1, jobs), meter, on_batch)
        if kind == "virtuoso":
            from ..publish.virtuoso import publish_virtuoso

            publish_virtuoso(job, graph, append, with_statistics, bulk, grace)
        else:
            _publish_standard(job, graph, append, with_statistics)
    report.retries = client.retried
    report.seconds = time.perf_counter() - started
    return report


def _publish_standard(job: _Job, graph: str, append: bool, with_statistics: bool) -> None:
    """Staging graph, count, one ``MOVE`` (or, appending, straight into the graph)."""
    target, report = job.target, job.report
    staging = "-staging-"
    derived = {g: f"{g}{staging}{uuid.uuid4().hex[:12]}" for g in DERIVED_GRAPHS} if with_statistics else {}
    if append:
        job.send(graph)
        if report.triples == 0:
            raise PublishError("nothing to publish: the inputs hold no triples")
        if derived:  # the counts are of the whole graph: read it back, with what was there before
            whole = os.path.join(job.work, "whole.nt")
            target.download(graph, whole)
            files = _derived_files([whole], job.work)
            _swap_derived(job, files, derived)
        report.counted = report.triples  # a graph added to holds more than was sent: nothing to compare
        return
    data_graph = f"{graph}{staging}{uuid.uuid4().hex[:12]}"
    # left by a publish whose store went away before it could clean up
    stale = [s for g in (graph, *DERIVED_GRAPHS) for s in target.graphs(g + staging)]
    if stale:
        target.update(" ; ".join(f"DROP SILENT GRAPH <{g}>" for g in stale), "dropping old staging graphs")
    with ThreadPoolExecutor(1) as background:
        try:
            derived_files = job.derive(background) if derived else None
            job.send(data_graph)
            if report.triples == 0:
                raise PublishError("nothing to publish: the inputs hold no triples")
            if derived_files is not None:
                job.progress.step("computing the precomputed graphs")
                job.send_derived(derived_files.result(), derived)
            counted = target.count(data_graph)
            if counted != report.triples:
                raise PublishError(f"the staging graph <{data_graph}> holds {counted} triples, "
                                   f"{report.triples} were sent; the target graph is left as it was")
            swaps = [f"MOVE <{data_graph}> TO <{graph}>"] + [
                f"MOVE <{staged}> TO <{g}>" if g in report.sent_graphs else f"DROP SILENT GRAPH <{g}>"
                for g, staged in derived.items()]
            job.progress.step("swapping the new graph in")
            target.update(" ; ".join(swaps), "swapping the new graph in")
        except BaseException:
            _drop_quietly(target, data_graph, *derived.values())
            raise
    report.counted = target.count(graph)
    if not report.verified:
        raise PublishError(f"<{graph}> holds {report.counted} triples after the swap, {report.triples} were sent")


def _swap_derived(job: _Job, files: dict[str, tuple[str, int]], staging: dict[str, str]) -> None:
    """Replace the precomputed graphs by ``files`` through staging graphs and one ``MOVE`` request."""
    try:
        job.send_derived(files, staging)
        job.target.update(" ; ".join(
            f"MOVE <{staged}> TO <{g}>" if g in job.report.sent_graphs else f"DROP SILENT GRAPH <{g}>"
            for g, staged in staging.items()), "swapping the precomputed graphs in")
    except BaseException:
        _drop_quietly(job.target, *staging.values())
        raise


def _drop_quietly(target: _Target, *graphs: str) -> None:
    """Best effort: the store may be the thing that failed."""
    target.client.retries = 0
    with contextlib.suppress(PublishError):
        target.update(" ; ".join(f"DROP SILENT GRAPH <{g}>" for g in graphs), "dropping the staging graph")
