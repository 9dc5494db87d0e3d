"""Helpers for the endpoint tests: start the real server (in a thread, or as ``pfocr-rdf serve`` in a process),
send raw HTTP requests with :mod:`http.client`, run the CLI, and compare SPARQL results.

Every server here binds 127.0.0.1 on a port the system picks, and every wait is bounded.
"""

from __future__ import annotations

import base64
import http.client
import json
import os
import queue
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path

import pyoxigraph as ox

from _support import rdflib_term

from converter.store.load import load
from converter.web.endpoint import Endpoint
from converter.web.server import Server, make_server

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples" / "pfocr"
HOST = "127.0.0.1"
START_TIMEOUT = 30.0  # seconds a server may take to come up
PASSWORD = "correct horse battery staple"  # the password of the writable servers the tests start
BASIC = {"Authorization": "Basic " + base64.b64encode(f"admin:{PASSWORD}".encode()).decode()}
BEARER = {"Authorization": f"Bearer {PASSWORD}"}


def cli_command() -> list[str]:
    """``pfocr-rdf`` as installed beside the running interpreter, or ``python -m converter``."""
    script = Path(sys.executable).with_name("pfocr-rdf")
    return [str(script)] if script.is_file() else [sys.executable, "-m", "converter"]


def build_store(path: Path, inputs: list[Path] | None = None) -> Path:
    """An embedded store built with :func:`converter.store.load.load` (the example records by default)."""
    load([str(p) for p in (inputs or [EXAMPLES])], str(path))
    return path


# The examples plus one record whose title, caption, keywords and gene symbol carry markup: the web pages must show
# them as text.
HOSTILE_FIGID = "PMC999001__hostile-f1"
HOSTILE = {
    "figid": HOSTILE_FIGID, "pmcid": "PMC999001",
    "figtitle": 'Evil "title" & <b>bold</b> </title><script>alert("title")</script>',
    "caption": '<script>alert("caption")</script></script><!-- & <img src=x onerror=alert(1)>',
    "year": "2021", "keywords": "</script><script>alert(2)</script>|ferroptosis",
    "genes": [{"word": "<svg onload=alert(3)>", "symbol": "TP53", "source": "hgnc_symbol", "entrez": "7157",
               "hgnc_symbol": "<i>TP53</i>"}],
}


def build_site_store(folder: Path) -> tuple[Path, Path]:
    """The examples plus the hostile record converted (with void.ttl) into ``folder/out`` and loaded into
    ``folder/store``."""
    from _support import write_record

    from converter import convert

    write_record(folder / "hostile" / "_figures" / f"{HOSTILE_FIGID}.md", HOSTILE)
    out = folder / "out"
    report = convert([str(EXAMPLES), str(folder / "hostile")], output=str(out), formats=["nt"], jobs=1)
    assert report.records_converted >= 10 and HOSTILE_FIGID not in {i.figid for i in report.rejected}
    load([str(out / "pfocr.nt")], str(folder / "store"))
    return out, folder / "store"


# --- servers ----------------------------------------------------------------------------------------------------
@dataclass
class Running:
    """A running server: where it listens and how to stop it."""

    host: str
    port: int
    stop: object = field(repr=False)
    server: Server | None = None
    process: subprocess.Popen | None = None
    log: list[str] = field(default_factory=list)
    headers: dict[str, str] = field(default_factory=dict)  # sent with every request (credentials, say)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}/sparql"

    def request(self, method: str, path: str, body: bytes | str | None = None,
                headers: dict[str, str] | None = None, timeout: float = 30.0, source: str | None = None) -> Response:
        return http_request(self.host, self.port, method, path, body, {**self.headers, **(headers or {})}, timeout,
                            source)


def start_thread_server(store: Path, request_timeout: float = 30.0, access=None, **options) -> Running:
    """``make_server(Endpoint(store, **options), port=0)`` serving in a background thread."""
    server = make_server(Endpoint(str(store), **options), port=0, request_timeout=request_timeout, access=access)
    server.start()
    host, port = server.server_address
    return Running(host, port, server.stop, server=server)


