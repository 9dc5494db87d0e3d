"""The SPARQL 1.1 Protocol's meaning, apart from HTTP: a request, the errors it may get, content negotiation, and
running it on a store.

    >>> status, content_type, body = execute(store, Request("ASK {}"), max_bytes=1 << 20, allow_remote=False,
    ...                                      union=False)                                  # doctest: +SKIP

The protocol as the W3C SPARQL 1.1 Protocol states it: ``default-graph-uri``/``named-graph-uri`` (queries) and
``using-graph-uri``/``using-named-graph-uri`` (updates) replace the dataset of the request; relative IRIs resolve
against the endpoint IRI; a query that names no dataset sees the union of all graphs as its default graph when the
data is in named graphs. The HTTP side is :mod:`converter.web.app`; the processes that run queries,
:mod:`converter.web.endpoint`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import IO, Any, cast

import pyoxigraph as ox

from ..rdf.formats import BOOLEAN_TYPES, GRAPH_TYPES, RESULT_TYPES
from ..store.queries import Token, calls_remote, names_dataset, syntax_message, tokens

Answer = tuple[int, str, bytes]  # HTTP status, Content-Type, body
Result = tuple[int, str, bytes | bytearray]  # the same, as execute makes it


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
    best: tuple[tuple[float, int, int], str] | None = None
    for index, candidate in enumerate(offered):
        weight: float | None = None
        specificity = -1
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
                specificity, weight = level, rq
        if weight is None or weight <= 0:
            continue
        key = (weight, specificity, -index)
        if best is None or key > best[0]:
            best = (key, candidate)
    return best[1] if best else None


def with_charset(media: str) -> str:
    """The Content-Type of a text or JSON body: the media type with ``charset=utf-8``."""
    return media + "; charset=utf-8" if media.startswith("text/") or media.endswith("json") else media


# --- updates: the protocol's dataset as USING clauses -------------------------------------------------------------
def _with_using(req: Request, lexed: list[Token]) -> str:
    """Apply the protocol's using-graph-uri / using-named-graph-uri as USING clauses of every operation that has a
    WHERE clause (``DELETE WHERE { P }`` is written out as ``DELETE { P } USING ... WHERE { P }``)."""
    if not req.default_graphs and not req.named_graphs:
        return req.text
    if any(t.kind == "word" and t.depth == 0 and t.text.upper() in ("USING", "WITH") for t in lexed):
        raise ProtocolError(400, "an update with USING or WITH cannot also take using-graph-uri or "
                                 "using-named-graph-uri parameters")
    using = " ".join([f"USING <{g}>" for g in req.default_graphs] +
                     [f"USING NAMED <{g}>" for g in req.named_graphs])
    text, pieces, last = req.text, [], 0
    for i, t in enumerate(lexed):
        if not (t.kind == "word" and t.depth == 0 and t.text.upper() == "WHERE"):
            continue
        insert = f"{using} "
        if i > 0 and lexed[i - 1].kind == "word" and lexed[i - 1].text.upper() == "DELETE":
            pattern = _group_after(lexed, i)
            if pattern is None:
                raise ProtocolError(400, "invalid SPARQL update: DELETE WHERE needs a { pattern }")
            insert = f"{text[pattern[0]:pattern[1]]} {using} "
        pieces += [text[last:t.start], insert]
        last = t.start
    pieces.append(text[last:])
    return "".join(pieces)


def _group_after(lexed: list[Token], i: int) -> tuple[int, int] | None:
    """The span of the { ... } group that follows token ``i``."""
    if i + 1 >= len(lexed) or lexed[i + 1].kind != "open":
        return None
    depth = lexed[i + 1].depth
    for t in lexed[i + 2:]:
        if t.kind == "close" and t.depth == depth:
            return lexed[i + 1].start, t.end
    return None


# --- executing (in a worker process or in the server process) ------------------------------------------------------
class _TooLarge(Exception):
    pass


class _OutOfTime(Exception):
    pass


class _Bounded:
    """A binary sink that refuses to grow past a limit (stops serialising a result that is too large) or, given a
    deadline, to go on writing after it. One growing buffer, not a list of pieces to join: a result is held once,
    not twice, and a worker hands it to its pipe as it is."""

    def __init__(self, limit: int, deadline: float | None = None) -> None:
        self.buffer = bytearray()
        self.limit = limit
        self.deadline = deadline

    def write(self, data: bytes) -> int:
        if len(self.buffer) + len(data) > self.limit:
            raise _TooLarge()
        if self.deadline is not None and time.monotonic() > self.deadline:
            raise _OutOfTime()
        self.buffer += data
        return len(data)

    def flush(self) -> None:
        pass


def too_large(max_bytes: int) -> ProtocolError:
    return ProtocolError(503, f"the result is larger than this endpoint's limit of {max_bytes} bytes; "
                              "add a LIMIT or narrow the query")


def out_of_time(timeout: float, update: bool = False) -> ProtocolError:
    if update:
        return ProtocolError(503, f"the update ran out of time ({timeout:g} s limit) and was rolled back")
    return ProtocolError(503, f"the query ran out of time ({timeout:g} s limit); narrow it or add a LIMIT")


def execute(store: ox.Store, req: Request, max_bytes: int, allow_remote: bool, union: bool,
            timeout: float | None = None) -> Result:
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
        options: dict[str, Any] = {"base_iri": req.base}
        if req.default_graphs or req.named_graphs:  # the protocol's dataset replaces the query's
            options["default_graph"] = [ox.NamedNode(g) for g in req.default_graphs]
            options["named_graphs"] = [ox.NamedNode(g) for g in req.named_graphs]
        elif not names_dataset(lexed):
            options["use_default_graph_as_union"] = union
        results = store.query(req.text, **options)
        bounded = _Bounded(max_bytes, deadline)
        sink = cast("IO[bytes]", bounded)  # a writable sink is all pyoxigraph needs
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
        return 200, with_charset(media), bounded.buffer
    except _TooLarge:
        raise too_large(max_bytes) from None
    except _OutOfTime:
        raise out_of_time(timeout or 0) from None
    except SyntaxError as err:
        kind = "SPARQL update" if req.update else "SPARQL query"
        raise ProtocolError(400, syntax_message(kind, req.text, err)) from None
    except ValueError as err:
        raise ProtocolError(400, str(err)) from None
    except OSError as err:
        if remote:
            raise ProtocolError(502, f"a remote service or document failed: {err}") from None
        raise ProtocolError(500, f"store error: {err}") from None
