"""The SPARQL 1.1 Protocol endpoint over the embedded store, and the canned queries as HTTP resources.

    >>> from converter.server import Endpoint, make_server
    >>> server = make_server(Endpoint("output/store"), port=0)     # doctest: +SKIP
    >>> server.serve_forever()                                     # doctest: +SKIP

Safe by default: it binds 127.0.0.1, is read-only unless ``writable``, stops every query after ``timeout``
seconds and refuses results larger than ``max_result_bytes``, and never calls a federated ``SERVICE`` nor
``LOAD``s a remote document unless ``allow_remote``.

Read-only queries run in worker processes, one per core, each with its own read-only handle on the store: a query
that runs out of time is stopped by ending its worker, and both cores answer queries. A writable endpoint runs
queries and updates in the server process (updates one at a time) so that every query sees every update; there
the time limit is checked while a result is written (a query that computes for long before its first result
cannot be stopped in the server process).

The protocol as the W3C SPARQL 1.1 Protocol states it: queries by GET, form POST and direct POST, updates by form
or direct POST only; ``default-graph-uri``/``named-graph-uri`` (queries) and ``using-graph-uri``/
``using-named-graph-uri`` (updates) replace the dataset of the request; relative IRIs resolve against the endpoint
IRI; a query that names no dataset sees the union of all graphs as its default graph.
"""

from __future__ import annotations

import io
import json
import multiprocessing
import os
import queue
import re
import signal
import socket
import sys
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cached_property
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Callable
from urllib.parse import parse_qs, unquote, urlsplit

import pyoxigraph as ox

from . import __version__
from .formats import MEDIA_TYPES, rdf_format
from .queries import CannedQuery, QueryError, Token, calls_remote, library, names_dataset, syntax_message, tokens
from .site import DEREFERENCED, RDF_TYPES, Site, rdf_document, site_iri, static_files
from .store import data_in_named_graphs
from .vocab import DATASET, FIGURES, PREFIXES

RESULT_TYPES = {  # media type -> pyoxigraph format, for SELECT and ASK
    "application/sparql-results+json": ox.QueryResultsFormat.JSON,
    "application/json": ox.QueryResultsFormat.JSON,
    "application/sparql-results+xml": ox.QueryResultsFormat.XML,
    "application/xml": ox.QueryResultsFormat.XML,
    "text/csv": ox.QueryResultsFormat.CSV,
    "text/tab-separated-values": ox.QueryResultsFormat.TSV,
}
BOOLEAN_TYPES = ("application/sparql-results+json", "application/json", "application/sparql-results+xml",
                 "application/xml")
GRAPH_TYPES = {  # media type -> pyoxigraph format, for CONSTRUCT and DESCRIBE
    "text/turtle": ox.RdfFormat.TURTLE,
    "application/n-triples": ox.RdfFormat.N_TRIPLES,
    "application/ld+json": ox.RdfFormat.JSON_LD,
    "application/rdf+xml": ox.RdfFormat.RDF_XML,
    "application/n-quads": ox.RdfFormat.N_QUADS,
    "text/plain": ox.RdfFormat.N_TRIPLES,
}


class ProtocolError(Exception):
    """A request the endpoint refuses; ``status`` is the HTTP status to answer with."""

    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.headers = headers or {}


@dataclass
class Request:
    """A query or update request, independent of how it came over HTTP."""

    text: str
    update: bool = False
    default_graphs: list[str] = field(default_factory=list)
    named_graphs: list[str] = field(default_factory=list)
    accept: str = "*/*"
    base: str | None = None  # the IRI relative IRIs resolve against: the endpoint's


# --- content negotiation ----------------------------------------------------------------------------------------------
def negotiate(accept: str, offered: list[str]) -> str | None:
    """The offered media type the Accept header prefers: highest q, then the most specific range, then the
    first offered; None when none is acceptable."""
    ranges = []
    for part in accept.split(","):
        media, *params = [p.strip() for p in part.split(";")]
        if not media:
            continue
        q = 1.0
        for p in params:
            if p.lower().startswith("q="):
                try:
                    q = float(p[2:])
                except ValueError:
                    q = 0.0
        ranges.append((media.lower(), q))
    if not ranges:
        return offered[0]
    best: tuple[tuple, str] | None = None
    for index, candidate in enumerate(offered):
        q, specificity = None, -1
        for media, rq in ranges:
            if media == candidate:
                level = 2
            elif media.endswith("/*") and media != "*/*" and candidate.startswith(media[:-1]):
                level = 1
            elif media == "*/*":
                level = 0
            else:
                continue
            if level > specificity:
                specificity, q = level, rq
        if q is None or q <= 0:
            continue
        key = (q, specificity, -index)
        if best is None or key > best[0]:
            best = (key, candidate)
    return best[1] if best else None


