"""The HTTP side of the pages for people that :mod:`converter.web.app` routes to: the answers a browser gets where a
machine gets data (canned-query results, the list of queries, the service description, errors), and the routes
that exist only for people or that serve files (``/api``, a figure's gene list, the dumps, old PFOCR addresses).

:class:`PageRoutes` is mixed into the application's handlers, which provide the plumbing it declares (sending,
blocking work, the endpoint). A browser is told apart from a client by its ``Accept`` header: HTML must be asked
for before the machine formats (``text/html,...,*/*;q=0.8``); ``*/*`` alone keeps the machine format.
"""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import quote, urlencode

from starlette.requests import Request as HttpRequest
from starlette.responses import RedirectResponse, Response
from starlette.types import Receive, Scope, Send

from ..rdf.formats import GRAPH_TYPES, MEDIA_TYPES, RESULT_NAMES, RESULT_TYPES, rdf_format
from .assets import content_security_policy
from .entries import gene_list
from .limits import ABORT, MIN_RATE
from .protocol import ProtocolError, Request
from .terms import wants_html

if TYPE_CHECKING:
    from .endpoint import Endpoint

T = TypeVar("T")
Params = dict[str, list[str]]

PAGE_HEADERS = {"Content-Security-Policy": content_security_policy(), "X-Content-Type-Options": "nosniff",
                "Referrer-Policy": "no-referrer"}
# ?format= on a canned query: the formats a browser reader may want beside the page
FORMAT_TYPES = {**RESULT_NAMES, **{name: MEDIA_TYPES[rdf_format(name)]
                                  for name in ("turtle", "ttl", "ntriples", "nt", "jsonld", "json-ld")}}
_GENE_LISTS = {"txt": "text/plain; charset=utf-8", "tsv": "text/tab-separated-values; charset=utf-8"}
_CHUNK = 1 << 16


