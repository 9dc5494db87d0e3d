"""Serving the endpoint: uvicorn runs the Starlette application of :mod:`converter.web.app` on a socket bound here.

    >>> server = make_server(Endpoint("output/store"), port=0)       # doctest: +SKIP
    >>> server.start()                                              # doctest: +SKIP
    >>> server.url                                                  # doctest: +SKIP
    'http://127.0.0.1:40123/sparql'
    >>> server.stop()                                               # doctest: +SKIP

``serve_forever()`` serves in the calling thread until Ctrl-C or SIGTERM; ``start()``/``stop()`` serve in a
background thread. The socket is bound when the server is made, so a busy port is an ``OSError`` there.

uvicorn parses HTTP (httptools), keeps connections alive and answers 503 past 512 connections. What it does not do
is here, in a subclass of its httptools protocol: a deadline for each request head (uvicorn arms no timer before a
head arrives and restarts its keep-alive timer on every byte, so a client sending a byte a second holds its
connection for ever: measured on uvicorn alone, with a 5 s keep-alive timeout, such a client was still connected
after 30 s), limits on the size of a head (httptools buffers a header of any length), and our answers to what the
parser refuses.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import socket
import sys
import threading
import time
from collections.abc import Callable, Iterator

import httptools
import uvicorn
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from .. import __version__
from .access import Access
from .app import DEADLINE, make_app
from .endpoint import Endpoint
from .limits import ABORT

MAX_CONNECTIONS = 512  # open connections; past them requests are answered 503
_MAX_URL = 1 << 16  # bytes of a request target: a longer GET query is answered 414 (POST it)
_MAX_HEAD = 1 << 17  # bytes of a request head (request line and headers): 431 past them
_MAX_HEADERS = 100  # header fields: 431 past them
_MAX_FIELD = 1 << 16  # bytes of one header field: 431 past them
_START_TIMEOUT = 30.0  # seconds start() waits for the server to listen
_GRACE = 2.0  # seconds requests in flight have to finish when the server stops


class _Refused(Exception):
    """A request the protocol answers itself, before it reaches the application."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


