"""The store behind the SPARQL endpoint and the rules it answers by.

    >>> endpoint = Endpoint("output/store")                              # doctest: +SKIP
    >>> status, content_type, body = endpoint.run(Request("ASK {}"))     # doctest: +SKIP

Safe by default: read-only unless ``writable``, every query and update stopped after ``timeout`` seconds or when
its worker's memory passes ``memory_limit``, results larger than ``max_result_bytes`` refused, no federated
``SERVICE`` call nor remote ``LOAD`` unless ``allow_remote``. Every request runs in a worker process
(:mod:`converter.web.pool`); a writable endpoint has one, which holds the store read-write.

The store path is followed: when ``pfocr-rdf load`` switches it to a new version, new requests go to the new version
within a second while running ones finish on the old, and the endpoint holds a lease on each version it reads
(:mod:`converter.store.versions`) so that ``load`` removes none of them under it. When a worker cannot start, the
endpoint is unhealthy (:meth:`Endpoint.health`) and ``on_failure`` is called: the server then stops, with a
non-zero exit status, for a supervisor to restart it. Everything here blocks: the HTTP side (:mod:`converter.web.app`)
calls it from threads.
"""

from __future__ import annotations

import contextvars
import os
import sys
import threading
from collections.abc import Callable
from contextlib import suppress
from functools import cached_property

import pyoxigraph as ox

from ..store.queries import CannedQuery, library
from ..store.versions import Lease, current_version, managed
from .assets import static_files
from .pool import Pool
from .protocol import Answer, ProtocolError, Request
from .site import Site
from .slots import Settings, Ticket

QUEUE_WAIT = 30.0  # seconds a query may wait for a free worker (its time limit starts when one takes it)
MEMORY_LIMIT = 384 << 20  # bytes of resident memory a worker process may use
_WATCH = 0.5  # seconds between looks at the store path

# The request a thread is working for: the pages run several queries for one request, as one ticket.
CURRENT: contextvars.ContextVar[Ticket] = contextvars.ContextVar("pfocr_rdf_ticket")


def default_workers() -> int:
    """Processes of the general lane: two per core, as many queries as the old two threads per worker ran."""
    return 2 * (os.cpu_count() or 1)


