"""The SPARQL 1.1 Protocol endpoint over the embedded store, and the canned queries as HTTP resources.

    >>> from converter.server import Endpoint, make_server
    >>> server = make_server(Endpoint("output/store"), port=0)     # doctest: +SKIP
    >>> server.serve_forever()                                     # doctest: +SKIP

Safe by default: it binds 127.0.0.1, is read-only unless ``writable``, stops every query after ``timeout``
seconds and refuses results larger than ``max_result_bytes``, and never calls a federated ``SERVICE`` nor
``LOAD``s a remote document unless ``allow_remote``.

Read-only queries run in worker processes, one per core, each with its own read-only handle on the store: a query
that runs out of time is stopped by ending its worker, and both cores answer queries. A writable endpoint runs
queries and updates in the server process (updates one at a time) so that every query sees every update.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import queue
import re
import signal
import threading
import time
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Callable
from urllib.parse import parse_qs, urlsplit

import pyoxigraph as ox

from . import __version__
from .queries import QueryError, library, uses_load, uses_service

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
_QUERY_FORM = re.compile(r"\b(SELECT|ASK|CONSTRUCT|DESCRIBE)\b", re.I)


class ProtocolError(Exception):
    """A request the endpoint refuses; ``status`` is the HTTP status to answer with."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


@dataclass
class Request:
    """A query or update request, independent of how it came over HTTP."""

    text: str
    update: bool = False
    default_graphs: list[str] = field(default_factory=list)
    named_graphs: list[str] = field(default_factory=list)
    accept: str = "*/*"


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


# --- executing (in a worker process or in the server process) ------------------------------------------------------
class _Bounded:
    """A binary sink that refuses to grow past a limit (stops serialising a result that is too large)."""

    def __init__(self, limit: int) -> None:
        self.parts: list[bytes] = []
        self.size = 0
        self.limit = limit

    def write(self, data: bytes) -> int:
        self.size += len(data)
        if self.size > self.limit:
            raise _TooLarge()
        self.parts.append(bytes(data))
        return len(data)

    def flush(self) -> None:
        pass


class _TooLarge(Exception):
    pass


def execute(store: ox.Store, req: Request, max_bytes: int, allow_remote: bool) -> tuple[int, str, bytes]:
    """Run a request on a store: (HTTP status, content type, body)."""
    try:
        if req.update:
            if not allow_remote and uses_load(req.text):
                raise ProtocolError(403, "LOAD of remote documents is not allowed on this endpoint")
            store.update(_with_using(req), base_iri=None)
            return 204, "text/plain", b""
        if not allow_remote and uses_service(req.text):
            raise ProtocolError(403, "federated SERVICE calls are not allowed on this endpoint")
        options: dict = {}
        if req.default_graphs:
            options["default_graph"] = [ox.NamedNode(g) for g in req.default_graphs]
        else:
            options["use_default_graph_as_union"] = True
        if req.named_graphs:
            options["named_graphs"] = [ox.NamedNode(g) for g in req.named_graphs]
        results = store.query(req.text, **options)
        sink = _Bounded(max_bytes)
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
        charset = "; charset=utf-8" if media.startswith("text/") or media.endswith("json") else ""
        return 200, media + charset, b"".join(sink.parts)
    except _TooLarge:
        raise ProtocolError(503, f"the result is larger than this endpoint's limit of {max_bytes} bytes; "
                                 "add a LIMIT or narrow the query") from None
    except SyntaxError as err:
        raise ProtocolError(400, f"invalid SPARQL: {err}") from None
    except ValueError as err:
        raise ProtocolError(400, str(err)) from None
    except OSError as err:
        if isinstance(err.__cause__, _TooLarge) or "larger than" in str(err):
            raise ProtocolError(503, f"the result is larger than this endpoint's limit of {max_bytes} bytes") \
                from None
        raise ProtocolError(500, f"store error: {err}") from None


_USING_FORBIDDEN = re.compile(r"\b(USING|WITH)\b", re.I)
_WHERE = re.compile(r"\bWHERE\b", re.I)


def _with_using(req: Request) -> str:
    """Apply the protocol's using-graph-uri / using-named-graph-uri as USING clauses of every operation."""
    if not req.default_graphs and not req.named_graphs:
        return req.text
    if _USING_FORBIDDEN.search(req.text):
        raise ProtocolError(400, "an update with USING or WITH cannot also take using-graph-uri parameters")
    using = " ".join([f"USING <{g}>" for g in req.default_graphs] +
                     [f"USING NAMED <{g}>" for g in req.named_graphs])
    return _WHERE.sub(lambda m: f"{using} {m.group(0)}", req.text)


