"""The endpoint over HTTP: a Starlette application for the SPARQL 1.1 Protocol, the canned queries and the pages.

    >>> app = make_app(Endpoint("output/store"), request_timeout=30.0)      # doctest: +SKIP

:mod:`converter.web.server` serves it with uvicorn. Starlette routes requests and parses them into ``Request`` objects;
this module keeps what is ours: the protocol's exact answers (statuses, messages, content negotiation, CORS), the
limits on what a client may send (an 8 MiB body that must arrive within the request timeout) and on how it must
read (256 KiB/s at least; large results share a byte budget), and blocking work kept off the event loop.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Awaitable, Callable
from contextlib import suppress
from typing import Any, TypeVar

import pyoxigraph as ox
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect
from starlette.requests import Request as HttpRequest
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp

from ..rdf.formats import GRAPH_TYPES, MEDIA_TYPES, rdf_format
from ..rdf.vocab import DATASET, FIGURES, PREFIXES
from ..store.queries import QueryError, query_form, tokens
from .access import Access
from .endpoint import CURRENT, Endpoint
from .forms import _SPARQL_METHODS, _TEXT, Params, _allowed, _left, _not_here, _parse_qs, _text, _Trailing
from .limits import Budget, Paced, Threads
from .openapi import openapi_document
from .pages import PAGE_HEADERS, PageRoutes
from .protocol import ProtocolError, Request, negotiate, with_charset
from .slots import Cancelled, Ticket
from .terms import DEREFERENCED, RDF_TYPES, VOCAB, rdf_document, site_iri

T = TypeVar("T")

DEADLINE = "pfocr.deadline"  # scope["state"]: loop time by which the whole request must have arrived

_FORM = "application/x-www-form-urlencoded"
_DIRECT = {"application/sparql-query": False, "application/sparql-update": True}
_MAX_BODY = 8 << 20
_ABSOLUTE_IRI = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:[^\x00-\x20<>\"{}|^`\\]*")
_HOST = re.compile(r"(?:[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?|\[[0-9A-Fa-f:.]+\])(?::[0-9]{1,5})?")
_THREADS = 64  # requests doing blocking work at once (waiting for a query worker counts); more wait their turn
_HTML = "text/html; charset=utf-8"
# Pages load nothing from elsewhere but the figure images from PMC: scripts, styles and queries come from this server.
_PAGE_HEADERS = PAGE_HEADERS


class _Handlers(PageRoutes):
    """The HTTP face of an endpoint: one handler per route (the pages' own in :class:`PageRoutes`)."""

    def __init__(self, endpoint: Endpoint, request_timeout: float, access: Access) -> None:
        self.endpoint = endpoint
        self.request_timeout = request_timeout
        self.access = access
        self.threads = Threads(_THREADS)
        self.budget = Budget(max(256 << 20, endpoint.max_result_bytes))
        self.openapi = json.dumps(openapi_document(endpoint.queries, writable=endpoint.writable,
                                                   timeout=endpoint.timeout,
                                                   max_result_bytes=endpoint.max_result_bytes), indent=1).encode()

    def app(self) -> ASGIApp:
        guard = self._guard
        routes = [
            Route("/{path:path}", guard(self.options), methods=["OPTIONS"]),  # first: every OPTIONS comes here
            Route("/sparql", guard(self.sparql), methods=["GET", "POST"]),
            Route("/", guard(self.index)),
            Route("/queries", guard(self.query_list)),
            Route("/queries/{name:path}", guard(self.canned)),
            Route("/openapi.json", guard(self.openapi_json)),
            Route("/health", guard(self.health)),
            Route("/prefixes.json", guard(self.prefixes)),
            Route("/static/{name:path}", guard(self.static)),
            Route("/figures", guard(self.figures)),
            Route("/figures/{figid}-genes.{fmt}", guard(self.genes)),
            Route("/api", guard(self.api)),
            Route("/{path:path}", guard(self.resource)),
        ]
        handlers: dict[Any, Any] = {
            ProtocolError: self._refused, HTTPException: self._routing, ClientDisconnect: self._gone,
            Cancelled: self._gone}
        return _Trailing(Starlette(routes=routes, exception_handlers=handlers))

    # -- plumbing
    def _guard(self, handler: Callable[[HttpRequest], Awaitable[Response]]
               ) -> Callable[[HttpRequest], Awaitable[Response]]:
        """Every failure becomes an answer: a bug must not take the connection down without a word. Every answer
        gets its CORS headers."""

        async def guarded(request: HttpRequest) -> Response:
            try:
                return self._cors(request, await handler(request))
            except (ProtocolError, ClientDisconnect, Cancelled):
                raise
            except QueryError as err:
                raise ProtocolError(400, str(err)) from None
            except Exception as err:
                raise ProtocolError(500, f"internal error: {type(err).__name__}: {err}") from None

        return guarded

    def _cors(self, request: HttpRequest, response: Response) -> Response:
        """Reads are open to the configured origins; a write's answer (an update's, or its refusal) to none."""
        vary = [v.strip() for v in response.headers.get("vary", "Accept").split(",")]
        if getattr(request.state, "write", False):
            response.headers["Vary"] = ", ".join(vary)
            return response
        for name, value in self.access.read_headers(request.headers.get("origin")).items():
            response.headers[name] = value
        if self.access.varies_by_origin and "Origin" not in vary:
            vary.append("Origin")
        response.headers["Vary"] = ", ".join(vary)
        return response

    async def _refused(self, request: HttpRequest, err: Exception) -> Response:
        assert isinstance(err, ProtocolError)
        return self._cors(request, self.error_html(request, err.status, str(err), err.headers)
                          or _text(err.status, str(err), err.headers))

    async def _routing(self, request: HttpRequest, err: Exception) -> Response:
        """Starlette's 404 and 405, in our words."""
        assert isinstance(err, HTTPException)
        path = request.url.path
        allowed = _allowed(path)
        if err.status_code == 405 and allowed is not None:
            method = request.method
            message = (f"POST goes to /sparql, not {path}" if method == "POST"
                       else f"{method} is not supported here; use {allowed}")
            return self._cors(request, _text(405, message, {"Allow": allowed}))
        if err.status_code in (404, 405):
            return self._cors(request, self.error_html(request, 404, str(_not_here(path)))
                              or _text(404, str(_not_here(path))))
        return self._cors(request, _text(err.status_code, err.detail))

    async def _gone(self, request: HttpRequest, err: Exception) -> None:
        return None  # the client left: nobody to answer

    def _send(self, status: int, content_type: str, body: bytes, extra: dict[str, str] | None = None) -> Response:
        headers = {"Vary": "Accept", **(extra or {})}
        if status == 204:
            return Response(None, 204, headers)
        return Paced(body, status, {**headers, "Content-Type": content_type}, self.budget, self.request_timeout)

    def _page(self, html: str, status: int = 200) -> Response:
        return self._send(status, _HTML, html.encode("utf-8"), _PAGE_HEADERS)

    async def _blocking(self, request: HttpRequest, call: Callable[[float], T], kind: str = "cheap") -> T:
        """``call(seconds it may still wait for a query worker)`` off the event loop, for the lane ``kind``. If the
        client leaves meanwhile, what runs for it is ended (its worker killed): an abandoned query or update must
        not hold a worker, or the update lock, until its time limit."""
        ticket = Ticket(request.client.host if request.client else "", kind)  # a client is its address

        def job(wait: float) -> T:
            CURRENT.set(ticket)
            return call(wait)

        deadline = asyncio.get_running_loop().time() + self.endpoint.queue_wait
        work = asyncio.ensure_future(self.threads.run(deadline, job))
        gone = asyncio.ensure_future(_left(request))
        try:
            await asyncio.wait({work, gone}, return_when=asyncio.FIRST_COMPLETED)
            if work.done():
                return work.result()
            ticket.cancel()
            with suppress(Exception):
                await work
            raise ClientDisconnect
        finally:
            gone.cancel()

    async def _answer(self, request: HttpRequest, req: Request, kind: str = "") -> Response:
        if not kind:
            kind = "update" if req.update else "ask" if query_form(tokens(req.text)) == "ASK" else "general"
        status, content_type, body = await self._blocking(request, lambda wait: self.endpoint.run(req, wait), kind)
        return self._send(status, content_type, body)

    def _writing(self, request: HttpRequest) -> None:
        """An update is coming: refuse it on a read-only endpoint, from another origin or without credentials."""
        request.state.write = True
        if not self.endpoint.writable:
            raise ProtocolError(403, "this endpoint is read-only; start it with --writable to accept updates")
        self.access.check_write({k.lower(): v for k, v in request.headers.items()}, request.headers.get("host", ""))

    @staticmethod
    def _params(request: HttpRequest) -> Params:
        return _parse_qs(request.scope.get("query_string", b"").decode("latin-1"), "query string")

    @staticmethod
    def _accept(request: HttpRequest, default: str = "*/*") -> str:
        return request.headers.get("accept") or default

    def _endpoint_iri(self, request: HttpRequest) -> str:
        """The endpoint's IRI as the client addressed it (the Host header, when it is a plain host name)."""
        host = (request.headers.get("host") or "").strip()
        if not _HOST.fullmatch(host):
            address, port = request.scope.get("server") or ("127.0.0.1", 0)
            host = f"[{address}]:{port}" if ":" in address else f"{address}:{port}"
        return f"http://{host}/sparql"

    async def _body(self, request: HttpRequest) -> bytes:
        """The request body, which must arrive within what is left of the request timeout."""
        if "transfer-encoding" in request.headers:
            raise ProtocolError(411, "send a Content-Length; chunked or encoded bodies are not accepted")
        length = request.headers.get("content-length")
        if length is None:
            return b""
        if not length.isdigit():  # uvicorn's parser refuses these first; kept for other servers
            raise ProtocolError(400, "Content-Length is not a number")
        size = int(length)
        if size > _MAX_BODY:  # answered from the headers: the body is never read
            raise ProtocolError(413, f"request bodies are limited to {_MAX_BODY} bytes", {"Connection": "close"})
        loop = asyncio.get_running_loop()
        deadline = request.scope.get("state", {}).get(DEADLINE) or loop.time() + self.request_timeout
        chunks = []
        try:
            async with asyncio.timeout_at(deadline):
                async for chunk in request.stream():
                    chunks.append(chunk)
        except TimeoutError:
            raise ProtocolError(408, f"the request did not arrive within {self.request_timeout:g} s",
                                {"Connection": "close"}) from None
        body = b"".join(chunks)
        if len(body) != size:
            raise ProtocolError(400, "the body is shorter than its Content-Length", {"Connection": "close"})
        return body

    # -- the SPARQL endpoint
    async def options(self, request: HttpRequest) -> Response:
        path = request.url.path
        allowed = _SPARQL_METHODS if path == "/*" else _allowed(path)
        if allowed is None:
            raise _not_here(path)
        return self._send(204, "", b"", {
            "Allow": allowed,
            "Access-Control-Allow-Methods": allowed,
            "Access-Control-Allow-Headers": ", ".join(
                h.strip() for h in (request.headers.get("access-control-request-headers") or "Accept, Content-Type")
                .split(",") if h.strip().lower() != "authorization"),
            "Access-Control-Max-Age": "86400",
        })

    async def sparql(self, request: HttpRequest) -> Response:
        params = self._params(request)
        if request.method != "POST":
            if "update" in params:
                raise ProtocolError(400, "updates must be sent with POST (form or direct), not GET")
            if "query" not in params:
                return self._service_description(request)
            return await self._answer(request, self._request(request, params, params["query"], False))
        media, _, rest = (request.headers.get("content-type") or "").partition(";")
        media = media.strip().lower()
        if media == "application/sparql-update":  # refused before its body is read
            self._writing(request)
        body = await self._body(request)
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
                return await self._answer(request, self._request(request, form, form["query"], False))
            if "update" in form:
                self._writing(request)
                return await self._answer(request, self._request(request, form, form["update"], True))
            raise ProtocolError(400, "the form has neither a query nor an update field")
        if media in _DIRECT:
            if "query" in params or "update" in params:
                raise ProtocolError(400, "a direct POST carries the query or update in its body, not in the URL")
            try:
                text = body.decode("utf-8").removeprefix("\ufeff")
            except UnicodeDecodeError:
                raise ProtocolError(400, "the body is not UTF-8") from None
            return await self._answer(request, self._request(request, params, [text], _DIRECT[media]))
        if not media:
            raise ProtocolError(400, "POST needs a Content-Type: application/sparql-query, "
                                     "application/sparql-update or application/x-www-form-urlencoded")
        raise ProtocolError(415, f"unsupported Content-Type {media}; send application/sparql-query, "
                                 "application/sparql-update or application/x-www-form-urlencoded")

    def _request(self, request: HttpRequest, params: Params, texts: list[str], update: bool) -> Request:
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
                       self._accept(request), self._endpoint_iri(request))

    def _service_description(self, request: HttpRequest) -> Response:
        endpoint = self._endpoint_iri(request)
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
        page = self.service_html(request, turtle, endpoint)
        if page is not None:
            return page
        media = self.service_format(request) or negotiate(self._accept(request, "text/turtle"), list(GRAPH_TYPES))
        vary = {"Vary": "Accept, Host"}  # it names the endpoint as the Host header does: a cache must key on both
        if media is None or media == "text/turtle":
            return self._send(200, "text/turtle; charset=utf-8", turtle.encode("utf-8"), vary)
        triples = ox.parse(turtle.encode("utf-8"), format=ox.RdfFormat.TURTLE)
        return self._send(200, with_charset(media), ox.serialize(triples, format=GRAPH_TYPES[media]) or b"", vary)

    # -- the canned queries and the documents about the endpoint
    async def query_list(self, request: HttpRequest) -> Response:
        page = await self.queries_html(request)
        if page is not None:
            return page
        listed = [{"name": q.name, "title": q.title, "description": q.description, "path": f"/queries/{q.name}",
                   "parameters": [{"name": p.name, "type": p.type, "default": p.default,
                                   "description": p.description} for p in q.params]}
                  for q in self.endpoint.queries.values()]
        return self._send(200, "application/json", json.dumps(listed, indent=1).encode())

    def _rendered(self, name: str, params: Params) -> str:
        """A canned query's text with the parameter values of a request."""
        query = self.endpoint.queries.get(name)
        if query is None:
            raise ProtocolError(404, f"no canned query {name!r}; /queries lists them")
        repeated = sorted(k for k, v in params.items() if len(v) > 1)
        if repeated:
            raise ProtocolError(400, f"give each parameter once (lists are comma-separated): {', '.join(repeated)}")
        return query.render({k: v[0] for k, v in params.items()})

    async def canned(self, request: HttpRequest) -> Response:
        name, params = request.path_params["name"], self._params(request)
        if name.endswith(".rq"):  # the text, as the editor loads it
            text = self._rendered(name.removesuffix(".rq"), params)
            return self._send(200, "application/sparql-query; charset=utf-8", text.encode("utf-8"))
        media = self.canned_format(request, name, params)
        text = self._rendered(name, params)
        page = None if media else await self.results_html(request, name, params, text)
        return page or await self._answer(request, Request(text, accept=media or self._accept(request),
                                                           base=self._endpoint_iri(request)), "cheap")

    async def health(self, request: HttpRequest) -> Response:
        """200 and the version served while healthy; 503 once a worker could not start (the server then stops)."""
        healthy, info = self.endpoint.health()
        return Response(json.dumps(info, indent=1).encode() + b"\n", 200 if healthy else 503,
                        {"Content-Type": "application/json", "Cache-Control": "no-store"})

    async def openapi_json(self, request: HttpRequest) -> Response:
        return self._send(200, "application/json", self.openapi)

    async def prefixes(self, request: HttpRequest) -> Response:
        return self._send(200, "application/json", json.dumps(PREFIXES, indent=1).encode())

    # -- the pages
    async def index(self, request: HttpRequest) -> Response:
        if negotiate(self._accept(request), ["text/html", "text/plain"]) == "text/plain":
            lines = ["PFOCR linked data", "", "SPARQL 1.1 endpoint: /sparql (GET ?query=..., POST form or direct)",
                     "Canned queries: /queries (each at /queries/NAME?param=value)", "OpenAPI: /openapi.json", ""]
            lines += [f"/queries/{q.name}  {q.title}" for q in self.endpoint.queries.values()]
            return self._send(200, _TEXT, ("\n".join(lines) + "\n").encode("utf-8"))
        return self._page(await self._blocking(request, lambda _: self.endpoint.site.editor_page(self._here(request))))

    async def static(self, request: HttpRequest) -> Response:
        found = self.endpoint.static.get(request.path_params["name"])
        if found is None:
            raise _not_here(request.url.path)
        return self._send(200, found[1], found[0], {"Cache-Control": "max-age=3600",
                                                    "X-Content-Type-Options": "nosniff"})

    async def figures(self, request: HttpRequest) -> Response:
        entity = self._params(request).get("mentions", [""])
        if len(entity) != 1 or not _ABSOLUTE_IRI.fullmatch(entity[0]):
            raise ProtocolError(400, "give one entity IRI: /figures?mentions=https://identifiers.org/ncbigene/7157")
        return self._page(await self._blocking(
            request, lambda _: self.endpoint.site.figures_page(entity[0], self._here(request))))

    async def resource(self, request: HttpRequest) -> Response:
        """A dereferenced IRI of the dataset's namespace: its page (HTML) or its statements (RDF)."""
        path = request.scope.get("raw_path", b"").decode("latin-1") or request.url.path  # the IRI as written
        iri = DATASET if path == "/dataset" else site_iri(path)
        if not _ABSOLUTE_IRI.fullmatch(iri):
            raise _not_here(path)
        early = await self.before_resource(request, path)
        if early is not None:
            return early
        offered = ["text/html", *RDF_TYPES]
        wanted = self._params(request).get("format")
        if wanted:
            try:
                fmt = rdf_format(wanted[0]) if len(wanted) == 1 else ""
            except ValueError:
                fmt = ""
            if fmt not in DEREFERENCED:
                raise ProtocolError(400, "format is one of turtle (ttl), ntriples (nt), jsonld (json-ld)")
            media = MEDIA_TYPES[fmt]
        else:
            found = negotiate(self._accept(request), offered)
            if found is None:
                raise ProtocolError(406, "no acceptable format; offered: " + ", ".join(offered))
            media = found
        return await self._blocking(request, lambda _: self._described(path, iri, media))

    def _described(self, path: str, iri: str, media: str) -> Response:
        site = self.endpoint.site
        if media == "text/html" and path == "/dataset":
            return self._page(self.endpoint.dataset_page())
        if iri == VOCAB:  # the pfocr: namespace, from the vocabulary the package carries
            if media == "text/html":
                return self._page(site.vocab_page())
            return self._send(200, with_charset(media), rdf_document(site.vocab_triples(), media))
        if media == "text/html" and iri.startswith(FIGURES) and iri.endswith(".html"):
            page = site.figure_page(iri[len(FIGURES):-len(".html")], iri)
            if page is None:
                raise _not_here(path)
            return self._page(page)
        if media == "text/html":
            triples = site.describe(iri)
            if not triples:
                raise _not_here(path)
            return self._page(site.resource_page(iri, triples))
        document = site.document(iri)  # with the names of what it links to
        if not document:
            raise _not_here(path)
        return self._send(200, with_charset(media), rdf_document(document, media))


def make_app(endpoint: Endpoint, request_timeout: float = 30.0, access: Access | None = None) -> ASGIApp:
    """The ASGI application for ``endpoint``. ``request_timeout``: seconds a client has to send a whole request
    (the server arms it for the head, see :mod:`converter.web.server`; the body is read against the same deadline).
    ``access``: the password for updates and the origins that may read (none, and any, when not given)."""
    return _Handlers(endpoint, request_timeout, access or Access()).app()