def start_cli_server(store: Path, *args: str, password: str | None = None) -> Running:
    """``pfocr-rdf serve --store STORE --port 0 ARGS`` in a process; the URL it prints on standard error gives
    the port. ``password``: the writable server's (in its environment); every request then carries it."""
    command = [*cli_command(), "serve", "--store", str(store), "--port", "0", *args]
    env = {**os.environ, "PFOCR_RDF_SERVE_PASSWORD": password} if password is not None else None
    process = subprocess.Popen(command, cwd=ROOT, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE, text=True, env=env)
    lines: queue.Queue = queue.Queue()
    log: list[str] = []

    def drain() -> None:  # keeps reading so the pipe never fills
        for line in process.stderr:
            log.append(line)
            lines.put(line)
        lines.put(None)

    threading.Thread(target=drain, daemon=True).start()

    def stop() -> None:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(5)

    deadline = time.monotonic() + START_TIMEOUT
    while True:
        left = deadline - time.monotonic()
        try:
            line = lines.get(timeout=max(0.01, left))
        except queue.Empty:
            line = None
        if line is None or left <= 0:
            stop()
            raise RuntimeError(f"pfocr-rdf serve did not start: {''.join(log)}")
        match = re.search(r"http://([^/\s]+):(\d+)/sparql", line)
        if match:
            auth = {"Authorization": "Bearer " + password} if password is not None else {}
            return Running(match.group(1), int(match.group(2)), stop, process=process, log=log, headers=auth)


# --- HTTP ---------------------------------------------------------------------------------------------------------
@dataclass
class Response:
    status: int
    headers: dict[str, str]  # lower-case names
    body: bytes

    @property
    def media(self) -> str:
        return self.headers.get("content-type", "").split(";")[0].strip().lower()

    def text(self) -> str:
        return self.body.decode("utf-8")

    def json(self):
        return json.loads(self.body)


def http_request(host: str, port: int, method: str, path: str, body: bytes | str | None = None,
                 headers: dict[str, str] | None = None, timeout: float = 30.0, source: str | None = None) -> Response:
    """One request on a fresh connection, with exactly the given headers (http.client adds Host,
    Accept-Encoding: identity and Content-Length only). ``source``: the loopback address to send from (each of
    127.0.0.0/8 is a client of its own to the server)."""
    connection = http.client.HTTPConnection(host, port, timeout=timeout,
                                            source_address=(source, 0) if source else None)
    try:
        if isinstance(body, str):
            body = body.encode("utf-8")
        connection.request(method, path, body=body, headers=headers or {})
        response = connection.getresponse()
        data = response.read()
        return Response(response.status, {k.lower(): v for k, v in response.getheaders()}, data)
    finally:
        connection.close()


# --- results ------------------------------------------------------------------------------------------------------
RESULT_FORMATS = {
    "application/sparql-results+json": ox.QueryResultsFormat.JSON,
    "application/json": ox.QueryResultsFormat.JSON,
    "application/sparql-results+xml": ox.QueryResultsFormat.XML,
    "application/xml": ox.QueryResultsFormat.XML,
    "text/csv": ox.QueryResultsFormat.CSV,
    "text/tab-separated-values": ox.QueryResultsFormat.TSV,
}
RDF_FORMATS = {
    "text/turtle": ox.RdfFormat.TURTLE,
    "application/n-triples": ox.RdfFormat.N_TRIPLES,
    "text/plain": ox.RdfFormat.N_TRIPLES,
    "application/ld+json": ox.RdfFormat.JSON_LD,
    "application/rdf+xml": ox.RdfFormat.RDF_XML,
    "application/n-quads": ox.RdfFormat.N_QUADS,
}


def query_form(text: str) -> str:
    """SELECT, ASK, CONSTRUCT or DESCRIBE: the first of those keywords in the query."""
    bare = re.sub(r"#[^\n]*|<[^<>\s]*>|\"(?:[^\"\\\n]|\\.)*\"|'(?:[^'\\\n]|\\.)*'", " ", text)
    match = re.search(r"\b(SELECT|ASK|CONSTRUCT|DESCRIBE)\b", bare, re.I)
    if match is None:
        raise ValueError("not a query")
    return match.group(1).upper()


def json_rows(document: dict) -> Counter:
    """SPARQL JSON results as a multiset of rows, each row a sorted tuple of (variable, type, value, datatype,
    language); blank node labels are not compared."""
    rows = Counter()
    for binding in document["results"]["bindings"]:
        row = []
        for name, term in binding.items():
            kind = term["type"]
            kind = "literal" if kind == "typed-literal" else kind
            value = "_:b" if kind == "bnode" else term["value"]
            datatype = term.get("datatype")
            if kind == "literal" and datatype is None and "xml:lang" not in term:
                datatype = "http://www.w3.org/2001/XMLSchema#string"
            row.append((name, kind, value, datatype, term.get("xml:lang")))
        rows[tuple(sorted(row))] += 1
    return rows