def _with_using(req: Request, tokens: list[Token]) -> str:
    """Apply the protocol's using-graph-uri / using-named-graph-uri as USING clauses of every operation that has a
    WHERE clause (``DELETE WHERE { P }`` is written out as ``DELETE { P } USING ... WHERE { P }``)."""
    if not req.default_graphs and not req.named_graphs:
        return req.text
    if any(t.kind == "word" and t.depth == 0 and t.text.upper() in ("USING", "WITH") for t in tokens):
        raise ProtocolError(400, "an update with USING or WITH cannot also take using-graph-uri or "
                                 "using-named-graph-uri parameters")
    using = " ".join([f"USING <{g}>" for g in req.default_graphs] +
                     [f"USING NAMED <{g}>" for g in req.named_graphs])
    text, pieces, last = req.text, [], 0
    for i, t in enumerate(tokens):
        if not (t.kind == "word" and t.depth == 0 and t.text.upper() == "WHERE"):
            continue
        insert = f"{using} "
        if i > 0 and tokens[i - 1].kind == "word" and tokens[i - 1].text.upper() == "DELETE":
            pattern = _group_after(tokens, i)
            if pattern is None:
                raise ProtocolError(400, "invalid SPARQL update: DELETE WHERE needs a { pattern }")
            insert = f"{text[pattern[0]:pattern[1]]} {using} "
        pieces += [text[last:t.start], insert]
        last = t.start
    pieces.append(text[last:])
    return "".join(pieces)


def _group_after(tokens: list[Token], i: int) -> tuple[int, int] | None:
    """The span of the { ... } group that follows token ``i``."""
    if i + 1 >= len(tokens) or tokens[i + 1].kind != "open":
        return None
    depth = tokens[i + 1].depth
    for t in tokens[i + 2:]:
        if t.kind == "close" and t.depth == depth:
            return tokens[i + 1].start, t.end
    return None


# --- executing (in a worker process or in the server process) ------------------------------------------------------
_WORKER_START_TIMEOUT = 60.0  # seconds a new query worker may take to open the store
_THREADS = 2  # queries one worker process answers at once
_ATTEMPTS = 4  # times a query is run again when its worker is ended for another query's time limit
_QUEUE_WAIT = 30.0  # seconds a query may wait for a free worker (its time limit starts when one takes it)


class _TooLarge(Exception):
    pass


class _OutOfTime(Exception):
    pass


class _Bounded:
    """A binary sink that refuses to grow past a limit (stops serialising a result that is too large) or, given a
    deadline, to go on writing after it."""

    def __init__(self, limit: int, deadline: float | None = None) -> None:
        self.parts: list[bytes] = []
        self.size = 0
        self.limit = limit
        self.deadline = deadline

    def write(self, data: bytes) -> int:
        self.size += len(data)
        if self.size > self.limit:
            raise _TooLarge()
        if self.deadline is not None and time.monotonic() > self.deadline:
            raise _OutOfTime()
        self.parts.append(bytes(data))
        return len(data)

    def flush(self) -> None:
        pass


def _too_large(max_bytes: int) -> ProtocolError:
    return ProtocolError(503, f"the result is larger than this endpoint's limit of {max_bytes} bytes; "
                              "add a LIMIT or narrow the query")


def _out_of_time(timeout: float) -> ProtocolError:
    return ProtocolError(503, f"the query ran out of time ({timeout:g} s limit); narrow it or add a LIMIT")


def with_charset(media: str) -> str:
    """The Content-Type of a text or JSON body: the media type with ``charset=utf-8``."""
    return media + "; charset=utf-8" if media.startswith("text/") or media.endswith("json") else media


def execute(store: ox.Store, req: Request, max_bytes: int, allow_remote: bool, union: bool,
            timeout: float | None = None) -> tuple[int, str, bytes]:
    """Run a request on a store: (HTTP status, content type, body). ``timeout`` (seconds) is checked while the
    result is written; the hard limit is the worker process's."""
    deadline = time.monotonic() + timeout if timeout else None
    lexed = tokens(req.text)
    remote = calls_remote(lexed, req.update)
    if remote and not allow_remote:
        raise ProtocolError(403, "federated SERVICE calls and LOAD of remote documents are not allowed on this "
                                 "endpoint")
    try:
        if req.update:
            store.update(_with_using(req, lexed), base_iri=req.base)
            return 204, "text/plain", b""
        options: dict = {"base_iri": req.base}
        if req.default_graphs or req.named_graphs:  # the protocol's dataset replaces the query's
            options["default_graph"] = [ox.NamedNode(g) for g in req.default_graphs]
            options["named_graphs"] = [ox.NamedNode(g) for g in req.named_graphs]
        elif not names_dataset(lexed):
            options["use_default_graph_as_union"] = union
        results = store.query(req.text, **options)
        sink = _Bounded(max_bytes, deadline)
        if isinstance(results, ox.QueryTriples):
            media = negotiate(req.accept, list(GRAPH_TYPES))
            if media is None:
                raise ProtocolError(406, "no acceptable graph format; offered: " + ", ".join(GRAPH_TYPES))
            ox.serialize(results, sink, GRAPH_TYPES[media])
        elif isinstance(results, ox.QueryBoolean):
            media = negotiate(req.accept, list(BOOLEAN_TYPES))
            if media is None:
                raise ProtocolError(406, "no acceptable boolean result format; offered: " + ", ".join(BOOLEAN_TYPES))
            results.serialize(sink, RESULT_TYPES[media])
        else:
            media = negotiate(req.accept, list(RESULT_TYPES))
            if media is None:
                raise ProtocolError(406, "no acceptable result format; offered: " + ", ".join(RESULT_TYPES))
            results.serialize(sink, RESULT_TYPES[media])
        return 200, with_charset(media), b"".join(sink.parts)
    except _TooLarge:
        raise _too_large(max_bytes) from None
    except _OutOfTime:
        raise _out_of_time(timeout or 0) from None
    except SyntaxError as err:
        kind = "SPARQL update" if req.update else "SPARQL query"
        raise ProtocolError(400, syntax_message(kind, req.text, err)) from None
    except ValueError as err:
        raise ProtocolError(400, str(err)) from None
    except OSError as err:
        if remote:
            raise ProtocolError(502, f"a remote service or document failed: {err}") from None
        raise ProtocolError(500, f"store error: {err}") from None