def _worker(conn, store_path: str, max_bytes: int, allow_remote: bool) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the server decides when workers stop
    store = ox.Store.read_only(store_path)
    while True:
        req = conn.recv()
        if req is None:
            return
        try:
            conn.send(("ok", execute(store, req, max_bytes, allow_remote)))
        except ProtocolError as err:
            conn.send(("error", (err.status, str(err))))
        except Exception as err:  # noqa: BLE001 - any failure is answered, the worker lives on
            conn.send(("error", (500, f"{type(err).__name__}: {err}")))


class _Pool:
    """Query worker processes with hard time limits: a worker that runs out of time is ended and replaced."""

    def __init__(self, store_path: str, size: int, max_bytes: int, allow_remote: bool) -> None:
        self.args = (store_path, max_bytes, allow_remote)
        self.ctx = multiprocessing.get_context("spawn")
        self.idle: queue.Queue = queue.Queue()
        self.all: set = set()
        self.lock = threading.Lock()
        for _ in range(size):
            self.idle.put(self._start())

    def _start(self):
        parent, child = self.ctx.Pipe()
        process = self.ctx.Process(target=_worker, args=(child, *self.args), daemon=True)
        process.start()
        child.close()
        worker = (process, parent)
        with self.lock:
            self.all.add(worker)
        return worker

    def run(self, req: Request, timeout: float) -> tuple[int, str, bytes]:
        started = time.monotonic()
        try:
            worker = self.idle.get(timeout=timeout)
        except queue.Empty:
            raise ProtocolError(503, f"all query workers are busy; try again (waited {timeout:g} s)") from None
        process, conn = worker
        try:
            conn.send(req)
            left = max(0.001, timeout - (time.monotonic() - started))
            if not conn.poll(left):
                raise TimeoutError
            kind, payload = conn.recv()
        except (TimeoutError, EOFError, OSError, BrokenPipeError) as err:
            self._replace(worker)
            if isinstance(err, TimeoutError):
                raise ProtocolError(503, f"the query ran out of time ({timeout:g} s limit); narrow it or add a "
                                         "LIMIT") from None
            raise ProtocolError(500, "the query worker stopped; try again") from None
        self.idle.put(worker)
        if kind == "error":
            raise ProtocolError(*payload)
        return payload

    def _replace(self, worker) -> None:
        process, conn = worker
        process.kill()
        process.join(5)
        conn.close()
        with self.lock:
            self.all.discard(worker)
        self.idle.put(self._start())

    def close(self) -> None:
        with self.lock:
            workers = list(self.all)
        for process, conn in workers:
            process.kill()
            process.join(5)
            conn.close()


class Endpoint:
    """The store behind the endpoint and the rules it answers by."""

    def __init__(self, store_path: str, *, writable: bool = False, timeout: float = 30.0,
                 max_result_bytes: int = 64 << 20, allow_remote: bool = False, workers: int | None = None) -> None:
        if not os.path.isdir(store_path):
            raise FileNotFoundError(f"{store_path}: no store here; build one with 'pfocr-rdf load'")
        self.store_path = os.path.realpath(store_path)
        self.writable = writable
        self.timeout = timeout
        self.max_result_bytes = max_result_bytes
        self.allow_remote = allow_remote
        self.queries = library()
        if writable:
            self.store = ox.Store(self.store_path)
            self.update_lock = threading.Lock()
            self.pool = None
        else:
            self.store = None
            self.pool = _Pool(self.store_path, workers or os.cpu_count() or 1, max_result_bytes, allow_remote)

    def run(self, req: Request) -> tuple[int, str, bytes]:
        if req.update and not self.writable:
            raise ProtocolError(403, "this endpoint is read-only; start it with --writable to accept updates")
        if self.pool is not None:
            return self.pool.run(req, self.timeout)
        if req.update:
            with self.update_lock:
                return execute(self.store, req, self.max_result_bytes, self.allow_remote)
        return execute(self.store, req, self.max_result_bytes, self.allow_remote)

    def close(self) -> None:
        if self.pool is not None:
            self.pool.close()


# --- HTTP ------------------------------------------------------------------------------------------------------------
_FORM = "application/x-www-form-urlencoded"
_MAX_BODY = 8 << 20