def ox_rows(results: ox.QuerySolutions) -> Counter:
    """Parsed query solutions as the same multiset as :func:`json_rows`."""
    rows = Counter()
    names = [v.value for v in results.variables]
    for solution in results:
        row = []
        for name in names:
            term = solution[name]
            if term is None:
                continue
            if isinstance(term, ox.NamedNode):
                row.append((name, "uri", term.value, None, None))
            elif isinstance(term, ox.BlankNode):
                row.append((name, "bnode", "_:b", None, None))
            else:
                datatype = None if term.language else term.datatype.value
                row.append((name, "literal", term.value, datatype, term.language))
        rows[tuple(sorted(row))] += 1
    return rows


def run_cli(*args: str, timeout: float = 60.0) -> str:
    """Run ``pfocr-rdf ARGS`` and return its standard output (it must succeed)."""
    done = subprocess.run([*cli_command(), *args], cwd=ROOT, capture_output=True, text=True, timeout=timeout,
                          stdin=subprocess.DEVNULL, env={**os.environ, "COLUMNS": "200"})
    if done.returncode != 0:
        raise AssertionError(f"pfocr-rdf {' '.join(args)} failed ({done.returncode}): {done.stderr}")
    return done.stdout


def cli_query(store: Path, name: str, params: dict[str, str], fmt: str) -> str:
    args = ["query", name, "--store", str(store), "--format", fmt]
    for key, value in params.items():
        args += ["--param", f"{key}={value}"]
    return run_cli(*args)


def graph_of(data: bytes | str, fmt: ox.RdfFormat) -> object:
    """An rdflib graph of RDF text parsed by pyoxigraph (for isomorphism checks)."""
    import rdflib

    graph = rdflib.Graph()
    for triple in ox.parse(data.encode("utf-8") if isinstance(data, str) else data, format=fmt):
        graph.add(tuple(rdflib_term(t) for t in (triple.subject, triple.predicate, triple.object)))
    return graph



def example_params(name: str, params) -> dict[str, str]:
    """Parameter values for a canned query on the example records: the defaults, except for the few parameters
    whose defaults name records the examples do not have."""
    overrides = {"figid": "PMC6512345__nihms-1029384-f0003", "article": "PMC6512345", "min_figures": "1",
                 "min_shared": "1"}
    return {p.name: overrides.get(p.name, p.default) for p in params}


def descendants(pid: int) -> list[int]:
    """The processes below ``pid`` (the query workers, their fork server, the resource tracker), from /proc."""
    found, todo = [], [pid]
    while todo:
        try:
            children = [int(c) for task in Path(f"/proc/{todo.pop()}/task").iterdir()
                        for c in (task / "children").read_text().split()]
        except (FileNotFoundError, ProcessLookupError):
            continue
        found += children
        todo += children
    return found


def tree_rss_mib(pid: int) -> float:
    """Resident memory of a process and all its descendants, in MiB."""
    total = 0
    for current in (pid, *descendants(pid)):
        try:
            total += sum(int(line.split()[1]) for line in Path(f"/proc/{current}/status").read_text().splitlines()
                         if line.startswith("VmRSS:"))
        except (FileNotFoundError, ProcessLookupError):
            continue
    return total / 1024


class Hostile(threading.Thread):
    """A client at its own loopback address that sends hostile queries one after another until stopped; stopping
    shuts its connection down at once (the server sees the client leave)."""

    def __init__(self, running: Running, source: str, queries: list[str], update: bool = False) -> None:
        super().__init__(daemon=True)
        self.running, self.source, self.queries, self.update = running, source, queries, update
        self.stop = threading.Event()
        self.answers: Counter = Counter()
        self.connection: http.client.HTTPConnection | None = None

    def run(self) -> None:
        from urllib.parse import urlencode

        n = 0
        while not self.stop.is_set():
            text = self.queries[n % len(self.queries)]
            n += 1
            self.connection = http.client.HTTPConnection(self.running.host, self.running.port, timeout=120,
                                                         source_address=(self.source, 0))
            try:
                self.connection.request("POST", "/sparql", urlencode({"query": text}), {
                    "Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json"})
                response = self.connection.getresponse()
                body = response.read()
                self.answers[(response.status, body.split(b";")[0].split(b"(")[0].strip().decode())] += 1
            except OSError:
                self.answers["connection closed"] += 1
            finally:
                self.connection.close()

    def halt(self) -> None:
        self.stop.set()
        connection = self.connection
        if connection is not None and connection.sock is not None:
            with suppress(OSError):
                connection.sock.shutdown(socket.SHUT_RDWR)