def _worker(conns, store_path: str, max_bytes: int, allow_remote: bool) -> None:
    """A query worker process: one read-only store, one thread per connection (pyoxigraph releases the GIL while
    it evaluates, and threads share the store's caches)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the server decides when workers stop
    try:
        store = ox.Store.read_only(store_path)
    except Exception as err:  # noqa: BLE001 - said to the server, which decides
        for conn in conns:
            conn.send(("failed", f"{type(err).__name__}: {err}"))
        return
    union = data_in_named_graphs(store)  # a read-only handle sees a store that does not change
    threads = [threading.Thread(target=_answer_on, args=(conn, store, max_bytes, allow_remote, union), daemon=True)
               for conn in conns]
    for thread, conn in zip(threads, conns):
        conn.send(("ready", None))
        thread.start()
    for thread in threads:
        thread.join()


def _answer_on(conn, store: ox.Store, max_bytes: int, allow_remote: bool, union: bool) -> None:
    while True:
        try:
            req = conn.recv()
        except (EOFError, OSError):
            return
        if req is None:
            return
        try:
            conn.send(("ok", execute(store, req, max_bytes, allow_remote, union)))
        except ProtocolError as err:
            conn.send(("error", (err.status, str(err))))
        except Exception as err:  # noqa: BLE001 - any failure is answered, the worker lives on
            conn.send(("error", (500, f"{type(err).__name__}: {err}")))


class _Pool:
    """Query worker processes with hard time limits: a query that runs out of time ends its worker process, which
    is replaced. Each process answers on ``_THREADS`` connections (slots) at once; a slot joins the idle queue only
    once its process has opened the store, so the time a fresh process takes to start never counts against a
    query. A query whose process was ended under it (for another query's timeout) is run again elsewhere."""

    def __init__(self, store_path: str, size: int, max_bytes: int, allow_remote: bool) -> None:
        self.args = (store_path, max_bytes, allow_remote)
        self.replaced: set[int] = set()
        self.ctx = multiprocessing.get_context("spawn")
        self.idle: queue.Queue = queue.Queue()
        self.all: set = set()
        self.lock = threading.Lock()
        self.closed = False
        slots = [slot for _ in range(size) for slot in self._spawn()]
        for slot in slots:
            problem = self._ready(slot)
            if problem:
                self.close()
                raise OSError(f"a query worker could not start: {problem}")
            self.idle.put(slot)

    def _spawn(self) -> list:
        pipes = [self.ctx.Pipe() for _ in range(_THREADS)]
        process = self.ctx.Process(target=_worker, args=([child for _, child in pipes], *self.args), daemon=True,
                                   name="pfocr-rdf-query-worker")
        process.start()
        slots = []
        for parent, child in pipes:
            child.close()
            slots.append((process, parent))
        with self.lock:
            self.all.update(slots)
        return slots

    @staticmethod
    def _ready(worker) -> str | None:
        """Wait (boundedly) for a new worker to open the store: None when it is ready, else what went wrong."""
        process, conn = worker
        try:
            if not conn.poll(_WORKER_START_TIMEOUT):
                return f"no answer within {_WORKER_START_TIMEOUT:g} s"
            kind, payload = conn.recv()
        except (EOFError, OSError):
            return f"it exited with status {process.exitcode}"
        return None if kind == "ready" else str(payload)

    def _replace_later(self) -> None:
        """Start a worker in place of an ended one; its slots join the idle queue when it is ready."""
        slots = self._spawn()

        def join_when_ready() -> None:
            for worker in slots:
                problem = self._ready(worker)
                with self.lock:
                    closed = self.closed
                if problem is None and not closed:
                    self.idle.put(worker)
                    continue
                self._end(worker)
                if problem is not None and not closed:
                    print(f"pfocr-rdf: a replacement query worker could not start: {problem}", file=sys.stderr)

        threading.Thread(target=join_when_ready, daemon=True, name="pfocr-rdf-worker-start").start()

    def _take(self, wait: float):
        deadline = time.monotonic() + wait
        while True:
            try:
                worker = self.idle.get(timeout=max(0.001, deadline - time.monotonic()))
            except queue.Empty:
                raise ProtocolError(503, f"all query workers are busy; try again (waited {wait:g} s)",
                                    {"Retry-After": "5"}) from None
            if worker[0].is_alive():
                return worker
            self._replace(worker)  # a slot of a process ended for another query's timeout

    def run(self, req: Request, timeout: float) -> tuple[int, str, bytes]:
        if self.closed:
            raise ProtocolError(503, "the endpoint is shutting down")
        deadline = None  # the time limit runs from when a worker first takes the query, across retries
        for attempt in range(_ATTEMPTS):
            worker = self._take(max(timeout, _QUEUE_WAIT))
            process, conn = worker
            deadline = deadline or time.monotonic() + timeout
            try:
                conn.send(req)
                if not conn.poll(max(0.0, deadline - time.monotonic())):
                    raise TimeoutError
                kind, payload = conn.recv()
                break
            except (TimeoutError, EOFError, OSError) as err:
                self._replace(worker)
                if isinstance(err, TimeoutError):
                    raise _out_of_time(timeout) from None
                if attempt == _ATTEMPTS - 1:  # its worker was ended under it, for other queries' time limits
                    raise ProtocolError(503, "the query was interrupted by other queries running out of time; "
                                             "try again", {"Retry-After": "1"}) from None
        self.idle.put(worker)
        if kind == "error":
            raise ProtocolError(*payload)
        return payload

    def _end(self, worker) -> None:
        process, conn = worker
        process.kill()
        process.join(5)
        conn.close()
        with self.lock:
            self.all.discard(worker)

    def _replace(self, worker) -> None:
        """End a slot; the first slot of a process to end also ends the process and starts its replacement."""
        process = worker[0]
        self._end(worker)
        with self.lock:
            if self.closed or process.pid in self.replaced:
                return
            self.replaced.add(process.pid)
        self._replace_later()

    def close(self) -> None:
        with self.lock:
            self.closed = True
            workers = list(self.all)
            self.all.clear()
        for process, conn in workers:
            process.kill()
        for process, conn in workers:
            process.join(5)
            conn.close()


class Endpoint:
    """The store behind the endpoint and the rules it answers by."""

    def __init__(self, store_path: str, *, writable: bool = False, timeout: float = 30.0,
                 max_result_bytes: int = 64 << 20, allow_remote: bool = False, workers: int | None = None,
                 queries: dict[str, CannedQuery] | None = None) -> None:
        if not os.path.isdir(store_path):
            raise FileNotFoundError(f"{store_path}: no store here; build one with 'pfocr-rdf load'")
        if timeout <= 0 or max_result_bytes <= 0:
            raise ValueError("timeout and max_result_bytes must be positive")
        self.store_path = os.path.realpath(store_path)
        self.writable = writable
        self.timeout = timeout
        self.max_result_bytes = max_result_bytes
        self.allow_remote = allow_remote
        self.queries = library() if queries is None else queries
        self.page_lock = threading.Lock()
        self._dataset_page: str | None = None
        if writable:
            self.store = ox.Store(self.store_path)
            self.update_lock = threading.Lock()
            self.pool = None
        else:
            ox.Store.read_only(self.store_path)  # fails here, with its reason, rather than in every worker
            self.store = None
            self.pool = _Pool(self.store_path, workers or os.cpu_count() or 1, max_result_bytes, allow_remote)

    @cached_property
    def site(self) -> Site:
        """The web pages, which query the store as any client does (with the same limits)."""
        return Site(lambda text, accept: self.run(Request(text, accept=accept))[2], self.queries)

    @cached_property
    def static(self) -> dict[str, tuple[bytes, str]]:
        return static_files()

    def warm(self) -> None:
        """Draw the /dataset page ahead of its first visitor (on a large store its charts take seconds, more on cold
        caches). A failure here is left for that visit to report."""
        if not self.writable:
            try:
                self.dataset_page()
            except Exception:  # noqa: BLE001, S110 - the visit will answer with the reason
                pass

    def dataset_page(self) -> str:
        """The /dataset page; drawn once on a read-only endpoint (its store does not change)."""
        if self.writable:
            return self.site.dataset_page()
        with self.page_lock:
            if self._dataset_page is None:
                self._dataset_page = self.site.dataset_page()
            return self._dataset_page

    def run(self, req: Request) -> tuple[int, str, bytes]:
        if req.update and not self.writable:
            raise ProtocolError(403, "this endpoint is read-only; start it with --writable to accept updates")
        if self.pool is not None:
            return self.pool.run(req, self.timeout)
        if req.update:
            with self.update_lock:
                return execute(self.store, req, self.max_result_bytes, self.allow_remote, False)
        return execute(self.store, req, self.max_result_bytes, self.allow_remote,
                       data_in_named_graphs(self.store), self.timeout)

    def close(self) -> None:
        if self.pool is not None:
            self.pool.close()
        elif self.store is not None:
            self.store.flush()


# --- HTTP ------------------------------------------------------------------------------------------------------------
_FORM = "application/x-www-form-urlencoded"
_DIRECT = {"application/sparql-query": False, "application/sparql-update": True}
_MAX_BODY = 8 << 20
_MAX_FIELDS = 1000
_ABSOLUTE_IRI = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:[^\x00-\x20<>\"{}|^`\\]*")
_HOST = re.compile(r"(?:[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?|\[[0-9A-Fa-f:.]+\])(?::[0-9]{1,5})?")
_SPARQL_METHODS = "GET, HEAD, POST, OPTIONS"
_READ_METHODS = "GET, HEAD, OPTIONS"
_MIN_RATE = 256 << 10  # bytes a second a client must read a response at, at least
_PAGES = ("/", "/queries", "/openapi.json", "/prefixes.json", "/dataset", "/figures")
_HTML = "text/html; charset=utf-8"
# Pages load nothing from elsewhere: scripts, styles and queries all come from this server.
_PAGE_HEADERS = {"Content-Security-Policy": "default-src 'self'; img-src 'self' data:; style-src 'self' "
                 "'unsafe-inline'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'",
                 "X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer"}


def _parse_qs(text: str, where: str) -> dict[str, list[str]]:
    try:
        return parse_qs(text, keep_blank_values=True, errors="strict", max_num_fields=_MAX_FIELDS)
    except UnicodeDecodeError:
        raise ProtocolError(400, f"the {where} is not percent-encoded UTF-8") from None
    except ValueError:
        raise ProtocolError(400, f"the {where} has more than {_MAX_FIELDS} fields") from None


class _Deadline(io.RawIOBase):
    """The reading side of a connection with a deadline for each whole request: a client that sends a request a
    byte at a time, each byte within the idle timeout (slowloris), is still cut off when the deadline passes."""

    def __init__(self, sock: socket.socket, idle: float) -> None:
        super().__init__()
        self.sock, self.idle = sock, idle
        self.deadline: float | None = None

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        left = self.idle if self.deadline is None else min(self.idle, self.deadline - time.monotonic())
        if left <= 0:
            raise TimeoutError("the request took too long to arrive")
        self.sock.settimeout(left)
        return self.sock.recv_into(buffer)


class Handler(BaseHTTPRequestHandler):
    server_version = f"pfocr-rdf/{__version__}"
    protocol_version = "HTTP/1.1"
    timeout = 60  # seconds a connection may stay silent (a stalled response write) before it is dropped
    request_timeout = 30.0  # seconds a client has to send a whole request (the wait for it on a kept-alive one too)
    endpoint: Endpoint  # set on the subclass made by make_server
    _body_read = False

    def setup(self) -> None:
        super().setup()
        self._reader = _Deadline(self.connection, self.timeout)
        self.rfile = io.BufferedReader(self._reader, 1 << 16)

    def handle_one_request(self) -> None:
        self._reader.deadline = time.monotonic() + self.request_timeout
        super().handle_one_request()

    def log_message(self, format: str, *args) -> None:  # noqa: A002 - the stdlib's name
        if os.environ.get("PFOCR_RDF_ACCESS_LOG"):
            super().log_message(format, *args)

    # -- plumbing
    default_request_version = "HTTP/1.1"  # errors about unparsable requests get a status line and headers too

    def parse_request(self) -> bool:
        self._body_read = False
        if len(self.raw_requestline.split()) == 2:  # HTTP/0.9 has no headers to wait for, nor a status line
            self.command, self.request_version, self.close_connection = None, "HTTP/1.1", True
            self.requestline = str(self.raw_requestline, "iso-8859-1").rstrip("\r\n")
            self.send_error(400, "HTTP/0.9 requests are not supported; send HTTP/1.0 or 1.1")
            return False
        if not super().parse_request():
            return False
        if self.headers.defects:  # a header line without a colon, say: RFC 9112 says to refuse the request
            self.close_connection = True
            self.send_error(400, f"malformed header: {self.headers.defects[0]}")
            return False
        return True

    def handle_expect_100(self) -> bool:
        """Refuse an oversized body before the client sends it."""
        try:
            size = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            size = 0
        if size > _MAX_BODY:
            self._error(413, f"request bodies are limited to {_MAX_BODY} bytes")
            return False
        return super().handle_expect_100()

    def _unread_body(self) -> bool:
        if self._body_read:
            return False
        if self.headers.get("Transfer-Encoding"):
            return True
        try:
            return int(self.headers.get("Content-Length") or 0) != 0
        except ValueError:
            return True

    def _send(self, status: int, content_type: str, body: bytes, extra: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Access-Control-Allow-Origin", "*")
        self.send_header("Access-Control-Expose-Headers", "Content-Type, Content-Length, Allow, Retry-After")
        self.send_header("Vary", "Accept")
        if status != 204:
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        if self._unread_body():  # the rest of the request is still on the wire: this connection cannot go on
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        if status != 204 and self.command != "HEAD":
            self._write(body)

    def _write(self, body: bytes) -> None:
        """Send a body, giving a slow reader at least ``_MIN_RATE`` bytes a second: one that reads slower is cut
        off, so it cannot hold a large result (and its share of memory) for ever."""
        deadline = time.monotonic() + self.request_timeout + len(body) / _MIN_RATE
        view = memoryview(body)
        for start in range(0, len(body), 1 << 16):
            if time.monotonic() > deadline:
                self.close_connection = True
                raise TimeoutError("the client reads too slowly")
            self.wfile.write(view[start:start + (1 << 16)])

    def _error(self, status: int, message: str, extra: dict[str, str] | None = None) -> None:
        self._send(status, "text/plain; charset=utf-8", (message.rstrip() + "\n").encode("utf-8"), extra)

    def _body(self) -> bytes:
        if self.headers.get("Transfer-Encoding"):
            raise ProtocolError(411, "send a Content-Length; chunked or encoded bodies are not accepted")
        length = self.headers.get("Content-Length")
        if length is None:
            return b""
        try:
            size = int(length)
        except ValueError:
            raise ProtocolError(400, "Content-Length is not a number") from None
        if size < 0:
            raise ProtocolError(400, "Content-Length is negative")
        if size > _MAX_BODY:
            raise ProtocolError(413, f"request bodies are limited to {_MAX_BODY} bytes")
        body = self.rfile.read(size)
        if len(body) != size:
            self.close_connection = True
            raise ProtocolError(400, "the body is shorter than its Content-Length")
        self._body_read = True
        return body

    def _dispatch(self, method: Callable[[], None]) -> None:
        try:
            method()
        except ProtocolError as err:
            self._error(err.status, str(err), err.headers)
        except QueryError as err:
            self._error(400, str(err))
        except (BrokenPipeError, ConnectionResetError, TimeoutError):
            self.close_connection = True
        except Exception as err:  # noqa: BLE001 - a bug must not take the server down
            self._error(500, f"internal error: {type(err).__name__}: {err}")

    def _route(self) -> tuple[str, dict[str, list[str]]]:
        parts = urlsplit(self.path)
        return parts.path.rstrip("/") or "/", _parse_qs(parts.query, "query string")

    def _allowed(self, path: str) -> str | None:
        """The methods a path answers to (None: nothing there)."""
        if path == "/sparql":
            return _SPARQL_METHODS
        if path in _PAGES or path.startswith(("/queries/", "/static/", "/figures/")):
            return _READ_METHODS
        return None

    def _not_here(self, path: str) -> ProtocolError:
        return ProtocolError(404, f"nothing at {path}; the SPARQL endpoint is /sparql, the canned queries are at "
                                  "/queries")

    # -- methods
    def do_OPTIONS(self) -> None:  # noqa: N802 - the stdlib's name
        self._dispatch(self._options)

    def do_GET(self) -> None:  # noqa: N802
        self._dispatch(self._get)

    def do_HEAD(self) -> None:  # noqa: N802
        self._dispatch(self._get)

    def do_POST(self) -> None:  # noqa: N802
        self._dispatch(self._post)

    def do_PUT(self) -> None:  # noqa: N802
        self._dispatch(self._other)

    do_DELETE = do_PATCH = do_PUT  # noqa: N815

    def _options(self) -> None:
        path = urlsplit(self.path).path.rstrip("/") or "/"
        allowed = "GET, HEAD, POST, OPTIONS" if path == "*" else self._allowed(path)
        if allowed is None:
            raise self._not_here(path)
        self._send(204, "", b"", {
            "Allow": allowed,
            "Access-Control-Allow-Methods": allowed,
            "Access-Control-Allow-Headers": self.headers.get("Access-Control-Request-Headers")
            or "Accept, Content-Type",
            "Access-Control-Max-Age": "86400",
        })

    def _other(self) -> None:
        path = urlsplit(self.path).path.rstrip("/") or "/"
        allowed = self._allowed(path)
        if allowed is None:
            raise self._not_here(path)
        raise ProtocolError(405, f"{self.command} is not supported here; use {allowed}", {"Allow": allowed})

    def _get(self) -> None:
        path, params = self._route()
        if path == "/sparql":
            if "update" in params:
                raise ProtocolError(400, "updates must be sent with POST (form or direct), not GET")
            if "query" not in params:
                return self._service_description()
            return self._answer(self._request(params, params["query"], False))
        if path == "/queries":
            return self._send(200, "application/json", json.dumps(self._query_list(), indent=1).encode())
        if path.startswith("/queries/") and path.endswith(".rq"):
            return self._query_text(unquote(path.removeprefix("/queries/").removesuffix(".rq")), params)
        if path.startswith("/queries/"):
            return self._canned(path.removeprefix("/queries/"), params)
        if path == "/openapi.json":
            from .openapi import openapi_document

            return self._send(200, "application/json", json.dumps(openapi_document(self.endpoint), indent=1)
                              .encode())
        if path == "/":
            if negotiate(self.headers.get("Accept") or "*/*", ["text/html", "text/plain"]) == "text/plain":
                return self._send(200, "text/plain; charset=utf-8", self._index().encode("utf-8"))
            return self._page(self.endpoint.site.editor_page())
        if path.startswith("/static/"):
            found = self.endpoint.static.get(path.removeprefix("/static/"))
            if found is None:
                raise self._not_here(path)
            return self._send(200, found[1], found[0], {"Cache-Control": "max-age=3600",
                                                        "X-Content-Type-Options": "nosniff"})
        if path == "/prefixes.json":
            return self._send(200, "application/json", json.dumps(PREFIXES, indent=1).encode())
        if path == "/figures":
            entity = params.get("mentions", [""])
            if len(entity) != 1 or not _ABSOLUTE_IRI.fullmatch(entity[0]):
                raise ProtocolError(400, "give one entity IRI: /figures?mentions=https://identifiers.org/ncbigene/7157")
            return self._page(self.endpoint.site.figures_page(entity[0]))
        return self._resource(path, params)

    def _post(self) -> None:
        path, params = self._route()
        if path != "/sparql":
            allowed = self._allowed(path)
            if allowed is None:
                raise self._not_here(path)
            raise ProtocolError(405, f"POST goes to /sparql, not {path}", {"Allow": allowed})
        body = self._body()
        media, _, rest = (self.headers.get("Content-Type") or "").partition(";")
        media = media.strip().lower()
        charset = next((v.strip().strip('"').lower() for k, _, v in (p.partition("=") for p in rest.split(";"))
                        if k.strip().lower() == "charset"), None)
        if charset is not None and charset not in ("utf-8", "utf8"):
            raise ProtocolError(415, f"request bodies must be UTF-8, not {charset}")
        if media == _FORM:
            if "query" in params or "update" in params:
                raise ProtocolError(400, "a form POST carries the query or update in its body, not in the URL")
            try:
                form = _parse_qs(body.decode("utf-8"), "form")
            except UnicodeDecodeError:
                raise ProtocolError(400, "the form is not UTF-8") from None
            for key, values in params.items():  # dataset parameters may also come in the URL
                form.setdefault(key, []).extend(values)
            if "query" in form and "update" in form:
                raise ProtocolError(400, "send either query or update, not both")
            if "query" in form:
                return self._answer(self._request(form, form["query"], False))
            if "update" in form:
                return self._answer(self._request(form, form["update"], True))
            raise ProtocolError(400, "the form has neither a query nor an update field")
        if media in _DIRECT:
            update = _DIRECT[media]
            if "query" in params or "update" in params:
                raise ProtocolError(400, "a direct POST carries the query or update in its body, not in the URL")
            try:
                text = body.decode("utf-8").removeprefix("\ufeff")
            except UnicodeDecodeError:
                raise ProtocolError(400, "the body is not UTF-8") from None
            return self._answer(self._request(params, [text], update))
        if not media:
            raise ProtocolError(400, "POST needs a Content-Type: application/sparql-query, "
                                     "application/sparql-update or application/x-www-form-urlencoded")
        raise ProtocolError(415, f"unsupported Content-Type {media}; send application/sparql-query, "
                                 "application/sparql-update or application/x-www-form-urlencoded")

    def _request(self, params: dict[str, list[str]], texts: list[str], update: bool) -> Request:
        kind = "update" if update else "query"
        if len(texts) != 1:
            raise ProtocolError(400, f"send exactly one {kind} parameter, not {len(texts)}")
        if update:
            default, named = params.get("using-graph-uri", []), params.get("using-named-graph-uri", [])
            if params.get("default-graph-uri") or params.get("named-graph-uri"):
                raise ProtocolError(400, "updates take using-graph-uri and using-named-graph-uri, "
                                         "not default-graph-uri or named-graph-uri")
        else:
            default, named = params.get("default-graph-uri", []), params.get("named-graph-uri", [])
            if params.get("using-graph-uri") or params.get("using-named-graph-uri"):
                raise ProtocolError(400, "queries take default-graph-uri and named-graph-uri, "
                                         "not using-graph-uri or using-named-graph-uri")
        for iri in (*default, *named):
            if not _ABSOLUTE_IRI.fullmatch(iri):
                raise ProtocolError(400, f"{iri!r} is not an absolute IRI")
        if not texts[0].strip():
            raise ProtocolError(400, f"the {kind} is empty")
        return Request(texts[0], update, list(dict.fromkeys(default)), list(dict.fromkeys(named)),
                       self.headers.get("Accept") or "*/*", self._endpoint_iri())

    def _answer(self, req: Request) -> None:
        status, content_type, body = self.endpoint.run(req)
        with self.server.held.hold(len(body)):
            self._send(status, content_type, body)

    def _endpoint_iri(self) -> str:
        """The endpoint's IRI as the client addressed it (the Host header, when it is a plain host name)."""
        host = (self.headers.get("Host") or "").strip()
        if not _HOST.fullmatch(host):
            address, port = self.server.server_address[:2]
            host = f"[{address}]:{port}" if ":" in address else f"{address}:{port}"
        return f"http://{host}/sparql"

    # -- the rest of the site
    def _page(self, html: str, status: int = 200) -> None:
        self._send(status, _HTML, html.encode("utf-8"), _PAGE_HEADERS)

    def _resource(self, path: str, params: dict[str, list[str]]) -> None:
        """A dereferenced IRI of the dataset's namespace: its page (HTML) or its statements (RDF)."""
        iri = DATASET if path == "/dataset" else site_iri(path)
        if not _ABSOLUTE_IRI.fullmatch(iri):
            raise self._not_here(path)
        offered = ["text/html", *RDF_TYPES]
        wanted = params.get("format")
        if wanted:
            try:
                fmt = rdf_format(wanted[0]) if len(wanted) == 1 else ""
            except ValueError:
                fmt = ""
            if fmt not in DEREFERENCED:
                raise ProtocolError(400, "format is one of turtle (ttl), ntriples (nt), jsonld (json-ld)")
            media = MEDIA_TYPES[fmt]
        else:
            media = negotiate(self.headers.get("Accept") or "*/*", offered)
            if media is None:
                raise ProtocolError(406, "no acceptable format; offered: " + ", ".join(offered))
        site = self.endpoint.site
        if media == "text/html" and path == "/dataset":
            return self._page(self.endpoint.dataset_page())
        if media == "text/html" and iri.startswith(FIGURES) and iri.endswith(".html"):
            page = site.figure_page(iri[len(FIGURES):-len(".html")], iri)
            if page is None:
                raise self._not_here(path)
            return self._page(page)
        triples = site.describe(iri)
        if not triples:
            raise self._not_here(path)
        if media == "text/html":
            return self._page(site.resource_page(iri, triples))
        self._send(200, with_charset(media), rdf_document(triples, media))

    def _rendered(self, name: str, params: dict[str, list[str]]) -> str:
        """A canned query's text with the parameter values of a request."""
        query = self.endpoint.queries.get(name)
        if query is None:
            raise ProtocolError(404, f"no canned query {name!r}; /queries lists them")
        repeated = sorted(k for k, v in params.items() if len(v) > 1)
        if repeated:
            raise ProtocolError(400, f"give each parameter once (lists are comma-separated): {', '.join(repeated)}")
        return query.render({k: v[0] for k, v in params.items()})

    def _query_text(self, name: str, params: dict[str, list[str]]) -> None:
        """The text, as the editor loads it."""
        self._send(200, "application/sparql-query; charset=utf-8", self._rendered(name, params).encode("utf-8"))

    def _canned(self, name: str, params: dict[str, list[str]]) -> None:
        self._answer(Request(self._rendered(name, params), accept=self.headers.get("Accept") or "*/*",
                             base=self._endpoint_iri()))

    def _query_list(self) -> list[dict]:
        return [{"name": q.name, "title": q.title, "description": q.description, "path": f"/queries/{q.name}",
                 "parameters": [{"name": p.name, "type": p.type, "default": p.default,
                                 "description": p.description} for p in q.params]}
                for q in self.endpoint.queries.values()]

    def _index(self) -> str:
        lines = ["PFOCR linked data", "", "SPARQL 1.1 endpoint: /sparql (GET ?query=..., POST form or direct)",
                 "Canned queries: /queries (each at /queries/NAME?param=value)", "OpenAPI: /openapi.json", ""]
        lines += [f"/queries/{q.name}  {q.title}" for q in self.endpoint.queries.values()]
        return "\n".join(lines) + "\n"

    def _service_description(self) -> None:
        endpoint = self._endpoint_iri()
        sd = "http://www.w3.org/ns/sparql-service-description#"
        languages = ["SPARQL11Query"] + (["SPARQL11Update"] if self.endpoint.writable else [])
        formats = ["SPARQL_Results_JSON", "SPARQL_Results_XML", "SPARQL_Results_CSV", "SPARQL_Results_TSV",
                   "Turtle", "N-Triples", "JSON-LD", "RDF_XML", "N-Quads"]
        features = ["sd:UnionDefaultGraph"] + (["sd:BasicFederatedQuery"] if self.endpoint.allow_remote else [])
        lines = [f"@prefix sd: <{sd}> .", "@prefix fmt: <http://www.w3.org/ns/formats/> .", "",
                 f"<{endpoint}> a sd:Service ;", f"    sd:endpoint <{endpoint}> ;"]
        lines += [f"    sd:supportedLanguage sd:{lang} ;" for lang in languages]
        lines += [f"    sd:resultFormat fmt:{f} ;" for f in formats]
        lines += [f"    sd:feature {', '.join(features)} ;",
                  "    sd:defaultDataset [ a sd:Dataset ; sd:defaultGraph [ a sd:Graph ] ] ."]
        turtle = "\n".join(lines) + "\n"
        media = negotiate(self.headers.get("Accept") or "text/turtle", list(GRAPH_TYPES))
        if media is None or media == "text/turtle":
            return self._send(200, "text/turtle; charset=utf-8", turtle.encode("utf-8"))
        triples = ox.parse(turtle.encode("utf-8"), format=ox.RdfFormat.TURTLE)
        self._send(200, with_charset(media), ox.serialize(triples, format=GRAPH_TYPES[media]))


class _Budget:
    """Bytes of large results the server may hold while clients read them. A result over ``small`` waits (up to
    ``wait`` seconds) for room, then is refused with 503; smaller ones always go, so slow readers of large results
    cannot starve ordinary queries, and memory stays bounded by the budget plus what is being computed."""

    def __init__(self, limit: int, small: int = 1 << 20, wait: float = 10.0) -> None:
        self.limit, self.small, self.wait = limit, small, wait
        self.used = 0
        self.room = threading.Condition()

    @contextmanager
    def hold(self, size: int):
        if size <= self.small:
            yield
            return
        with self.room:
            if not self.room.wait_for(lambda: self.used + size <= self.limit or self.used == 0, self.wait):
                raise ProtocolError(503, "the server is busy sending other large results; try again",
                                    {"Retry-After": "5"})
            self.used += size
        try:
            yield
        finally:
            with self.room:
                self.used -= size
                self.room.notify_all()


_BUSY_TEXT = b"too many open connections; try again shortly\r\n"
_BUSY = (b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain; charset=utf-8\r\nRetry-After: 5\r\n"
         b"Connection: close\r\nContent-Length: %d\r\n\r\n%s" % (len(_BUSY_TEXT), _BUSY_TEXT))


class Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128
    max_connections = 512  # open connections, each a thread; more are answered 503 and closed

    def __init__(self, address, handler, endpoint: Endpoint) -> None:
        self.endpoint = endpoint  # before binding: a failed bind closes the server, and the endpoint with it
        super().__init__(address, handler)
        self._connections = threading.BoundedSemaphore(self.max_connections)
        self.held = _Budget(max(256 << 20, endpoint.max_result_bytes))

    def process_request(self, request, client_address) -> None:
        if not self._connections.acquire(blocking=False):
            try:
                request.settimeout(1)
                request.sendall(_BUSY)
            except OSError:
                pass
            self.shutdown_request(request)
            return
        try:
            super().process_request(request, client_address)
        except BaseException:
            self._connections.release()
            raise

    def process_request_thread(self, request, client_address) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self._connections.release()

    @property
    def url(self) -> str:
        """The SPARQL endpoint's URL, e.g. ``http://127.0.0.1:7878/sparql``."""
        host, port = self.server_address[:2]
        return f"http://{f'[{host}]' if ':' in host else host}:{port}/sparql"

    def server_close(self) -> None:
        super().server_close()
        self.endpoint.close()


def make_server(endpoint: Endpoint, host: str = "127.0.0.1", port: int = 7878, *,
                request_timeout: float = 30.0) -> Server:
    """An HTTP server for ``endpoint`` (``port=0`` picks a free port: read it from ``server.server_port``).
    ``request_timeout``: seconds a client has to send a whole request before the connection is dropped."""
    handler = type("BoundHandler", (Handler,), {"endpoint": endpoint, "request_timeout": request_timeout})
    return Server((host, port), handler, endpoint)