class Endpoint:
    """The store behind the endpoint and the rules it answers by."""

    def __init__(self, store_path: str, *, writable: bool = False, timeout: float = 30.0,
                 max_result_bytes: int = 64 << 20, allow_remote: bool = False, workers: int | None = None,
                 queries: dict[str, CannedQuery] | None = None, memory_limit: int = MEMORY_LIMIT,
                 per_client: int = 2) -> None:
        if not os.path.isdir(store_path):
            raise FileNotFoundError(f"{store_path}: no store here; build one with 'pfocr-rdf load'")
        if timeout <= 0 or max_result_bytes <= 0 or per_client <= 0 or memory_limit < 0:
            raise ValueError("timeout, max_result_bytes and per_client must be positive")
        self.link = os.path.abspath(store_path)
        self.writable = writable
        self.timeout = timeout
        self.max_result_bytes = max_result_bytes
        self.allow_remote = allow_remote
        self.memory_limit = memory_limit
        self.queries = library() if queries is None else queries
        self.page_lock = threading.Lock()
        self._dataset_page: tuple[str, str] | None = None  # (version, page)
        self.failure: str | None = None
        self.on_failure: Callable[[str], None] | None = None  # set by the server: stop serving
        self.closed = threading.Event()
        self.managed = managed(self.link)
        self.leases: dict[str, Lease] = {}
        version = self._lease(current_version(self.link)) if self.managed else self.link
        if version is None:
            raise FileNotFoundError(f"{store_path}: the store is being replaced or removed; try again")
        if not writable:
            try:
                ox.Store.read_only(version)  # fails here, with its reason, rather than in every worker
            except BaseException:
                self._release_all()
                raise
        settings = Settings(workers=workers or default_workers(), writable=writable, max_bytes=max_result_bytes,
                            allow_remote=allow_remote, memory_limit=memory_limit, per_client=per_client)
        try:
            self.pool = Pool(version, settings, on_failure=self._failed, on_drained=self._drained)
        except BaseException:
            self._release_all()
            raise
        if self.managed:
            threading.Thread(target=self._follow, daemon=True, name="pfocr-rdf-follow").start()

    # -- versions
    def _lease(self, version: str) -> str | None:
        lease = Lease.take(version)
        if lease is None:
            return None
        self.leases[version] = lease
        return version

    def _drained(self, version: str) -> None:
        lease = self.leases.pop(version, None)
        if lease is not None:
            lease.release()

    def _release_all(self) -> None:
        for lease in self.leases.values():
            lease.release()
        self.leases.clear()

    @property
    def version(self) -> str:
        """The store version new requests go to."""
        return self.pool.version

    def _follow(self) -> None:
        """Move to each new version ``load`` switches the store path to."""
        warmed = self.version
        while not self.closed.wait(_WATCH):
            target = current_version(self.link)
            if target not in self.leases and os.path.isdir(target) and self._lease(target) is not None:
                self.pool.switch(target)
            if self.version != warmed:
                warmed = self.version
                threading.Thread(target=self.warm, daemon=True, name="pfocr-rdf-warm").start()

    def _failed(self, message: str) -> None:
        if self.failure is not None:
            return
        self.failure = message
        print(f"pfocr-rdf: {message}; the endpoint is unhealthy and stops", file=sys.stderr)
        if self.on_failure is not None:
            self.on_failure(message)

    def health(self) -> tuple[bool, dict[str, object]]:
        """(healthy, what /health says): the version served, the lanes, what waits."""
        healthy = self.failure is None and not self.closed.is_set()
        info: dict[str, object] = {"status": "ok" if healthy else "failing",
                                   "version": os.path.basename(self.version),
                                   "mode": "read-write" if self.writable else "read-only", **self.pool.state()}
        if self.failure is not None:
            info["problem"] = self.failure
        return healthy, info

    # -- answering
    @property
    def queue_wait(self) -> float:
        """Seconds a request may wait for a free query worker before it is told 503."""
        return max(self.timeout, QUEUE_WAIT)

    @cached_property
    def site(self) -> Site:
        """The web pages, which query the store as any client does (with the same limits)."""
        return Site(lambda text, accept: self.run(Request(text, accept=accept))[2], self.queries, self.link)

    @cached_property
    def static(self) -> dict[str, tuple[bytes, str]]:
        return static_files()

    def warm(self) -> None:
        """Draw the /dataset page ahead of its first visitor (on a large store its charts take seconds, more on cold
        caches). A failure here is left for that visit to report."""
        if self.writable:
            return
        CURRENT.set(Ticket("", "cheap"))
        with suppress(Exception):  # the visit will answer with the reason
            self.dataset_page()

    def dataset_page(self) -> str:
        """The /dataset page; drawn once per store version on a read-only endpoint."""
        if self.writable:
            return self.site.dataset_page()
        with self.page_lock:
            version = self.version
            if self._dataset_page is None or self._dataset_page[0] != version:
                self._dataset_page = (version, self.site.dataset_page())
            return self._dataset_page[1]

    def run(self, req: Request, wait: float | None = None, ticket: Ticket | None = None) -> Answer:
        """Answer a request: (status, Content-Type, body). ``wait``: seconds it may wait for a free query worker
        (:attr:`queue_wait` when not given); ``ticket``: the request's client and lane (the thread's, else one of
        the general lane)."""
        if req.update and not self.writable:
            raise ProtocolError(403, "this endpoint is read-only; start it with --writable to accept updates")
        if ticket is None:
            ticket = CURRENT.get(None) or Ticket()
        if req.update:
            ticket.kind = "update"
        return self.pool.run(req, ticket, self.timeout, self.queue_wait if wait is None else wait)

    def close(self) -> None:
        self.closed.set()
        self.pool.close()
        self._release_all()