class PageRoutes:
    """Handlers and hooks for the pages; mixed into ``converter.web.app._Handlers``."""

    endpoint: Endpoint
    openapi: bytes
    request_timeout: float

    # provided by the application's handlers
    def _send(self, status: int, content_type: str, body: bytes, extra: dict[str, str] | None = None) -> Response:
        raise NotImplementedError

    async def _blocking(self, request: HttpRequest, call: Callable[[float], T], kind: str = "cheap") -> T:
        raise NotImplementedError

    def _params(self, request: HttpRequest) -> Params:
        raise NotImplementedError

    def _endpoint_iri(self, request: HttpRequest) -> str:
        raise NotImplementedError

    # -- shared
    def _html(self, html: str, status: int = 200, extra: dict[str, str] | None = None) -> Response:
        return self._send(status, "text/html; charset=utf-8", html.encode("utf-8"), {**PAGE_HEADERS, **(extra or {})})

    def _here(self, request: HttpRequest) -> str:
        """This page's address on this server, as the client reached it: a page's rel=canonical where it stands
        for no IRI of the dataset."""
        base = self._endpoint_iri(request).removesuffix("/sparql")
        query = request.scope.get("query_string", b"").decode("latin-1")
        return base + request.url.path + (f"?{query}" if query else "")

    @staticmethod
    def _browser(request: HttpRequest, offered: list[str]) -> bool:
        return request.method in ("GET", "HEAD") and wants_html(request.headers.get("accept") or "*/*", offered)

    # -- answers in HTML where a browser asks
    def error_html(self, request: HttpRequest, status: int, message: str,
                   headers: dict[str, str] | None = None) -> Response | None:
        """An error as a page with the site's menu, for a browser; None for anyone else (they get the text)."""
        if status < 400 or not self._browser(request, ["text/plain"]):
            return None
        page = self.endpoint.site.error_page(status, message, self._here(request))
        return self._html(page, status, headers)

    async def results_html(self, request: HttpRequest, name: str, params: Params, text: str) -> Response | None:
        """A canned query's answer for a browser: a page with a table, its parameters, and links to the same
        answer as JSON, CSV, TSV, XML (or Turtle, N-Triples, JSON-LD for a graph)."""
        if not self._browser(request, [*RESULT_TYPES, *GRAPH_TYPES]):
            return None
        req = Request(text, accept="application/sparql-results+json, application/n-triples;q=0.9",
                      base=self._endpoint_iri(request))
        _, content_type, body = await self._blocking(request, lambda wait: self.endpoint.run(req, wait))
        values = {k: v[0] for k, v in params.items()}
        graph = not content_type.startswith("application/sparql-results")
        kinds = ("turtle", "ntriples", "jsonld") if graph else ("json", "csv", "tsv", "xml")
        links = {FORMAT_TYPES[k]: f"/queries/{name}?" + urlencode({**values, "format": k}) for k in kinds}
        page = await self._blocking(request, lambda _: self.endpoint.site.results_page(name, values, body, content_type,
                                                                              self._here(request), links))
        return self._html(page)

    def canned_format(self, request: HttpRequest, name: str, params: Params) -> str | None:
        """The media type ``?format=`` asks for on a canned query (taken out of the parameters), unless the query
        has a parameter of that name itself."""
        query = self.endpoint.queries.get(name)
        if "format" not in params or query is None or any(p.name == "format" for p in query.params):
            return None
        wanted = params.pop("format")
        media = FORMAT_TYPES.get(wanted[0].lower()) if len(wanted) == 1 else None
        if media is None:
            raise ProtocolError(400, "format is one of " + ", ".join(FORMAT_TYPES))
        return media

    async def queries_html(self, request: HttpRequest) -> Response | None:
        if self._params(request).get("format") == ["json"] or not self._browser(request, ["application/json"]):
            return None
        page = await self._blocking(request, lambda _: self.endpoint.site.queries_page(self._here(request)))
        return self._html(page)

    def service_html(self, request: HttpRequest, turtle: str, endpoint: str) -> Response | None:
        """The service description as a page for a browser (``?format=turtle`` gives the Turtle)."""
        if "format" in self._params(request) or not self._browser(request, list(GRAPH_TYPES)):
            return None
        return self._html(self.endpoint.site.service_page(turtle, endpoint, self._here(request)))

    def service_format(self, request: HttpRequest) -> str | None:
        wanted = self._params(request).get("format")
        if not wanted:
            return None
        media = FORMAT_TYPES.get(wanted[0].lower()) if len(wanted) == 1 else None
        if media not in GRAPH_TYPES:
            raise ProtocolError(400, "format is one of turtle, ntriples, jsonld")
        return media

    # -- routes of their own
    async def api(self, request: HttpRequest) -> Response:
        """The API described by /openapi.json, for people: a table of the operations and Swagger UI."""
        document: dict[str, Any] = json.loads(self.openapi)
        return self._html(self.endpoint.site.api_page(document, self._here(request)))

    async def genes(self, request: HttpRequest) -> Response:
        """A figure's genes as a file for an enrichment tool: ``/figures/{figid}-genes.txt`` (symbols) or
        ``.tsv`` (symbols, NCBI Gene ids, taxa, the words and how they matched)."""
        figid, fmt = request.path_params["figid"], request.path_params["fmt"]
        if fmt not in _GENE_LISTS:
            raise ProtocolError(404, f"nothing at {request.url.path}; gene lists are -genes.txt and -genes.tsv")
        genes = await self._blocking(request, lambda _: self.endpoint.site.figure_genes(figid))
        if genes is None:
            raise ProtocolError(404, f"no figure {figid!r} in this store")
        return self._send(200, _GENE_LISTS[fmt], gene_list(genes, fmt).encode("utf-8"),
                          {"Content-Disposition": f'inline; filename="{figid}-genes.{fmt}"'})

    async def before_resource(self, request: HttpRequest, path: str) -> Response | None:
        """What a path of the dataset's namespace answers before content negotiation: a dump file lying beside
        the store, or a redirect from an old PFOCR address (``/figures/{figid_alias}``, a figid without
        ``.html``) to the figure's page."""
        site = self.endpoint.site
        if path.count("/") == 1 and "." in path:
            dumps = await self._blocking(request, lambda _: site.dump_files())
            if path in dumps:
                return DumpFile(*dumps[path], request_timeout=self.request_timeout)
        if path.startswith("/figures/") and not path.endswith(".html") and path.count("/") == 2:
            name = request.url.path[len("/figures/"):]
            figid = await self._blocking(request, lambda _: site.alias(name))
            if figid is not None:
                query = request.scope.get("query_string", b"").decode("latin-1")
                target = f"/figures/{quote(figid)}.html" + (f"?{query}" if query else "")
                return RedirectResponse(target, 301,
                                        {"Access-Control-Allow-Origin": "*"})
        return None


class DumpFile(Response):
    """A dump file streamed from disk. As with query results, a client must read it at ``MIN_RATE`` at least
    (after ``request_timeout`` seconds of grace), or it is cut off: a slow reader cannot hold a connection for
    ever. Nothing is held in memory beyond one chunk."""

    def __init__(self, path: str, media: str, request_timeout: float) -> None:
        super().__init__(None, 200, {"Content-Type": media, "Access-Control-Allow-Origin": "*",
                                     "X-Content-Type-Options": "nosniff"})
        self.path, self.grace = path, request_timeout
        self.size = os.path.getsize(path)
        self.headers["content-length"] = str(self.size)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": self.status_code, "headers": self.raw_headers})
        if scope["method"] == "HEAD":
            await send({"type": "http.response.body", "body": b"", "more_body": False})
            return
        loop = asyncio.get_running_loop()
        fh = await loop.run_in_executor(None, open, self.path, "rb")
        try:
            async with asyncio.timeout_at(loop.time() + self.grace + self.size / MIN_RATE):
                sent = 0
                while sent < self.size:
                    chunk = await loop.run_in_executor(None, fh.read, min(_CHUNK, self.size - sent))
                    if not chunk:  # the file shrank under us: end what was promised as an error
                        raise OSError(f"{self.path} changed while it was sent")
                    sent += len(chunk)
                    await send({"type": "http.response.body", "body": chunk, "more_body": sent < self.size})
        except TimeoutError:
            abort = scope.get("state", {}).get(ABORT)
            if abort is None:
                raise
            abort()
            while (await receive())["type"] != "http.disconnect":
                pass
        finally:
            fh.close()