class _Protocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with a deadline for each request and limits on its head.

    The deadline is armed when the connection opens and again when a response is done, and is not moved by data: a
    whole head must arrive within ``request_timeout`` (a connection with half a head is answered 408, an idle one
    is closed), and the application reads the body against the same deadline (``scope["state"][DEADLINE]``)."""

    request_timeout = 30.0  # set on the subclass made by make_server

    # uvicorn's protocol narrows asyncio's BaseTransport to a Transport, as this override does
    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._timer: asyncio.TimerHandle | None = None
        self._head_open, self._head_bytes, self._line_done = True, 0, False  # bytes not yet parsed are a head's
        self._arm()

    def _arm(self) -> None:
        """The next request has until the deadline to arrive."""
        self._disarm()
        self._deadline = self.loop.time() + self.request_timeout
        self._timer = self.loop.call_at(self._deadline, self._late)

    def _disarm(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _late(self) -> None:
        self._timer = None
        if self.transport.is_closing():
            return
        if self._head_bytes and self._head_open:
            self._refuse(408, f"the request did not arrive within {self.request_timeout:g} s")
        else:  # idle, or a response still unread after all this time: drop it, buffers and all
            self.transport.abort()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        self._unset_keepalive_if_required()
        if self._head_open:
            self._head_bytes += len(data)
            self._line_done = self._line_done or b"\n" in data
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            pass  # no protocol to upgrade to: the request is answered as it is
        except Exception as err:  # any parser failure (or one of its callbacks) is a bad request
            if isinstance(err.__context__, _Refused):  # raised in a callback, which httptools wraps
                self._refuse(err.__context__.status, str(err.__context__))
            elif "HTTP version" in str(err):
                self._refuse(505, "only HTTP/1.0 and HTTP/1.1 are supported")
            else:
                self._refuse(400, f"malformed request: {err}")
            return
        if self._head_open and self._line_done and self.parser.get_http_version() in ("0.0", "0.9"):
            self._refuse(400, "HTTP/0.9 requests are not supported; send HTTP/1.0 or 1.1")
        elif self._head_open and self._head_bytes > _MAX_HEAD:
            self._refuse(431 if self._line_done else 414, "the request head is too large" if self._line_done
                         else f"the request line is longer than {_MAX_URL} bytes; send long queries by POST")

    def on_url(self, url: bytes) -> None:
        super().on_url(url)
        if len(self.url) > _MAX_URL:
            raise _Refused(414, f"the request line is longer than {_MAX_URL} bytes; send long queries by POST")

    def on_header(self, name: bytes, value: bytes) -> None:
        if len(self.headers) >= _MAX_HEADERS:
            raise _Refused(431, f"more than {_MAX_HEADERS} header fields")
        if len(name) + len(value) > _MAX_FIELD:
            raise _Refused(431, f"a header field is longer than {_MAX_FIELD} bytes")
        super().on_header(name, value)

    def on_headers_complete(self) -> None:
        self._head_open = False
        self._disarm()
        version = self.parser.get_http_version()
        if version in ("0.0", "0.9"):
            raise _Refused(400, "HTTP/0.9 requests are not supported; send HTTP/1.0 or 1.1")
        if version not in ("1.0", "1.1"):
            raise _Refused(505, "only HTTP/1.0 and HTTP/1.1 are supported")
        # uvicorn's own test, answered in our words (and with Retry-After)
        if self.limit_concurrency is not None and (len(self.connections) >= self.limit_concurrency
                                                   or len(self.tasks) >= self.limit_concurrency):
            raise _Refused(503, "too many open connections; try again shortly")
        self.scope["state"][DEADLINE] = self._deadline
        self.scope["state"][ABORT] = self.transport.abort
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        super().on_message_complete()
        self._head_open, self._head_bytes, self._line_done = True, 0, False  # what follows is the next head

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if self.timeout_keep_alive_task is not None:  # uvicorn's sign that the connection waits for a request
            self._unset_keepalive_if_required()
            self._arm()

    def _refuse(self, status: int, message: str) -> None:
        """Answer ``status`` and close, unless a response is under way (then close after it)."""
        self._disarm()
        if self.cycle is not None and not self.cycle.response_complete:
            self.cycle.keep_alive = False
            self.flow.pause_reading()
            return
        body = (message + "\n").encode("utf-8")
        head = [b"HTTP/1.1 %d %s\r\n" % (status, _REASONS.get(status, b"Error"))]
        head += [name + b": " + value + b"\r\n" for name, value in self.server_state.default_headers]
        head += [b"Content-Type: text/plain; charset=utf-8\r\nContent-Length: %d\r\n" % len(body)]
        if status == 503:
            head.append(b"Retry-After: 5\r\n")
        self.transport.write(b"".join(head) + b"Connection: close\r\n\r\n" + body)
        self.transport.close()


_REASONS = {400: b"Bad Request", 408: b"Request Timeout", 414: b"URI Too Long",
            431: b"Request Header Fields Too Large", 503: b"Service Unavailable",
            505: b"HTTP Version Not Supported"}


class _Uvicorn(uvicorn.Server):
    def __init__(self, config: uvicorn.Config, end_queries: Callable[[], None]) -> None:
        super().__init__(config)
        self.end_queries = end_queries

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        """Requests in flight get _GRACE seconds to finish; then what still runs is ended, so that its client is
        told 503 'shutting down' before uvicorn's own deadline would cancel the request without an answer."""
        ending = asyncio.get_running_loop().call_later(_GRACE, self.end_queries)
        try:
            await super().shutdown(sockets)
        finally:
            ending.cancel()

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        """Ctrl-C and SIGTERM stop serving and return. (uvicorn raises the signal again once it has stopped, which
        ends the process before the query workers are shut down.)"""
        if threading.current_thread() is not threading.main_thread():
            yield
            return
        previous = {sig: signal.signal(sig, self.handle_exit) for sig in (signal.SIGINT, signal.SIGTERM)}
        try:
            yield
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # a restart need not wait for TIME_WAIT
        sock.bind((host.strip("[]"), port))
        sock.listen(2048)
    except OSError:
        sock.close()
        raise
    return sock


