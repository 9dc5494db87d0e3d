"""What the handlers read from a request before any query runs: form fields (bounded), the routes' allowed methods,
plain-text answers, and the trailing-slash redirect middleware."""

from __future__ import annotations

from urllib.parse import parse_qs

from starlette.requests import Request as HttpRequest
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from .protocol import ProtocolError

_MAX_FIELDS = 1000
_SPARQL_METHODS = "GET, HEAD, POST, OPTIONS"
_READ_METHODS = "GET, HEAD, OPTIONS"
_PAGES = ("/", "/queries", "/openapi.json", "/prefixes.json", "/dataset", "/figures", "/api", "/vocab",
          "/health")
_TEXT = "text/plain; charset=utf-8"

Params = dict[str, list[str]]


def _parse_qs(text: str, where: str) -> Params:
    try:
        return parse_qs(text, keep_blank_values=True, errors="strict", max_num_fields=_MAX_FIELDS)
    except UnicodeDecodeError:
        raise ProtocolError(400, f"the {where} is not percent-encoded UTF-8") from None
    except ValueError:
        raise ProtocolError(400, f"the {where} has more than {_MAX_FIELDS} fields") from None


def _allowed(path: str) -> str | None:
    """The methods a path answers to (None: nothing there)."""
    if path == "/sparql":
        return _SPARQL_METHODS
    if path in _PAGES or path.startswith(("/queries/", "/static/", "/figures/")):
        return _READ_METHODS
    return None


def _not_here(path: str) -> ProtocolError:
    return ProtocolError(404, f"nothing at {path}; the SPARQL endpoint is /sparql, the canned queries are at "
                              "/queries")


def _text(status: int, message: str, headers: dict[str, str] | None = None) -> Response:
    return Response((message.rstrip() + "\n").encode("utf-8"), status, {"Content-Type": _TEXT, **(headers or {})})


async def _left(request: HttpRequest) -> None:
    """Return once the client has gone (the body, if any, has been read already)."""
    while (await request.receive())["type"] != "http.disconnect":
        pass


class _Trailing:
    """``/sparql/`` is ``/sparql``: a trailing slash is dropped before routing (Starlette would redirect)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            path = scope["path"]
            if path == "*":  # OPTIONS * asks about the server as a whole
                scope = {**scope, "path": "/*", "raw_path": b"/*"}
            elif path != "/" and path.endswith("/"):
                scope = {**scope, "path": path.rstrip("/") or "/",
                         "raw_path": scope.get("raw_path", b"").rstrip(b"/") or b"/"}
        await self.app(scope, receive, send)