class Handler(BaseHTTPRequestHandler):
    server_version = f"pfocr-rdf/{__version__}"
    protocol_version = "HTTP/1.1"
    endpoint: Endpoint  # set on the subclass made by make_server

    def log_message(self, format: str, *args) -> None:  # noqa: A002 - the stdlib's name
        if os.environ.get("PFOCR_RDF_ACCESS_LOG"):
            super().log_message(format, *args)

    # -- plumbing
    def _send(self, status: int, content_type: str, body: bytes, extra: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Access-Control-Allow-Origin", "*")
        self.send_header("Vary", "Accept")
        if status != 204:
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        self.end_headers()
        if status != 204 and self.command != "HEAD":
            self.wfile.write(body)

    def _error(self, status: int, message: str) -> None:
        self._send(status, "text/plain; charset=utf-8", (message.rstrip() + "\n").encode("utf-8"))

    def _body(self) -> bytes:
        length = self.headers.get("Content-Length")
        if length is None:
            if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
                raise ProtocolError(411, "send a Content-Length; chunked bodies are not accepted")
            return b""
        try:
            size = int(length)
        except ValueError:
            raise ProtocolError(400, "Content-Length is not a number") from None
        if size < 0 or size > _MAX_BODY:
            raise ProtocolError(413, f"request bodies are limited to {_MAX_BODY} bytes")
        return self.rfile.read(size)

    def _dispatch(self, method: Callable[[], None]) -> None:
        try:
            method()
        except ProtocolError as err:
            self._error(err.status, str(err))
        except QueryError as err:
            self._error(400, str(err))
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True
        except Exception as err:  # noqa: BLE001 - a bug must not take the server down
            self._error(500, f"internal error: {type(err).__name__}: {err}")

    # -- methods
    def do_OPTIONS(self) -> None:  # noqa: N802 - the stdlib's name
        self._send(204, "", b"", {
            "Access-Control-Allow-Methods": "GET, POST, OPTIONS",
            "Access-Control-Allow-Headers": "Content-Type, Accept",
            "Access-Control-Max-Age": "86400",
            "Allow": "GET, POST, OPTIONS",
        })

    def do_GET(self) -> None:  # noqa: N802
        self._dispatch(self._get)

    def do_HEAD(self) -> None:  # noqa: N802
        self._dispatch(self._get)

    def do_POST(self) -> None:  # noqa: N802
        self._dispatch(self._post)

    def do_PUT(self) -> None:  # noqa: N802
        self._error(405, "use GET or POST")

    do_DELETE = do_PATCH = do_PUT  # noqa: N815

    def _route(self) -> tuple[str, dict[str, list[str]]]:
        parts = urlsplit(self.path)
        return parts.path.rstrip("/") or "/", parse_qs(parts.query, keep_blank_values=True)

    def _get(self) -> None:
        path, params = self._route()
        if path == "/sparql":
            if "update" in params:
                raise ProtocolError(400, "updates must be sent with POST")
            if "query" not in params:
                return self._service_description()
            return self._answer(self._request(params, params["query"], False))
        if path == "/queries":
            return self._send(200, "application/json", json.dumps(self._query_list(), indent=1).encode())
        if path.startswith("/queries/"):
            return self._canned(path.removeprefix("/queries/"), params)
        if path == "/openapi.json":
            from .openapi import openapi_document

            return self._send(200, "application/json", json.dumps(openapi_document(self.endpoint), indent=1)
                              .encode())
        if path == "/":
            return self._send(200, "text/plain; charset=utf-8", self._index().encode("utf-8"))
        raise ProtocolError(404, f"nothing at {path}; the SPARQL endpoint is /sparql")

    def _post(self) -> None:
        path, params = self._route()
        if path != "/sparql":
            raise ProtocolError(404 if not path.startswith("/queries") else 405,
                                f"POST goes to /sparql, not {path}")
        content_type = (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()
        body = self._body()
        if content_type == _FORM:
            form = parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True)
            for key, values in params.items():  # graph parameters may also come in the URL
                if key not in ("query", "update"):
                    form.setdefault(key, []).extend(values)
            if "query" in form and "update" in form:
                raise ProtocolError(400, "send either query or update, not both")
            if "query" in form:
                return self._answer(self._request(form, form["query"], False))
            if "update" in form:
                return self._answer(self._request(form, form["update"], True))
            raise ProtocolError(400, "the form has neither a query nor an update field")
        if content_type in ("application/sparql-query", "application/sparql-update"):
            update = content_type == "application/sparql-update"
            if "query" in params or "update" in params:
                raise ProtocolError(400, "a direct POST carries the query in its body, not in the URL")
            try:
                text = body.decode("utf-8")
            except UnicodeDecodeError:
                raise ProtocolError(400, "the body is not UTF-8") from None
            return self._answer(self._request(params, [text], update))
        if not content_type:
            raise ProtocolError(400, "POST needs a Content-Type: application/sparql-query, "
                                     "application/sparql-update or application/x-www-form-urlencoded")
        raise ProtocolError(415, f"unsupported Content-Type {content_type}")

    def _request(self, params: dict[str, list[str]], texts: list[str], update: bool) -> Request:
        if len(texts) != 1:
            raise ProtocolError(400, f"send exactly one {'update' if update else 'query'}")
        if update:
            default, named = params.get("using-graph-uri", []), params.get("using-named-graph-uri", [])
            if params.get("default-graph-uri") or params.get("named-graph-uri"):
                raise ProtocolError(400, "updates take using-graph-uri and using-named-graph-uri")
        else:
            default, named = params.get("default-graph-uri", []), params.get("named-graph-uri", [])
            if params.get("using-graph-uri") or params.get("using-named-graph-uri"):
                raise ProtocolError(400, "queries take default-graph-uri and named-graph-uri")
        for iri in (*default, *named):
            if not re.fullmatch(r"[A-Za-z][A-Za-z0-9+.-]*:[^\x00-\x20<>\"{}|^`\\]*", iri):
                raise ProtocolError(400, f"{iri!r} is not an absolute IRI")
        if not texts[0].strip():
            raise ProtocolError(400, "the query is empty")
        return Request(texts[0], update, list(default), list(named), self.headers.get("Accept") or "*/*")

    def _answer(self, req: Request) -> None:
        status, content_type, body = self.endpoint.run(req)
        self._send(status, content_type, body)

    # -- the rest of the site
    def _canned(self, name: str, params: dict[str, list[str]]) -> None:
        query = self.endpoint.queries.get(name)
        if query is None:
            raise ProtocolError(404, f"no canned query {name!r}; /queries lists them")
        values = {k: v[-1] for k, v in params.items()}
        self._answer(Request(query.render(values), accept=self.headers.get("Accept") or "*/*"))

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
        host = self.headers.get("Host") or f"{self.server.server_address[0]}:{self.server.server_address[1]}"
        endpoint = f"http://{host}/sparql"
        sd = "http://www.w3.org/ns/sparql-service-description#"
        languages = ["SPARQL11Query"] + (["SPARQL11Update"] if self.endpoint.writable else [])
        formats = ["SPARQL_Results_JSON", "SPARQL_Results_XML", "SPARQL_Results_CSV", "SPARQL_Results_TSV",
                   "Turtle", "N-Triples", "JSON-LD", "RDF_XML"]
        lines = [f"@prefix sd: <{sd}> .", "@prefix fmt: <http://www.w3.org/ns/formats/> .", "",
                 f"<{endpoint}> a sd:Service ;", f"    sd:endpoint <{endpoint}> ;"]
        lines += [f"    sd:supportedLanguage sd:{lang} ;" for lang in languages]
        lines += [f"    sd:resultFormat fmt:{f} ;" for f in formats]
        lines += ["    sd:feature sd:UnionDefaultGraph, sd:BasicFederatedQuery ;" if self.endpoint.allow_remote
                  else "    sd:feature sd:UnionDefaultGraph ;",
                  "    sd:defaultDataset [ a sd:Dataset ; sd:defaultGraph [ a sd:Graph ] ] ."]
        turtle = "\n".join(lines) + "\n"
        media = negotiate(self.headers.get("Accept") or "text/turtle", list(GRAPH_TYPES))
        if media is None or media == "text/turtle":
            return self._send(200, "text/turtle; charset=utf-8", turtle.encode("utf-8"))
        triples = ox.parse(turtle.encode("utf-8"), format=ox.RdfFormat.TURTLE)
        self._send(200, media, ox.serialize(triples, format=GRAPH_TYPES[media]))


class Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128

    def __init__(self, address, handler, endpoint: Endpoint) -> None:
        super().__init__(address, handler)
        self.endpoint = endpoint

    def server_close(self) -> None:
        super().server_close()
        self.endpoint.close()


def make_server(endpoint: Endpoint, host: str = "127.0.0.1", port: int = 7878) -> Server:
    """An HTTP server for ``endpoint`` (``port=0`` picks a free port: read it from ``server.server_port``)."""
    handler = type("BoundHandler", (Handler,), {"endpoint": endpoint})
    return Server((host, port), handler, endpoint)