class Server:
    """The endpoint served over HTTP on a socket bound at construction."""

    def __init__(self, endpoint: Endpoint, host: str = "127.0.0.1", port: int = 7878, *,
                 request_timeout: float = 30.0, access: Access | None = None) -> None:
        if endpoint.writable and (access is None or access.password is None):
            raise ValueError("a writable endpoint needs a password for its updates")
        self.endpoint = endpoint
        self.failure: str | None = None  # why the server stopped by itself (a worker could not start)
        endpoint.on_failure = self._failed
        self.socket = _bind(host, port)
        self.server_address: tuple[str, int] = self.socket.getsockname()[:2]
        protocol = type("Protocol", (_Protocol,), {"request_timeout": request_timeout})
        access_log = bool(os.environ.get("PFOCR_RDF_ACCESS_LOG"))
        if access_log:
            logging.getLogger("uvicorn.access").addHandler(logging.StreamHandler(sys.stderr))
            logging.getLogger("uvicorn.access").setLevel(logging.INFO)
        config = uvicorn.Config(
            make_app(endpoint, request_timeout, access), http=protocol, loop="auto", ws="none", lifespan="off",
            log_config=None, access_log=access_log, server_header=False,
            headers=[("Server", f"pfocr-rdf/{__version__}")], limit_concurrency=MAX_CONNECTIONS,
            timeout_keep_alive=int(request_timeout + 1),  # our deadline (request_timeout) closes idle ones first
            timeout_graceful_shutdown=int(_GRACE) + 3)
        self.uvicorn = _Uvicorn(config, endpoint.close)
        self._thread: threading.Thread | None = None

    def _failed(self, message: str) -> None:
        """The endpoint cannot answer any more: stop serving, so that the process ends (non-zero) and a supervisor
        restarts it, rather than answer 503 for ever."""
        self.failure = message
        server = getattr(self, "uvicorn", None)
        if server is not None:
            server.should_exit = True

    @property
    def server_port(self) -> int:
        return self.server_address[1]

    @property
    def url(self) -> str:
        """The SPARQL endpoint's URL, e.g. ``http://127.0.0.1:7878/sparql``."""
        host, port = self.server_address
        return f"http://{f'[{host}]' if ':' in host else host}:{port}/sparql"

    def serve_forever(self) -> None:
        """Serve until :meth:`stop`, Ctrl-C or SIGTERM (the last two in the main thread), or until the endpoint
        fails (then :attr:`failure` says why)."""
        if self.endpoint.failure is not None:
            self.failure = self.endpoint.failure
            return
        self.uvicorn.run(sockets=[self.socket])

    def start(self) -> None:
        """Serve in a background thread; returns once the server accepts connections."""
        self._thread = threading.Thread(target=self.serve_forever, daemon=True, name="pfocr-rdf-server")
        self._thread.start()
        deadline = time.monotonic() + _START_TIMEOUT
        while not self.uvicorn.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise OSError("the server did not start")
            time.sleep(0.01)

    def stop(self) -> None:
        """Stop serving (and wait for it), then shut the query workers down."""
        self.uvicorn.should_exit = True
        if self._thread is not None:
            self._thread.join(30)
        self.close()

    def close(self) -> None:
        self.socket.close()
        self.endpoint.close()


def make_server(endpoint: Endpoint, host: str = "127.0.0.1", port: int = 7878, *,
                request_timeout: float = 30.0, access: Access | None = None) -> Server:
    """An HTTP server for ``endpoint`` (``port=0`` picks a free port: read it from ``server.server_port``).
    ``request_timeout``: seconds a client has to send a whole request before the connection is dropped;
    ``access``: the password for updates (a writable endpoint needs one) and the origins that may read."""
    return Server(endpoint, host, port, request_timeout=request_timeout, access=access)

